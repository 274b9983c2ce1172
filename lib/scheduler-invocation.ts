import { Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DeadLetteredFunction } from './dead-lettered-function';
import { keyUseViaService } from './key-use-via-service';
import type { KeyrotorFunction, KeyrotorFunctionProps } from './keyrotor-function';

/** The service principal of EventBridge Scheduler: it assumes scheduler roles, and `iam:PassedToService` names it. */
export const SCHEDULER_PRINCIPAL = 'scheduler.amazonaws.com';

/** Properties of {@link SchedulerInvocation}. */
export interface SchedulerInvocationProps {
  /** keyrotor's customer-managed key: the dead-letter queue and the function's log group are encrypted with it. */
  readonly encryptionKey: kms.IKey;

  /** The schedule group whose schedules invoke the function: only they may use the scheduler role. */
  readonly scheduleGroup: scheduler.CfnScheduleGroup;

  /**
   * The function the schedules target. Its dead-letter queue is this construct's queue, and its
   * errors alarm notifies {@link SchedulerInvocationProps.alarmTopic}.
   */
  readonly target: Omit<KeyrotorFunctionProps, 'deadLetterQueue' | 'alarmTopic' | 'logEncryptionKey'>;

  /**
   * The function's construct id. It names the function's resources, so it is part of their logical ids.
   * @default 'Function'
   */
  readonly targetId?: string;

  /** The scheduler role's description, shown in the IAM console. */
  readonly schedulerRoleDescription: string;

  /** What the dead-letter alarm tells the person who receives it: what is in the queue and what to do about it. */
  readonly deadLetterAlarmDescription: string;

  /**
   * Where the function's errors alarm and the dead-letter alarm notify people.
   * @default - the alarms are created without an action
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * The Sid of the scheduler role's statement that allows invoking the function.
   * @default 'InvokeFunction'
   */
  readonly invokeSid?: string;

  /**
   * The Sid of the scheduler role's statement that allows sending to the dead-letter queue.
   * @default 'SendUndeliverableInvocations'
   */
  readonly deadLetterSid?: string;
}

/**
 * A {@link KeyrotorFunction} that EventBridge Scheduler invokes asynchronously, and the path its
 * failed invocations take: one encrypted, TLS-only dead-letter queue that keeps messages for
 * 14 days, alarmed as soon as it holds a message ({@link DeadLetteredFunction}), and the role
 * Scheduler invokes it with.
 *
 * Two kinds of failure end in the queue: an invocation Scheduler could not deliver (after its
 * retries; a schedule names the queue in its target's `DeadLetterConfig`) and an invocation the
 * function failed (after Lambda's two asynchronous retries; Scheduler counts an accepted
 * asynchronous invocation as delivered, so without the function's own dead-letter queue it would
 * only be in the logs).
 *
 * Least privilege: only schedules of {@link SchedulerInvocationProps.scheduleGroup} in this
 * account may assume the scheduler role (`aws:SourceAccount`, `aws:SourceArn`: no confused
 * deputy), and it may invoke only the function, send only to the queue, and use the key only
 * through SQS. The function's role gets nothing here but sending to the queue; its owner grants
 * the rest.
 *
 * @example
 * const invocation = new SchedulerInvocation(this, 'Default', {
 *   encryptionKey: key,
 *   scheduleGroup: group,
 *   targetId: 'Revoker',
 *   target: { entry, serviceName: 'keyrotor-revoke', description, roleDescription, alarmDescription },
 *   schedulerRoleDescription: 'keyrotor: EventBridge Scheduler invokes the revoker with this role',
 *   deadLetterAlarmDescription: 'keyrotor: an old key was not revoked. …',
 *   alarmTopic: topic,
 * });
 * invocation.target.allowKeyThrough(key, 'secretsmanager', ['kms:Decrypt']);
 */
export class SchedulerInvocation extends Construct {
  /** Undeliverable and failed invocations. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The function the schedules target. */
  public readonly target: KeyrotorFunction;
  /** The role EventBridge Scheduler assumes to invoke {@link SchedulerInvocation.target}. */
  public readonly schedulerRole: iam.Role;
  /** Goes off when the dead-letter queue holds a message. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  public constructor(scope: Construct, id: string, props: SchedulerInvocationProps) {
    super(scope, id);

    // 'Default' is left out of logical ids: the queue, function and alarm keep the ids they had
    // when this construct created them itself.
    const invoked = new DeadLetteredFunction(this, 'Default', {
      encryptionKey: props.encryptionKey,
      target: props.target,
      ...(props.targetId === undefined ? {} : { targetId: props.targetId }),
      deadLetterAlarmDescription: props.deadLetterAlarmDescription,
      ...(props.alarmTopic === undefined ? {} : { alarmTopic: props.alarmTopic }),
    });
    this.deadLetterQueue = invoked.deadLetterQueue;
    this.target = invoked.target;
    this.deadLetterAlarm = invoked.deadLetterAlarm;

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: props.schedulerRoleDescription,
      // Only schedules of the group in this account may use the role (confused deputy).
      assumedBy: new iam.ServicePrincipal(SCHEDULER_PRINCIPAL, {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': Stack.of(this).account,
            'aws:SourceArn': props.scheduleGroup.attrArn,
          },
        },
      }),
    });
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: props.invokeSid ?? 'InvokeFunction',
        actions: ['lambda:InvokeFunction'],
        // The unqualified ARN only: schedules target the function, never a version or alias.
        resources: [this.target.function.functionArn],
      }),
    );
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: props.deadLetterSid ?? 'SendUndeliverableInvocations',
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
      }),
    );
    this.schedulerRole.addToPolicy(keyUseViaService(this, props.encryptionKey, 'sqs', ['kms:GenerateDataKey', 'kms:Decrypt']));
  }
}
