import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { keyUseViaService } from './key-use-via-service';

/** The ledger's physical name. `keyrotor history` reads this table unless told otherwise. */
export const DEFAULT_LEDGER_TABLE_NAME = 'keyrotor-ledger';

/**
 * What the Lambdas do to the ledger (lambdas/adapters/dynamodb-ledger.ts): a consistent
 * `GetItem` of a rotation record, and `TransactWriteItems` whose operations are all `Put`s,
 * which IAM authorises as `PutItem` on the table. Nothing queries, updates or deletes.
 */
export const LEDGER_WRITER_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem'] as const;

/**
 * What a writer that only records markers needs (the notifier's "already alerted" items): a
 * `PutItem`, conditional where it must not overwrite. It reads nothing.
 */
export const LEDGER_PUT_ONLY_ACTIONS = ['dynamodb:PutItem'] as const;

/**
 * The attribute DynamoDB's TTL deletes items by (epoch seconds). Only short-lived items carry it —
 * the notifier's "already alerted" markers (lambdas/adapters/dynamodb-alert-deduper.ts); rotation
 * records never do, so TTL never touches the audit trail.
 */
export const LEDGER_TTL_ATTRIBUTE = 'ttl';

/** Properties of {@link LedgerTable}. */
export interface LedgerTableProps {
  /** The customer-managed key the table is encrypted with. */
  readonly encryptionKey: kms.IKey;

  /**
   * The table's physical name. Names are unique per account and region, so a second keyrotor
   * in the same account needs another one (and `keyrotor history --table <name>`).
   * @default DEFAULT_LEDGER_TABLE_NAME (`keyrotor-ledger`)
   */
  readonly tableName?: string;

  /**
   * What happens to the table when it leaves the stack. It is the audit trail of every
   * rotation and the record that finds orphaned keys, so it is kept unless a caller decides
   * otherwise.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Whether DynamoDB refuses to delete the table until this is turned off again.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/**
 * The rotation ledger: a DynamoDB table that records each rotation's intent before a platform
 * key is created, the platform's key id and every state change, so a retry never creates a
 * second key, an orphaned key is found and revoked, and `keyrotor history` can say who rotated
 * what, when.
 *
 * One partition per secret (`pk` = secret ARN), items sorted by `sk` (`rotation#<token>`,
 * `event#<time>#<id>`, and the notifier's `alert#…` markers, which expire through TTL).
 * On-demand billing (a handful of writes per rotation), point-in-time recovery, encryption with
 * keyrotor's customer-managed key, retained and deletion-protected.
 *
 * @example
 * const ledger = new LedgerTable(this, 'Ledger', { encryptionKey: key });
 * ledger.grantRecordKeeping(rotationFunction.role);
 */
export class LedgerTable extends Construct {
  /** The table. */
  public readonly table: dynamodb.Table;

  private readonly encryptionKey: kms.IKey;

  public constructor(scope: Construct, id: string, props: LedgerTableProps) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: props.tableName ?? DEFAULT_LEDGER_TABLE_NAME,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      deletionProtection: props.deletionProtection ?? true,
      timeToLiveAttribute: LEDGER_TTL_ATTRIBUTE,
    });
  }

  /**
   * Lets `grantee` read and write ledger records the way the Lambdas do: {@link LEDGER_WRITER_ACTIONS}
   * on this table only, and the key only through DynamoDB. Not for readers such as
   * `keyrotor history`, which only query.
   */
  public grantRecordKeeping(grantee: iam.IGrantable): void {
    this.grant(grantee, 'KeepLedgerRecords', LEDGER_WRITER_ACTIONS);
  }

  /**
   * Lets `grantee` put items and nothing else: {@link LEDGER_PUT_ONLY_ACTIONS} on this table only,
   * in the statement `sid`, and the key only through DynamoDB. For writers that record markers
   * and never read a record.
   */
  public grantPutOnly(grantee: iam.IGrantable, sid = 'PutLedgerItems'): void {
    this.grant(grantee, sid, LEDGER_PUT_ONLY_ACTIONS);
  }

  private grant(grantee: iam.IGrantable, sid: string, actions: readonly string[]): void {
    const principal = grantee.grantPrincipal;
    principal.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions: [...actions], resources: [this.table.tableArn] }));
    principal.addToPrincipalPolicy(keyUseViaService(this, this.encryptionKey, 'dynamodb', ['kms:Decrypt', 'kms:GenerateDataKey']));
  }
}
