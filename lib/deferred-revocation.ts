import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { KeyrotorFunction } from './keyrotor-function';
import type { LedgerTable } from './ledger-table';
import { SCHEDULER_PRINCIPAL, SchedulerInvocation } from './scheduler-invocation';

/** Where the revoker handler lives (see DESIGN §7: `lambdas/handlers/<name>.ts` exports `handler`). */
export const REVOKE_HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'handlers', 'revoke.ts');

/** The schedule group that holds keyrotor's one-time revocation schedules. */
export const DEFAULT_REVOCATION_SCHEDULE_GROUP = 'keyrotor';

/**
 * lambdas/adapters/scheduler-revocations.ts names each schedule `revoke-<rotation token>`, so a
 * retried finishSecret finds its schedule instead of creating a second one.
 */
export const REVOCATION_SCHEDULE_NAME_PREFIX = 'revoke-';

/** What the revoker reads of a managed secret: its stages, and its current value to authenticate and to refuse a current key. */
export const REVOKER_SECRET_ACTIONS = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'] as const;

/** Properties of {@link DeferredRevocation}. */
export interface DeferredRevocationProps {
  /** keyrotor's customer-managed key: the secrets, the ledger and the dead-letter queue use it. */
  readonly encryptionKey: kms.IKey;

  /** The ledger the revoker records each revocation (or refusal) in. */
  readonly ledger: LedgerTable;

  /**
   * Where the revoker's error alarm and the dead-letter alarm notify people.
   * @default - the alarms are created without an action
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * The revoker's handler file; tests point this at a fixture. It must export `handler`.
   * @default REVOKE_HANDLER_ENTRY (`lambdas/handlers/revoke.ts`)
   */
  readonly revokerEntry?: string;

  /**
   * The schedule group's name. Names are unique per account and region.
   * @default DEFAULT_REVOCATION_SCHEDULE_GROUP (`keyrotor`)
   */
  readonly scheduleGroupName?: string;
}

/**
 * Revokes an old key once its grace period has passed (DESIGN §3, finishSecret).
 *
 * The rotation function creates a one-time `at()` schedule per rotation in this construct's
 * schedule group ({@link DeferredRevocation.grantScheduling}); when it fires, EventBridge
 * Scheduler assumes the scheduler role and invokes the revoker asynchronously, and the
 * schedule deletes itself. The revoker refuses to revoke a key that is `AWSCURRENT`.
 *
 * Failures end in one dead-letter queue, alarmed ({@link SchedulerInvocation}): a revocation
 * Scheduler could not deliver (after its retries) and an invocation the revoker failed (after
 * Lambda's two asynchronous retries; Scheduler counts an accepted asynchronous invocation as
 * delivered, so without the function's own dead-letter queue that revocation would only be in
 * the logs).
 *
 * Least privilege: the scheduler role may invoke only the revoker and send only to the queue;
 * the revoker may read only the secrets passed to {@link DeferredRevocation.grantRevocation},
 * write ledger records, and use the key only through Secrets Manager, DynamoDB and SQS.
 */
export class DeferredRevocation extends Construct {
  /** The schedule group. */
  public readonly scheduleGroup: scheduler.CfnScheduleGroup;
  /** The schedule group's name (`KEYROTOR_SCHEDULE_GROUP` of the rotation function). */
  public readonly scheduleGroupName: string;
  /** The ARN pattern of the revocation schedules: `…:schedule/<group>/revoke-*`. */
  public readonly revocationScheduleArns: string;
  /** Undeliverable and failed revocations. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Goes off when the dead-letter queue holds a message. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** The revoker function. */
  public readonly revoker: KeyrotorFunction;
  /** The role EventBridge Scheduler assumes to invoke the revoker. */
  public readonly schedulerRole: iam.Role;

  public constructor(scope: Construct, id: string, props: DeferredRevocationProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.scheduleGroupName = props.scheduleGroupName ?? DEFAULT_REVOCATION_SCHEDULE_GROUP;
    this.scheduleGroup = new scheduler.CfnScheduleGroup(this, 'ScheduleGroup', { name: this.scheduleGroupName });
    this.revocationScheduleArns = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.scheduleGroupName}/${REVOCATION_SCHEDULE_NAME_PREFIX}*`,
    });

    // 'Default' is left out of logical ids: the queue, revoker, role and alarm keep the ids
    // they had when this construct created them itself.
    const invocation = new SchedulerInvocation(this, 'Default', {
      encryptionKey: props.encryptionKey,
      scheduleGroup: this.scheduleGroup,
      targetId: 'Revoker',
      target: {
        entry: props.revokerEntry ?? REVOKE_HANDLER_ENTRY,
        serviceName: 'keyrotor-revoke',
        description: 'keyrotor: revokes an old platform key after its grace period (invoked by EventBridge Scheduler)',
        roleDescription: 'keyrotor revoker: revokes old platform keys of the managed secrets',
        alarmDescription:
          'keyrotor: revoking an old key failed. Check the revoker logs; the request is in the revocation dead-letter queue once Lambda gives up. ' +
          'A refusal means the old key is still AWSCURRENT: finish the rotation first.',
        environment: { KEYROTOR_LEDGER_TABLE: props.ledger.table.tableName },
      },
      schedulerRoleDescription: 'keyrotor: EventBridge Scheduler invokes the revoker with this role',
      invokeSid: 'InvokeRevoker',
      deadLetterSid: 'SendUndeliverableRevocations',
      deadLetterAlarmDescription:
        'keyrotor: an old key was not revoked. A revocation is in the revocation dead-letter queue: read the message for the secret and key, ' +
        'fix the cause (revoker logs), then revoke the key by hand or run the revoker again with the message as input.',
      ...(props.alarmTopic === undefined ? {} : { alarmTopic: props.alarmTopic }),
    });
    this.deadLetterQueue = invocation.deadLetterQueue;
    this.revoker = invocation.target;
    this.schedulerRole = invocation.schedulerRole;
    this.deadLetterAlarm = invocation.deadLetterAlarm;

    this.revoker.allowKeyThrough(props.encryptionKey, 'secretsmanager', ['kms:Decrypt']);
    props.ledger.grantRecordKeeping(this.revoker.role);
  }

  /** Lets the revoker read `secret` ({@link REVOKER_SECRET_ACTIONS} on its ARN only). */
  public grantRevocation(secret: secretsmanager.ISecret): void {
    this.revoker.allowOnSecret(secret, 'ReadManagedSecrets', REVOKER_SECRET_ACTIONS);
  }

  /**
   * Lets `grantee` schedule revocations: `scheduler:CreateSchedule` on
   * {@link DeferredRevocation.revocationScheduleArns} only, and `iam:PassRole` on the scheduler
   * role only when passed to EventBridge Scheduler.
   */
  public grantScheduling(grantee: iam.IGrantable): void {
    const principal = grantee.grantPrincipal;
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ScheduleRevocations',
        actions: ['scheduler:CreateSchedule'],
        resources: [this.revocationScheduleArns],
      }),
    );
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PassSchedulerRole',
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': SCHEDULER_PRINCIPAL } },
      }),
    );
  }
}
