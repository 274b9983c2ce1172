import { CfnOutput, type RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { secretNameFor, type CredentialConfig } from './config';
import { ManagedApiKey } from './managed-api-key';
import type { RotationFunction } from './rotation-function';

// Kept here for the modules and tests that import them from this file; they live in managed-api-key.ts.
export { BOOTSTRAP_SECRET_KEY, BOOTSTRAP_SECRET_MARKER, bootstrapSecretString, rotationRate } from './managed-api-key';

/** Properties of {@link ManagedApiKeySecret}. */
export interface ManagedApiKeySecretProps {
  /** The credential this secret holds. Its id names the secret `keyrotor/<id>`. */
  readonly credential: CredentialConfig;

  /** The customer-managed key the secret is encrypted with: the one `rotationFunction` was built with. */
  readonly encryptionKey: kms.IKey;

  /** The function that runs the rotation steps; it is granted access to this secret only. */
  readonly rotationFunction: RotationFunction;

  /**
   * What happens to the secret when it leaves the stack. The secret holds a live API key, so
   * it is kept unless a caller decides otherwise.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A {@link ManagedApiKey} built from a config entry, plus a stack output with its ARN: what
 * keyrotor's own stack creates for each configured credential.
 *
 * The construct tree is ManagedApiKey's (`Secret`, `RotationInvokePermission`,
 * `RotationSchedule`) plus `SecretArn`, so secrets created by earlier releases keep their logical
 * ids. The config entry's description goes into the output, not into the secret.
 *
 * Other CDK apps use {@link ManagedApiKey} itself (exported from `lib/index.ts`); switching from
 * this class keeps the secret as long as the construct id and `secretName` stay the same.
 */
export class ManagedApiKeySecret extends ManagedApiKey {
  public constructor(scope: Construct, id: string, props: ManagedApiKeySecretProps) {
    const { credential } = props;
    super(scope, id, {
      secretName: secretNameFor(credential.id),
      provider: credential.provider,
      environment: credential.environment,
      baseUrl: credential.baseUrl,
      rotationIntervalDays: credential.rotationIntervalDays,
      encryptionKey: props.encryptionKey,
      rotationFunction: props.rotationFunction,
      ...(props.removalPolicy === undefined ? {} : { removalPolicy: props.removalPolicy }),
    });

    new CfnOutput(this, 'SecretArn', {
      description: credential.description
        ? `ARN of keyrotor/${credential.id}: ${credential.description}`
        : `ARN of keyrotor/${credential.id} (${credential.provider}, ${credential.environment})`,
      value: this.secret.secretArn,
    });
  }
}
