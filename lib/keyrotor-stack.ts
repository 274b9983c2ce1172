import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AlertsTopic } from './alerts-topic';
import type { KeyrotorConfig } from './config';
import { DeferredRevocation } from './deferred-revocation';
import { EncryptionKey } from './encryption-key';
import { LedgerTable } from './ledger-table';
import { ManagedApiKeySecret } from './managed-api-key-secret';
import { RotationFunction } from './rotation-function';

/** Properties of {@link KeyrotorStack}. */
export interface KeyrotorStackProps extends StackProps {
  /** The validated configuration (see `loadConfig`). */
  readonly config: KeyrotorConfig;

  /**
   * The rotation handler file; tests point this at a fixture.
   * @default ROTATION_HANDLER_ENTRY (`lambdas/handlers/rotate.ts`)
   */
  readonly rotationHandlerEntry?: string;

  /**
   * The revoker handler file; tests point this at a fixture.
   * @default REVOKE_HANDLER_ENTRY (`lambdas/handlers/revoke.ts`)
   */
  readonly revokerHandlerEntry?: string;

  /**
   * The ledger table's physical name (unique per account and region).
   * @default DEFAULT_LEDGER_TABLE_NAME (`keyrotor-ledger`, what `keyrotor history` reads)
   */
  readonly ledgerTableName?: string;

  /**
   * The stack holds live credentials, so deleting it takes a deliberate extra step.
   * @default true
   */
  readonly terminationProtection?: boolean;
}

/**
 * Everything keyrotor deploys: the encryption key, the alerts topic, the rotation ledger, the
 * deferred revocation (schedule group, revoker, dead-letter queue), the rotation function and
 * one rotated secret per configured credential.
 *
 * A credential's construct id is its config id, so its secret keeps its logical id (and is not
 * replaced) as long as the id does not change.
 */
export class KeyrotorStack extends Stack {
  public readonly encryptionKey: EncryptionKey;
  public readonly alerts: AlertsTopic;
  public readonly ledger: LedgerTable;
  public readonly revocation: DeferredRevocation;
  public readonly rotationFunction: RotationFunction;
  /** Managed secrets by credential id. */
  public readonly secrets: ReadonlyMap<string, ManagedApiKeySecret>;

  public constructor(scope: Construct, id: string, props: KeyrotorStackProps) {
    const { config, rotationHandlerEntry, revokerHandlerEntry, ledgerTableName, terminationProtection, ...stackProps } = props;
    super(scope, id, {
      description: 'keyrotor: rotates third-party learning-platform API keys with Secrets Manager',
      ...stackProps,
      terminationProtection: terminationProtection ?? true,
    });

    this.encryptionKey = new EncryptionKey(this, 'EncryptionKey');
    const key = this.encryptionKey.key;

    this.alerts = new AlertsTopic(this, 'Alerts', {
      encryptionKey: key,
      emails: config.alerts.emails,
    });

    this.ledger = new LedgerTable(this, 'Ledger', {
      encryptionKey: key,
      ...(ledgerTableName === undefined ? {} : { tableName: ledgerTableName }),
    });

    this.revocation = new DeferredRevocation(this, 'Revocation', {
      encryptionKey: key,
      ledger: this.ledger,
      alarmTopic: this.alerts.topic,
      ...(revokerHandlerEntry === undefined ? {} : { revokerEntry: revokerHandlerEntry }),
    });

    this.rotationFunction = new RotationFunction(this, 'RotationFunction', {
      encryptionKey: key,
      ledger: this.ledger,
      revocation: this.revocation,
      gracePeriodHours: config.defaults.gracePeriodHours,
      alarmTopic: this.alerts.topic,
      ...(rotationHandlerEntry === undefined ? {} : { entry: rotationHandlerEntry }),
    });

    const secrets = new Map<string, ManagedApiKeySecret>();
    for (const credential of config.credentials) {
      const managed = new ManagedApiKeySecret(this, credential.id, {
        credential,
        encryptionKey: key,
        rotationFunction: this.rotationFunction,
      });
      this.revocation.grantRevocation(managed.secret);
      secrets.set(credential.id, managed);
    }
    this.secrets = secrets;

    new CfnOutput(this, 'AlertsTopicArn', {
      description: 'SNS topic that receives keyrotor alerts',
      value: this.alerts.topic.topicArn,
    });
    new CfnOutput(this, 'LedgerTableName', {
      description: 'DynamoDB table with the rotation ledger (keyrotor history reads it)',
      value: this.ledger.table.tableName,
    });
  }
}
