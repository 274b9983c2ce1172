import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { KeyrotorFunction, type KeyrotorFunctionProps } from './keyrotor-function';

/** Properties of {@link DeadLetteredFunction}. */
export interface DeadLetteredFunctionProps {
  /** keyrotor's customer-managed key: the dead-letter queue and the function's log group are encrypted with it. */
  readonly encryptionKey: kms.IKey;

  /**
   * The function. Its dead-letter queue is this construct's queue, and its errors alarm notifies
   * {@link DeadLetteredFunctionProps.alarmTopic}.
   */
  readonly target: Omit<KeyrotorFunctionProps, 'deadLetterQueue' | 'alarmTopic' | 'logEncryptionKey'>;

  /**
   * The function's construct id. It names the function's resources, so it is part of their logical ids.
   * @default 'Function'
   */
  readonly targetId?: string;

  /** What the dead-letter alarm tells the person who receives it: what is in the queue and what to do about it. */
  readonly deadLetterAlarmDescription: string;

  /**
   * Where the function's errors alarm and the dead-letter alarm notify people.
   * @default - the alarms are created without an action
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * A {@link KeyrotorFunction} that AWS invokes asynchronously (EventBridge Scheduler, an
 * EventBridge rule), and the one place its lost invocations end: an encrypted, TLS-only
 * dead-letter queue that keeps messages for 14 days, alarmed as soon as it holds a message,
 * beside the function's own errors alarm.
 *
 * The function puts an invocation it still failed after Lambda's two asynchronous retries in the
 * queue (the service that invoked it counts an accepted asynchronous invocation as delivered, so
 * otherwise it would only be in the logs). The invoking service names the same queue for the
 * invocations it could not deliver at all; whoever sets that up grants the service its send.
 *
 * The function's role gets nothing here but sending to the queue (and using its key through SQS);
 * its owner grants the rest.
 *
 * @example
 * const { target, deadLetterQueue } = new DeadLetteredFunction(this, 'Default', {
 *   encryptionKey: key,
 *   targetId: 'Notifier',
 *   target: { entry, serviceName: 'keyrotor-notify', description, roleDescription, alarmDescription },
 *   deadLetterAlarmDescription: 'keyrotor: an alert was not delivered. …',
 *   alarmTopic: topic,
 * });
 */
export class DeadLetteredFunction extends Construct {
  /** Undeliverable and failed invocations. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The function. */
  public readonly target: KeyrotorFunction;
  /** Goes off when the dead-letter queue holds a message. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  public constructor(scope: Construct, id: string, props: DeadLetteredFunctionProps) {
    super(scope, id);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      // The longest SQS keeps a message: time for a person to read why an invocation failed.
      retentionPeriod: Duration.days(14),
    });
    // The queue is the function's dead-letter queue, which cdk-nag recognises, so
    // AwsSolutions-SQS3 needs no acknowledgement.

    this.target = new KeyrotorFunction(this, props.targetId ?? 'Function', {
      ...props.target,
      deadLetterQueue: this.deadLetterQueue,
      logEncryptionKey: props.encryptionKey,
      ...(props.alarmTopic === undefined ? {} : { alarmTopic: props.alarmTopic }),
    });

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: props.deadLetterAlarmDescription,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      this.deadLetterAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
    }
  }
}
