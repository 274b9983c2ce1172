import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  TransactionCanceledException,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { ConcurrentRotationError } from '../core/errors';
import { LEDGER_STATES, type Ledger, type LedgerEvent, type LedgerState, type RotationRecord } from '../ports/ledger';

/**
 * The ledger in DynamoDB. One partition per secret (`pk` = secret ARN): a rotation record per
 * token (`sk` = `rotation#<token>`) that conditional writes guard, and an event per state
 * change (`sk` = `event#<iso time>#<unique>`) so a Query returns the history in order.
 */
export class DynamoDbLedger implements Ledger {
  public constructor(
    private readonly tableName: string,
    private readonly client: DynamoDBClient = new DynamoDBClient({}),
  ) {}

  public async claimIssue(secretArn: string, token: string, keyName: string, at: string) {
    const previous = await this.get(secretArn, token);
    const attempt = (previous?.attempt ?? 0) + 1;
    const record: RotationRecord = {
      secretArn,
      token,
      state: 'intent',
      attempt,
      keyName,
      updatedAt: at,
      ...(previous?.providerKeyId ? { providerKeyId: previous.providerKeyId } : {}),
    };
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: recordItem(record),
                // Two attempts that read the same record cannot both claim it.
                ConditionExpression: previous ? 'attempt = :previous' : 'attribute_not_exists(pk)',
                ...(previous ? { ExpressionAttributeValues: { ':previous': { N: String(previous.attempt) } } } : {}),
              },
            },
            { Put: { TableName: this.tableName, Item: eventItem({ secretArn, token, state: 'intent', at, actor: 'rotation-lambda', detail: `attempt ${attempt}: key "${keyName}"` }) } },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException || error instanceof ConditionalCheckFailedException) {
        throw new ConcurrentRotationError(`another attempt of rotation ${token} is creating a key; this one stops (Secrets Manager retries it)`);
      }
      throw error;
    }
    return previous ? { attempt, previous } : { attempt };
  }

  public async record(event: LedgerEvent): Promise<void> {
    const previous = await this.get(event.secretArn, event.token);
    await this.client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName,
              Item: recordItem({
                secretArn: event.secretArn,
                token: event.token,
                state: event.state,
                attempt: previous?.attempt ?? 0,
                updatedAt: event.at,
                ...(previous?.keyName ? { keyName: previous.keyName } : {}),
                ...((event.providerKeyId ?? previous?.providerKeyId) ? { providerKeyId: event.providerKeyId ?? previous?.providerKeyId } : {}),
              }),
            },
          },
          { Put: { TableName: this.tableName, Item: eventItem(event), ConditionExpression: 'attribute_not_exists(pk)' } },
        ],
      }),
    );
  }

  public async get(secretArn: string, token: string): Promise<RotationRecord | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: secretArn }, sk: { S: `rotation#${token}` } }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const item = out.Item;
    return {
      secretArn,
      token,
      state: state(item.state?.S),
      attempt: Number(item.attempt?.N ?? '0'),
      updatedAt: item.updatedAt?.S ?? '',
      ...(item.keyName?.S ? { keyName: item.keyName.S } : {}),
      ...(item.providerKeyId?.S ? { providerKeyId: item.providerKeyId.S } : {}),
    };
  }

  public async history(secretArn: string): Promise<LedgerEvent[]> {
    const events: LedgerEvent[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :events)',
          ExpressionAttributeValues: { ':pk': { S: secretArn }, ':events': { S: 'event#' } },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) {
        events.push({
          secretArn,
          token: item.token?.S ?? '',
          state: state(item.state?.S),
          at: item.at?.S ?? '',
          ...(item.providerKeyId?.S ? { providerKeyId: item.providerKeyId.S } : {}),
          ...(item.fingerprint?.S ? { fingerprint: item.fingerprint.S } : {}),
          ...(item.actor?.S ? { actor: item.actor.S } : {}),
          ...(item.detail?.S ? { detail: item.detail.S } : {}),
        });
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return events;
  }
}

function state(value: string | undefined): LedgerState {
  return LEDGER_STATES.includes(value as LedgerState) ? (value as LedgerState) : 'failed';
}

function optional(fields: Record<string, string | undefined>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(fields).flatMap(([k, v]) => (v === undefined ? [] : [[k, { S: v }]])));
}

function recordItem(record: RotationRecord): Record<string, AttributeValue> {
  return {
    pk: { S: record.secretArn },
    sk: { S: `rotation#${record.token}` },
    token: { S: record.token },
    state: { S: record.state },
    attempt: { N: String(record.attempt) },
    updatedAt: { S: record.updatedAt },
    ...optional({ keyName: record.keyName, providerKeyId: record.providerKeyId }),
  };
}

let eventSequence = 0;

function eventItem(event: LedgerEvent): Record<string, AttributeValue> {
  return {
    pk: { S: event.secretArn },
    // Events of one instant keep the order this process wrote them in; the random tail keeps writers apart.
    sk: { S: `event#${event.at}#${String((eventSequence += 1)).padStart(12, '0')}#${randomUUID().slice(0, 8)}` },
    token: { S: event.token },
    state: { S: event.state },
    at: { S: event.at },
    ...optional({ providerKeyId: event.providerKeyId, fingerprint: event.fingerprint, actor: event.actor, detail: event.detail }),
  };
}
