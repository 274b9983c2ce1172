import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  TagResourceCommand,
  type SecretListEntry,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { currentVersionOf, SecretsManagerTokenStore, TOKEN_LIST_PAGE_SIZE } from '../../../../lambdas/adapters/secrets-manager-token-store';

const arnOf = (name: string) => `arn:aws:secretsmanager:eu-west-1:111111111111:secret:${name}-AbCdEf`;

function entry(name: string, tags: Record<string, string>, extra: Partial<SecretListEntry> = {}): SecretListEntry {
  return { ARN: arnOf(name), Name: name, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })), ...extra };
}

const tokenTags = (source: string) => ({ 'keyrotor:kind': 'token', 'keyrotor:provider': 'imburse', 'keyrotor:token-grant': 'imburse-hmac', 'keyrotor:token-source': source });
const notFound = () => new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} });

describe('Class: SecretsManagerTokenStore', () => {
  const client = mockClient(SecretsManagerClient);
  let store: SecretsManagerTokenStore;

  beforeEach(() => {
    client.reset();
    store = new SecretsManagerTokenStore(new SecretsManagerClient({ region: 'eu-west-1' }));
  });

  afterAll(() => {
    client.restore();
  });

  describe('Method: listTokenSecrets', () => {
    it('lists every secret with a keyrotor:kind tag in one paginated listing, and gives each token its source\'s AWSCURRENT version from it', async () => {
      // Prepare: the source (an api-key secret) on the second page, after its token
      client
        .on(ListSecretsCommand)
        .resolvesOnce({
          SecretList: [
            entry('keyrotor/payments-token/token', tokenTags('keyrotor/payments'), { SecretVersionsToStages: { t1: ['AWSCURRENT'] } }),
            entry('keyrotor/learn/token', tokenTags(arnOf('keyrotor/learn/client')), { SecretVersionsToStages: { t2: ['AWSCURRENT'] } }),
          ],
          NextToken: 'page-2',
        })
        .resolvesOnce({
          SecretList: [
            entry('keyrotor/payments', { 'keyrotor:kind': 'api-key' }, { SecretVersionsToStages: { v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'], v3: ['AWSPENDING'] } }),
            entry('keyrotor/learn/client', { 'keyrotor:kind': 'oauth-client' }, { SecretVersionsToStages: { c1: ['AWSCURRENT'] } }),
          ],
        });

      // Act
      const listed = await store.listTokenSecrets();

      // Assess
      expect(client).toHaveReceivedCommandTimes(ListSecretsCommand, 2);
      expect(client).toHaveReceivedNthCommandWith(1, ListSecretsCommand, { Filters: [{ Key: 'tag-key', Values: ['keyrotor:kind'] }], MaxResults: TOKEN_LIST_PAGE_SIZE });
      expect(client).toHaveReceivedNthCommandWith(2, ListSecretsCommand, { NextToken: 'page-2' });
      expect(listed).toEqual([
        { arn: arnOf('keyrotor/payments-token/token'), name: 'keyrotor/payments-token/token', tags: tokenTags('keyrotor/payments'), listedSourceVersionId: 'v2' },
        // A source tag may name its secret by ARN
        { arn: arnOf('keyrotor/learn/token'), name: 'keyrotor/learn/token', tags: tokenTags(arnOf('keyrotor/learn/client')), listedSourceVersionId: 'c1' },
      ]);
      expect(client).not.toHaveReceivedCommand(GetSecretValueCommand);
      expect(client).not.toHaveReceivedCommand(DescribeSecretCommand);
    });

    it('leaves the source version out where the listing does not show the source, or shows no AWSCURRENT for it', async () => {
      // Prepare
      client.on(ListSecretsCommand).resolves({
        SecretList: [
          entry('keyrotor/a/token', tokenTags('keyrotor/untagged')),
          entry('keyrotor/b/token', tokenTags('keyrotor/b')),
          entry('keyrotor/b', { 'keyrotor:kind': 'api-key' }, { SecretVersionsToStages: { p1: ['AWSPENDING'] } }),
          // tag-key matches by prefix: a different tag that starts the same is no kind
          entry('other/token', { 'keyrotor:kind-of': 'token' }),
          entry('keyrotor/deleted/token', tokenTags('keyrotor/b'), { DeletedDate: new Date('2026-11-23T00:00:00Z') }),
        ],
      });

      // Act
      const listed = await store.listTokenSecrets();

      // Assess
      expect(listed.map((s) => [s.name, s.listedSourceVersionId])).toEqual([
        ['keyrotor/a/token', undefined],
        ['keyrotor/b/token', undefined],
      ]);
      expect(listed[0]).not.toHaveProperty('listedSourceVersionId');
    });
  });

  describe('Method: readCurrentVersion', () => {
    it('returns the AWSCURRENT value with its version id', async () => {
      // Prepare
      client.on(GetSecretValueCommand).resolves({ SecretString: '{"clientId":"id"}', VersionId: 'v2', VersionStages: ['AWSCURRENT'] });

      // Act
      const current = await store.readCurrentVersion('keyrotor/learn/client');

      // Assess
      expect(current).toEqual({ value: '{"clientId":"id"}', versionId: 'v2' });
      expect(client).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'keyrotor/learn/client', VersionStage: 'AWSCURRENT' });
      expect(await store.readCurrent('keyrotor/learn/client')).toBe('{"clientId":"id"}');
    });

    it('returns undefined for a missing secret and passes any other error on', async () => {
      // Prepare
      client.on(GetSecretValueCommand, { SecretId: 'keyrotor/nope' }).rejects(notFound());
      client.on(GetSecretValueCommand, { SecretId: 'keyrotor/throttled' }).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

      // Act / Assess
      expect(await store.readCurrentVersion('keyrotor/nope')).toBeUndefined();
      await expect(store.readCurrentVersion('keyrotor/throttled')).rejects.toThrow('Rate exceeded');
    });
  });

  describe('Method: describeCurrentVersionId', () => {
    it('returns the version DescribeSecret stages AWSCURRENT, without reading the value', async () => {
      // Prepare
      client.on(DescribeSecretCommand).resolves({ VersionIdsToStages: { v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'] } });

      // Act
      const versionId = await store.describeCurrentVersionId('keyrotor/payments');

      // Assess
      expect(versionId).toBe('v2');
      expect(client).toHaveReceivedCommandWith(DescribeSecretCommand, { SecretId: 'keyrotor/payments' });
      expect(client).not.toHaveReceivedCommand(GetSecretValueCommand);
    });

    it('returns undefined for a missing secret, or one with no AWSCURRENT version', async () => {
      // Prepare
      client.on(DescribeSecretCommand, { SecretId: 'keyrotor/nope' }).rejects(notFound());
      client.on(DescribeSecretCommand, { SecretId: 'keyrotor/new' }).resolves({});

      // Act / Assess
      expect(await store.describeCurrentVersionId('keyrotor/nope')).toBeUndefined();
      expect(await store.describeCurrentVersionId('keyrotor/new')).toBeUndefined();
    });
  });

  describe('Methods: writeCurrent, setTag', () => {
    it('puts a new AWSCURRENT version without naming stages, and sets one tag', async () => {
      // Prepare
      client.on(PutSecretValueCommand).resolves({});
      client.on(TagResourceCommand).resolves({});

      // Act
      await store.writeCurrent('arn:token', '{"accessToken":"t"}');
      await store.setTag('arn:token', 'keyrotor:refresh-state', 'ok');

      // Assess
      expect(client).toHaveReceivedCommandWith(PutSecretValueCommand, { SecretId: 'arn:token', SecretString: '{"accessToken":"t"}' });
      expect(client.commandCalls(PutSecretValueCommand)[0]?.args[0].input.VersionStages).toBeUndefined();
      expect(client).toHaveReceivedCommandWith(TagResourceCommand, { SecretId: 'arn:token', Tags: [{ Key: 'keyrotor:refresh-state', Value: 'ok' }] });
    });
  });
});

describe('Function: currentVersionOf', () => {
  it('finds the version staged AWSCURRENT among others, and none in an empty map', () => {
    expect(currentVersionOf({ a: ['AWSPREVIOUS'], b: ['AWSCURRENT', 'custom'] })).toBe('b');
    expect(currentVersionOf({ a: ['AWSPENDING'] })).toBeUndefined();
    expect(currentVersionOf(undefined)).toBeUndefined();
  });
});
