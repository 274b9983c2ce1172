import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Properties of {@link AlertsTopic}. */
export interface AlertsTopicProps {
  /** The customer-managed key the topic is encrypted with. */
  readonly encryptionKey: kms.IKey;

  /**
   * E-mail addresses to subscribe. Each address receives a confirmation mail from SNS and
   * gets alerts only after confirming.
   * @default - no subscriptions
   */
  readonly emails?: readonly string[];

  /**
   * Shown as the sender name of e-mail notifications.
   * @default 'keyrotor alerts'
   */
  readonly displayName?: string;
}

/**
 * The SNS topic that tells people when a rotation fails or a person must act.
 *
 * Encrypted with the customer-managed key, publishes only over TLS (`enforceSSL`), signs its
 * messages with SHA256, and lets CloudWatch alarms publish to it despite the encryption: an
 * alarm's notification is silently dropped when CloudWatch cannot use the topic's key.
 */
export class AlertsTopic extends Construct {
  /** The topic. Alarms and notifiers publish here. */
  public readonly topic: sns.Topic;

  public constructor(scope: Construct, id: string, props: AlertsTopicProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName ?? 'keyrotor alerts',
      masterKey: props.encryptionKey,
      enforceSSL: true,
      signatureVersion: '2',
    });

    // CloudWatch publishes alarm notifications as its service principal, and SNS needs that
    // principal to be able to use the topic's key. In a key policy, "*" means this key.
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopics',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    for (const email of props.emails ?? []) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
  }
}
