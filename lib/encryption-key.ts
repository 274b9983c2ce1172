import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Properties of {@link EncryptionKey}. */
export interface EncryptionKeyProps {
  /**
   * What the key protects, shown in the KMS console.
   * @default 'keyrotor: encrypts the managed API-key secrets and the alerts topic'
   */
  readonly description?: string;

  /**
   * An alias for people and scripts, e.g. `alias/keyrotor`.
   * Aliases are unique per account and region, so none is created unless asked for.
   * @default - no alias
   */
  readonly alias?: string;

  /**
   * What happens to the key when it leaves the stack. Deleting it would make every secret
   * version encrypted with it unreadable, so it is kept unless a caller decides otherwise.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Waiting period before a scheduled key deletion takes effect (7–30 days).
   * @default Duration.days(30)
   */
  readonly pendingWindow?: Duration;
}

/**
 * The customer-managed KMS key that encrypts keyrotor's secrets and its alerts topic.
 *
 * Automatic yearly key rotation is on and the key is retained when the stack is deleted.
 * Services that need the key (Secrets Manager, SNS, CloudWatch) are granted by the constructs
 * that use it, so each grant sits next to the reason for it.
 *
 * @example
 * const { key } = new EncryptionKey(this, 'EncryptionKey');
 */
export class EncryptionKey extends Construct {
  /** The key. Pass it to constructs that encrypt with it. */
  public readonly key: kms.Key;

  public constructor(scope: Construct, id: string, props: EncryptionKeyProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: props.description ?? 'keyrotor: encrypts the managed API-key secrets and the alerts topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      pendingWindow: props.pendingWindow ?? Duration.days(30),
      ...(props.alias === undefined ? {} : { alias: props.alias }),
    });
  }
}
