import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SecretsManagerStore } from '../../../../lambdas/adapters/secrets-manager-store';
import { SecretStateError } from '../../../../lambdas/core/errors';
import { TI_LIVE_NEW, tiTags, tiValue } from '../../../support/fixtures';

const ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:keyrotor/acme-prod-AbCdEf';
const TOKEN = '3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b';

const notFound = (message = "Secrets Manager can't find the specified secret.") => new ResourceNotFoundException({ message, $metadata: {} });

describe('Class: SecretsManagerStore', () => {
  const client = mockClient(SecretsManagerClient);
  let store: SecretsManagerStore;

  beforeEach(() => {
    client.reset();
    store = new SecretsManagerStore(new SecretsManagerClient({ region: 'eu-west-1' }));
  });

  afterAll(() => {
    client.restore();
  });

  describe('Method: describe', () => {
    it('returns the metadata DescribeSecret reports, with tags as a record', async () => {
      // Prepare
      const nextRotationDate = new Date('2027-02-21T10:00:00Z');
      const lastRotatedDate = new Date('2026-11-23T10:00:00Z');
      client.on(DescribeSecretCommand).resolves({
        ARN,
        Name: 'keyrotor/acme-prod',
        RotationEnabled: true,
        VersionIdsToStages: { v1: ['AWSCURRENT'], v0: ['AWSPREVIOUS'], [TOKEN]: ['AWSPENDING'] },
        Tags: Object.entries(tiTags()).map(([Key, Value]) => ({ Key, Value })),
        NextRotationDate: nextRotationDate,
        LastRotatedDate: lastRotatedDate,
      });

      // Act
      const metadata = await store.describe('keyrotor/acme-prod');

      // Assess
      expect(metadata).toEqual({
        arn: ARN,
        name: 'keyrotor/acme-prod',
        rotationEnabled: true,
        versionIdsToStages: { v1: ['AWSCURRENT'], v0: ['AWSPREVIOUS'], [TOKEN]: ['AWSPENDING'] },
        tags: tiTags(),
        nextRotationDate,
        lastRotatedDate,
      });
      expect(client).toHaveReceivedCommandTimes(DescribeSecretCommand, 1);
      expect(client.commandCalls(DescribeSecretCommand)[0].args[0].input).toEqual({ SecretId: 'keyrotor/acme-prod' });
    });

    it('fills what DescribeSecret leaves out: the id as ARN and name, rotation off, no versions, no tags, no dates', async () => {
      client.on(DescribeSecretCommand).resolves({});

      const metadata = await store.describe(ARN);

      expect(metadata).toEqual({ arn: ARN, name: ARN, rotationEnabled: false, versionIdsToStages: {}, tags: {} });
      expect(metadata).not.toHaveProperty('nextRotationDate');
      expect(metadata).not.toHaveProperty('lastRotatedDate');
    });

    it('reports rotation as disabled unless DescribeSecret says true', async () => {
      client.on(DescribeSecretCommand).resolves({ ARN, RotationEnabled: false });

      await expect(store.describe(ARN)).resolves.toMatchObject({ rotationEnabled: false });
    });

    it('skips tags without a key and reads a tag without a value as empty', async () => {
      client.on(DescribeSecretCommand).resolves({ ARN, Tags: [{ Value: 'orphan' }, { Key: 'team' }, { Key: 'keyrotor:kind', Value: 'api-key' }] });

      const metadata = await store.describe(ARN);

      expect(metadata.tags).toEqual({ team: '', 'keyrotor:kind': 'api-key' });
    });

    it('throws SecretStateError naming the secret when it does not exist, keeping the SDK error as cause', async () => {
      // Prepare
      const sdkError = notFound();
      client.on(DescribeSecretCommand).rejects(sdkError);

      // Act
      const result = store.describe('keyrotor/missing');

      // Assess
      await expect(result).rejects.toThrow(SecretStateError);
      await expect(result).rejects.toThrow('secret keyrotor/missing does not exist (check the name, region and account)');
      await expect(result).rejects.toMatchObject({ cause: sdkError });
    });

    it('passes any other error through unchanged', async () => {
      const sdkError = new InvalidRequestException({ message: 'You can’t perform this operation on a secret that is marked for deletion.', $metadata: {} });
      client.on(DescribeSecretCommand).rejects(sdkError);

      await expect(store.describe(ARN)).rejects.toBe(sdkError);
    });
  });

  describe('Method: getValue', () => {
    it('asks for a version by id and returns its SecretString', async () => {
      // Prepare
      client.on(GetSecretValueCommand).resolves({ ARN, VersionId: TOKEN, SecretString: tiValue(TI_LIVE_NEW) });

      // Act
      const value = await store.getValue(ARN, { versionId: TOKEN });

      // Assess
      expect(value).toBe(tiValue(TI_LIVE_NEW));
      expect(client).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: ARN, VersionId: TOKEN });
      expect(client.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({ SecretId: ARN, VersionId: TOKEN, VersionStage: undefined });
    });

    it('asks for a version by stage, and by id and stage together', async () => {
      client.on(GetSecretValueCommand).resolves({ SecretString: '{}' });

      await store.getValue(ARN, { stage: 'AWSCURRENT' });
      await store.getValue(ARN, { versionId: TOKEN, stage: 'AWSPENDING' });

      expect(client).toHaveReceivedNthCommandWith(1, GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSCURRENT' });
      expect(client.commandCalls(GetSecretValueCommand)[0].args[0].input.VersionId).toBeUndefined();
      expect(client.commandCalls(GetSecretValueCommand)[1].args[0].input).toEqual({ SecretId: ARN, VersionId: TOKEN, VersionStage: 'AWSPENDING' });
    });

    it('returns undefined when the version has no value yet (ResourceNotFound)', async () => {
      client.on(GetSecretValueCommand).rejects(notFound("Secrets Manager can't find the specified secret value for staging label: AWSPENDING"));

      await expect(store.getValue(ARN, { stage: 'AWSPENDING' })).resolves.toBeUndefined();
    });

    it('returns undefined for a binary secret, which has no SecretString', async () => {
      client.on(GetSecretValueCommand).resolves({ ARN, SecretBinary: new Uint8Array([1, 2, 3]) });

      await expect(store.getValue(ARN, { stage: 'AWSCURRENT' })).resolves.toBeUndefined();
    });

    it('passes any other error through unchanged', async () => {
      const denied = Object.assign(new Error('User is not authorized to perform: secretsmanager:GetSecretValue'), { name: 'AccessDeniedException' });
      client.on(GetSecretValueCommand).rejects(denied);

      await expect(store.getValue(ARN, { stage: 'AWSCURRENT' })).rejects.toBe(denied);
    });
  });

  describe('Method: putPendingValue', () => {
    it('sends PutSecretValue with the version id as ClientRequestToken, staged AWSPENDING only', async () => {
      // Prepare
      client.on(PutSecretValueCommand).resolves({ ARN, VersionId: TOKEN, VersionStages: ['AWSPENDING'] });

      // Act
      await store.putPendingValue(ARN, TOKEN, tiValue(TI_LIVE_NEW));

      // Assess
      expect(client).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
      expect(client.commandCalls(PutSecretValueCommand)[0].args[0].input).toEqual({
        SecretId: ARN,
        ClientRequestToken: TOKEN,
        SecretString: tiValue(TI_LIVE_NEW),
        VersionStages: ['AWSPENDING'],
      });
    });

    it('lets a refusal through, e.g. different data under an existing version id', async () => {
      const exists = new ResourceExistsException({ message: 'You can’t modify an existing version, you can only create a new version.', $metadata: {} });
      client.on(PutSecretValueCommand).rejects(exists);

      await expect(store.putPendingValue(ARN, TOKEN, '{}')).rejects.toBe(exists);
    });
  });

  describe('Method: moveStage', () => {
    it('moves a stage to a version and removes it from the old one (AWSCURRENT)', async () => {
      // Prepare
      client.on(UpdateSecretVersionStageCommand).resolves({ ARN });

      // Act
      await store.moveStage(ARN, 'AWSCURRENT', TOKEN, 'v1');

      // Assess
      expect(client).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 1);
      expect(client.commandCalls(UpdateSecretVersionStageCommand)[0].args[0].input).toEqual({
        SecretId: ARN,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: TOKEN,
        RemoveFromVersionId: 'v1',
      });
    });

    it('moves a stage that no version holds yet without naming one to remove it from', async () => {
      client.on(UpdateSecretVersionStageCommand).resolves({ ARN });

      await store.moveStage(ARN, 'AWSPENDING', TOKEN);

      expect(client.commandCalls(UpdateSecretVersionStageCommand)[0].args[0].input).toEqual({
        SecretId: ARN,
        VersionStage: 'AWSPENDING',
        MoveToVersionId: TOKEN,
        RemoveFromVersionId: undefined,
      });
    });
  });

  describe('Method: removeStage', () => {
    it('removes a stage from a version without moving it anywhere', async () => {
      // Prepare
      client.on(UpdateSecretVersionStageCommand).resolves({ ARN });

      // Act
      await store.removeStage(ARN, 'AWSPENDING', TOKEN);

      // Assess
      const input = client.commandCalls(UpdateSecretVersionStageCommand)[0].args[0].input;
      expect(input).toEqual({ SecretId: ARN, VersionStage: 'AWSPENDING', RemoveFromVersionId: TOKEN });
      expect(input).not.toHaveProperty('MoveToVersionId');
    });
  });

  describe('Method: startRotation', () => {
    it('sends RotateSecret with the token as ClientRequestToken and RotateImmediately', async () => {
      // Prepare
      client.on(RotateSecretCommand).resolves({ ARN, VersionId: TOKEN });

      // Act
      await store.startRotation(ARN, TOKEN);

      // Assess
      expect(client).toHaveReceivedCommandTimes(RotateSecretCommand, 1);
      expect(client.commandCalls(RotateSecretCommand)[0].args[0].input).toEqual({ SecretId: ARN, ClientRequestToken: TOKEN, RotateImmediately: true });
    });

    it('lets a refusal through, e.g. a rotation already in progress', async () => {
      const busy = new InvalidRequestException({ message: 'A previous rotation isn’t complete. That rotation will be reattempted.', $metadata: {} });
      client.on(RotateSecretCommand).rejects(busy);

      await expect(store.startRotation(ARN, TOKEN)).rejects.toBe(busy);
    });
  });

  it('builds a default client when none is given', async () => {
    // Prepare: mockClient replaces send on every SecretsManagerClient
    client.on(DescribeSecretCommand).resolves({ ARN, Name: 'keyrotor/acme-prod' });

    // Act
    const metadata = await new SecretsManagerStore().describe(ARN);

    // Assess
    expect(metadata.name).toBe('keyrotor/acme-prod');
    expect(client).toHaveReceivedCommandTimes(DescribeSecretCommand, 1);
  });

  it('sends only the commands each method needs', async () => {
    client.on(PutSecretValueCommand).resolves({});

    await store.putPendingValue(ARN, TOKEN, '{}');

    expect(client.calls()).toHaveLength(1);
    expect(client).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
    expect(client).not.toHaveReceivedCommand(RotateSecretCommand);
  });
});
