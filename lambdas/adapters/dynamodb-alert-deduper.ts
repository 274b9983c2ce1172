import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import type { AlertDeduper, AlertKey } from '../ports/alert-deduper';

/** How long an alert is remembered: a failure still unresolved after a week alerts again, as a reminder. */
export const DEFAULT_ALERT_MEMORY_SECONDS = 7 * 24 * 3600;

/** DynamoDB's limits on key attributes, in UTF-8 bytes. */
const MAX_PARTITION_KEY_BYTES = 2048;
const MAX_SORT_KEY_BYTES = 1024;

export interface DynamoDbAlertDeduperOptions {
  /** How long a claim lasts. @default DEFAULT_ALERT_MEMORY_SECONDS (7 days) */
  readonly ttlSeconds?: number;
  /** The clock. @default () => new Date() */
  readonly now?: () => Date;
}

/** `#` separates the segments of a sort key; `%` escapes, so no two keys collide. */
function segment(value: string | undefined): string {
  return (value ?? '').replace(/%/g, '%25').replace(/#/g, '%23');
}

function bounded(value: string, maxBytes: number, prefix: string): string {
  if (Buffer.byteLength(value, 'utf8') <= maxBytes) return value;
  return `${prefix}sha256:${createHash('sha256').update(value, 'utf8').digest('hex')}`;
}

/** The ledger sort key of an alert claim: `alert#<kind>#<rotation>#<errorName>`. */
export function alertSortKey(key: AlertKey): string {
  return bounded(`alert#${segment(key.kind)}#${segment(key.rotation)}#${segment(key.errorName)}`, MAX_SORT_KEY_BYTES, 'alert#');
}

/** The ledger partition key of an alert claim: the secret. */
export function alertPartitionKey(key: AlertKey): string {
  return bounded(key.secret, MAX_PARTITION_KEY_BYTES, '');
}

/**
 * Alert claims in keyrotor's ledger table (`pk` = the secret, `sk` = `alert#…`), written with a
 * conditional PutItem so that concurrent deliveries of one event cannot both claim it. Each item
 * carries `ttl` (epoch seconds) for DynamoDB's TTL deletion; because that deletion may lag by
 * days, a claim past its `ttl` counts as gone. Needs `dynamodb:PutItem` on the table and nothing
 * else (no reads, no deletes).
 */
export class DynamoDbAlertDeduper implements AlertDeduper {
  readonly #ttlSeconds: number;
  readonly #now: () => Date;

  public constructor(
    private readonly tableName: string,
    private readonly client: DynamoDBClient = new DynamoDBClient({}),
    options: DynamoDbAlertDeduperOptions = {},
  ) {
    this.#ttlSeconds = options.ttlSeconds ?? DEFAULT_ALERT_MEMORY_SECONDS;
    this.#now = options.now ?? (() => new Date());
  }

  public async firstTime(key: AlertKey): Promise<boolean> {
    const now = this.#now();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: claimItem(key, now, nowSeconds + this.#ttlSeconds),
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Overwrites the claim with one that has already expired, rather than deleting it: the notifier
   * may only put items (no DeleteItem), and an expired claim counts as gone for `firstTime` and is
   * removed by TTL.
   */
  public async forget(key: AlertKey): Promise<void> {
    const now = this.#now();
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: claimItem(key, now, Math.floor(now.getTime() / 1000) - 1) }));
  }
}

function claimItem(key: AlertKey, at: Date, ttl: number): Record<string, AttributeValue> {
  return {
    pk: { S: alertPartitionKey(key) },
    sk: { S: alertSortKey(key) },
    kind: { S: key.kind },
    alertedAt: { S: at.toISOString() },
    ttl: { N: String(ttl) },
    ...(key.rotation ? { rotation: { S: key.rotation } } : {}),
    ...(key.errorName ? { errorName: { S: key.errorName } } : {}),
  };
}
