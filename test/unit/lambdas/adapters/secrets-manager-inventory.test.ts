import {
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  type SecretListEntry,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { LIST_PAGE_SIZE, SecretsManagerInventory } from '../../../../lambdas/adapters/secrets-manager-inventory';
import { TAG } from '../../../../lambdas/core/contracts';
import { TI_LIVE_OLD, tiTags, tiValue } from '../../../support/fixtures';

const ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:keyrotor/acme-prod-AbCdEf';

function entry(name: string, tags: Record<string, string>, extra: Partial<SecretListEntry> = {}): SecretListEntry {
  return { ARN: `arn:aws:secretsmanager:eu-west-1:111111111111:secret:${name}-AbCdEf`, Name: name, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })), ...extra };
}

describe('Class: SecretsManagerInventory', () => {
  const client = mockClient(SecretsManagerClient);
  let inventory: SecretsManagerInventory;

  beforeEach(() => {
    client.reset();
    inventory = new SecretsManagerInventory(new SecretsManagerClient({ region: 'eu-west-1' }));
  });

  afterAll(() => {
    client.restore();
  });

  describe('Method: listPage', () => {
    it('lists one page by the keyrotor:kind tag, 100 at a time, with the listing\'s stages, dates and tags', async () => {
      // Prepare
      const dates = { CreatedDate: new Date('2026-01-01T00:00:00Z'), LastRotatedDate: new Date('2026-11-23T10:00:00Z'), NextRotationDate: new Date('2027-02-21T10:00:00Z') };
      client.on(ListSecretsCommand).resolves({
        SecretList: [entry('keyrotor/acme-prod', tiTags(), { RotationEnabled: true, SecretVersionsToStages: { v1: ['AWSCURRENT'], v0: ['AWSPREVIOUS'] }, ...dates })],
        NextToken: 'next-page',
      });

      // Act
      const page = await inventory.listPage('api-key');

      // Assess
      expect(client).toHaveReceivedCommandWith(ListSecretsCommand, {
        Filters: [
          { Key: 'tag-key', Values: ['keyrotor:kind'] },
          { Key: 'tag-value', Values: ['api-key'] },
        ],
        MaxResults: LIST_PAGE_SIZE,
      });
      expect(LIST_PAGE_SIZE).toBe(100);
      expect(page).toEqual({
        secrets: [
          {
            arn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:keyrotor/acme-prod-AbCdEf',
            name: 'keyrotor/acme-prod',
            rotationEnabled: true,
            versionIdsToStages: { v1: ['AWSCURRENT'], v0: ['AWSPREVIOUS'] },
            tags: tiTags(),
            createdDate: dates.CreatedDate,
            lastRotatedDate: dates.LastRotatedDate,
            nextRotationDate: dates.NextRotationDate,
          },
        ],
        nextCursor: 'next-page',
      });
    });

    it('passes the cursor on, and ends without one on the last page', async () => {
      // Prepare
      client.on(ListSecretsCommand).resolves({ SecretList: [] });

      // Act
      const page = await inventory.listPage('api-key', 'next-page');

      // Assess
      expect(client).toHaveReceivedCommandWith(ListSecretsCommand, { NextToken: 'next-page' });
      expect(page).toEqual({ secrets: [] });
    });

    it('re-checks the tag pair (the filters match key and value independently) and skips deleted or nameless entries', async () => {
      // Prepare
      client.on(ListSecretsCommand).resolves({
        SecretList: [
          entry('keyrotor/acme-prod', tiTags()),
          // Has keyrotor:kind (a token) and some other tag valued api-key: both filters match
          entry('keyrotor/acme-token/token', { [TAG.kind]: 'token', team: 'api-key' }),
          entry('keyrotor/gone', tiTags(), { DeletedDate: new Date('2026-11-20T00:00:00Z') }),
          { Name: 'no-arn', Tags: [{ Key: TAG.kind, Value: 'api-key' }] },
        ],
      });

      // Act
      const page = await inventory.listPage('api-key');

      // Assess
      expect(page.secrets.map((secret) => secret.name)).toEqual(['keyrotor/acme-prod']);
    });

    it('defaults what the listing leaves out (no rotation, no stages, no tags beyond the pair)', async () => {
      // Prepare
      client.on(ListSecretsCommand).resolves({ SecretList: [entry('keyrotor/x', { [TAG.kind]: 'api-key' })] });

      // Act
      const [secret] = (await inventory.listPage('api-key')).secrets;

      // Assess
      expect(secret).toEqual({ arn: expect.any(String), name: 'keyrotor/x', rotationEnabled: false, versionIdsToStages: {}, tags: { [TAG.kind]: 'api-key' } });
    });
  });

  describe('Method: listVersions', () => {
    it('lists every version with its stages and creation date, across pages', async () => {
      // Prepare
      const created = new Date('2026-11-22T06:00:00Z');
      client
        .on(ListSecretVersionIdsCommand, { SecretId: ARN, MaxResults: 100 })
        .resolves({ Versions: [{ VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: created }], NextToken: 't2' })
        .on(ListSecretVersionIdsCommand, { SecretId: ARN, MaxResults: 100, NextToken: 't2' })
        .resolves({ Versions: [{ VersionId: 'tok-1', VersionStages: ['AWSPENDING'] }, { VersionStages: ['AWSPREVIOUS'] }] });

      // Act
      const versions = await inventory.listVersions(ARN);

      // Assess
      expect(versions).toEqual([
        { versionId: 'v1', stages: ['AWSCURRENT'], createdDate: created },
        { versionId: 'tok-1', stages: ['AWSPENDING'] },
      ]);
      expect(client).toHaveReceivedCommandTimes(ListSecretVersionIdsCommand, 2);
    });
  });

  describe('Method: readValue', () => {
    it('reads the value of a stage', async () => {
      // Prepare
      client.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSPREVIOUS' }).resolves({ SecretString: tiValue(TI_LIVE_OLD) });

      // Act & Assess
      expect(await inventory.readValue(ARN, 'AWSPREVIOUS')).toBe(tiValue(TI_LIVE_OLD));
    });

    it('answers undefined when no version holds the stage (or it has no value yet)', async () => {
      // Prepare
      client.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));

      // Act & Assess
      expect(await inventory.readValue(ARN, 'AWSPREVIOUS')).toBeUndefined();
    });

    it('lets other failures through', async () => {
      // Prepare
      client.on(GetSecretValueCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));

      // Act & Assess
      await expect(inventory.readValue(ARN, 'AWSCURRENT')).rejects.toMatchObject({ name: 'AccessDeniedException' });
    });
  });
});
