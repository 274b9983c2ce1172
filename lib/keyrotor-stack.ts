import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AlertsTopic } from './alerts-topic';
import type { KeyrotorConfig } from './config';
import { EncryptionKey } from './encryption-key';
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
   * The stack holds live credentials, so deleting it takes a deliberate extra step.
   * @default true
   */
  readonly terminationProtection?: boolean;
}

/**
 * Everything keyrotor deploys: the encryption key, the alerts topic, the rotation function and
 * one rotated secret per configured credential.
 *
 * A credential's construct id is its config id, so its secret keeps its logical id (and is not
 * replaced) as long as the id does not change.
 */
export class KeyrotorStack extends Stack {
  public readonly encryptionKey: EncryptionKey;
  public readonly alerts: AlertsTopic;
  public readonly rotationFunction: RotationFunction;
  /** Managed secrets by credential id. */
  public readonly secrets: ReadonlyMap<string, ManagedApiKeySecret>;

  public constructor(scope: Construct, id: string, props: KeyrotorStackProps) {
    const { config, rotationHandlerEntry, terminationProtection, ...stackProps } = props;
    super(scope, id, {
      description: 'keyrotor: rotates third-party learning-platform API keys with Secrets Manager',
      ...stackProps,
      terminationProtection: terminationProtection ?? true,
    });

    this.encryptionKey = new EncryptionKey(this, 'EncryptionKey');

    this.alerts = new AlertsTopic(this, 'Alerts', {
      encryptionKey: this.encryptionKey.key,
      emails: config.alerts.emails,
    });

    this.rotationFunction = new RotationFunction(this, 'RotationFunction', {
      encryptionKey: this.encryptionKey.key,
      alarmTopic: this.alerts.topic,
      ...(rotationHandlerEntry === undefined ? {} : { entry: rotationHandlerEntry }),
    });

    const secrets = new Map<string, ManagedApiKeySecret>();
    for (const credential of config.credentials) {
      secrets.set(
        credential.id,
        new ManagedApiKeySecret(this, credential.id, {
          credential,
          encryptionKey: this.encryptionKey.key,
          rotationFunction: this.rotationFunction,
        }),
      );
    }
    this.secrets = secrets;

    new CfnOutput(this, 'AlertsTopicArn', {
      description: 'SNS topic that receives keyrotor alerts',
      value: this.alerts.topic.topicArn,
    });
  }
}
