import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  alertPartitionKey,
  alertSortKey,
  DEFAULT_ALERT_MEMORY_SECONDS,
  DynamoDbAlertDeduper,
} from '../../../../lambdas/adapters/dynamodb-alert-deduper';

const TABLE = 'keyrotor-ledger';
const NOW = new Date('2026-11-23T10:00:00.000Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const KEY = { secret: 'keyrotor/acme-prod', kind: 'RotationFailed/createSecret/WARNING', rotation: 'tok-1', errorName: 'ProviderAuthError' };

describe('Class: DynamoDbAlertDeduper', () => {
  const dynamo = mockClient(DynamoDBClient);
  let deduper: DynamoDbAlertDeduper;

  beforeEach(() => {
    dynamo.reset();
    deduper = new DynamoDbAlertDeduper(TABLE, new DynamoDBClient({}), { now: () => NOW });
  });

  describe('Method: firstTime', () => {
    it('claims the key with a conditional PutItem into the ledger table, with a ttl 7 days out', async () => {
      // Prepare
      dynamo.on(PutItemCommand).resolves({});
      // Act
      const first = await deduper.firstTime(KEY);
      // Assess
      expect(first).toBe(true);
      expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
        TableName: TABLE,
        Item: {
          pk: { S: 'keyrotor/acme-prod' },
          sk: { S: 'alert#RotationFailed/createSecret/WARNING#tok-1#ProviderAuthError' },
          kind: { S: KEY.kind },
          rotation: { S: 'tok-1' },
          errorName: { S: 'ProviderAuthError' },
          alertedAt: { S: NOW.toISOString() },
          ttl: { N: String(NOW_SECONDS + 7 * 24 * 3600) },
        },
        ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':now': { N: String(NOW_SECONDS) } },
      });
      expect(DEFAULT_ALERT_MEMORY_SECONDS).toBe(604_800);
    });

    it('returns false when the key was claimed already (ConditionalCheckFailedException)', async () => {
      // Prepare
      dynamo.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
      // Act / Assess
      await expect(deduper.firstTime(KEY)).resolves.toBe(false);
    });

    it('lets any other failure propagate', async () => {
      // Prepare
      dynamo.on(PutItemCommand).rejects(Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' }));
      // Act / Assess
      await expect(deduper.firstTime(KEY)).rejects.toThrow('Requested resource not found');
    });

    it('leaves out the attributes of a key without rotation or error, and honours ttlSeconds', async () => {
      // Prepare
      dynamo.on(PutItemCommand).resolves({});
      const shortMemory = new DynamoDbAlertDeduper(TABLE, new DynamoDBClient({}), { now: () => NOW, ttlSeconds: 60 });
      // Act
      await shortMemory.firstTime({ secret: 's', kind: 'KeyExpiringSoon' });
      // Assess
      const item = dynamo.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
      expect(item?.sk).toEqual({ S: 'alert#KeyExpiringSoon##' });
      expect(item?.ttl).toEqual({ N: String(NOW_SECONDS + 60) });
      expect(item).not.toHaveProperty('rotation');
      expect(item).not.toHaveProperty('errorName');
    });
  });

  describe('Method: forget', () => {
    it('releases the claim with a PutItem of an already expired claim (the notifier may not delete)', async () => {
      // Prepare
      dynamo.on(PutItemCommand).resolves({});
      // Act
      await deduper.forget(KEY);
      // Assess
      expect(dynamo).toHaveReceivedCommandTimes(PutItemCommand, 1);
      const input = dynamo.commandCalls(PutItemCommand)[0]?.args[0].input;
      expect(input?.ConditionExpression).toBeUndefined();
      expect(input?.Item).toMatchObject({
        pk: { S: 'keyrotor/acme-prod' },
        sk: { S: 'alert#RotationFailed/createSecret/WARNING#tok-1#ProviderAuthError' },
        ttl: { N: String(NOW_SECONDS - 1) },
      });
    });
  });
});

describe('Function: alertSortKey', () => {
  it('escapes the separator so that two keys never collide', () => {
    const a = alertSortKey({ secret: 's', kind: 'k', rotation: 'a#b', errorName: 'c' });
    const b = alertSortKey({ secret: 's', kind: 'k', rotation: 'a', errorName: 'b#c' });
    expect(a).toBe('alert#k#a%23b#c');
    expect(b).toBe('alert#k#a#b%23c');
    expect(alertSortKey({ secret: 's', kind: '100%' })).toBe('alert#100%25##');
  });

  it('hashes keys beyond DynamoDB\'s size limits', () => {
    const sk = alertSortKey({ secret: 's', kind: 'k', rotation: 'r'.repeat(2000) });
    expect(sk).toMatch(/^alert#sha256:[0-9a-f]{64}$/);
    expect(alertPartitionKey({ secret: 'é'.repeat(1100), kind: 'k' })).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(alertPartitionKey({ secret: 'keyrotor/acme-prod', kind: 'k' })).toBe('keyrotor/acme-prod');
  });
});
