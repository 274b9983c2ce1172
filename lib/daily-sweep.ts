import * as path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TAG } from '../lambdas/core/contracts';
import { SWEEP_HEARTBEAT_METRIC, SWEEP_SERVICE_NAME } from '../lambdas/core/sweep';
import { DEFAULT_GRACE_PERIOD_HOURS, DEFAULT_SWEEP, MAX_GRACE_PERIOD_HOURS, MIN_GRACE_PERIOD_HOURS, sweepProblems, type SweepConfig } from './config';
import type { DeferredRevocation } from './deferred-revocation';
import type { KeyrotorFunction } from './keyrotor-function';
import type { LedgerTable } from './ledger-table';
import { SchedulerInvocation } from './scheduler-invocation';
import { wildcardResourceFindingId } from './wildcard-resource-finding';

/** Where the sweep handler lives (see DESIGN §7: `lambdas/handlers/<name>.ts` exports `handler`). */
export const SWEEP_HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'handlers', 'sweep.ts');

/** The sweep's schedule, in keyrotor's schedule group. */
export const DEFAULT_SWEEP_SCHEDULE_NAME = 'daily-sweep';

/** `POWERTOOLS_SERVICE_NAME` of the sweep: the `service` dimension of its metrics (the handler's Metrics use the same). */
export { SWEEP_HEARTBEAT_METRIC, SWEEP_SERVICE_NAME };

/** `POWERTOOLS_METRICS_NAMESPACE` of the sweep. */
export const SWEEP_METRICS_NAMESPACE = 'keyrotor';

/** One invocation's limit: Lambda's longest. A run that needs more continues in a new invocation. */
export const SWEEP_TIMEOUT = Duration.minutes(15);

/** How long past a day without a completed sweep the missed-sweep alarm waits (a run takes a while; a chain longer). */
export const MISSED_SWEEP_SLACK = Duration.hours(3);

/** How long Scheduler keeps retrying a run it could not deliver. */
export const SWEEP_MAX_EVENT_AGE = Duration.hours(6);

/** What the sweep does to each managed secret: read values (live checks), list versions (a stuck AWSPENDING's age), start or re-drive rotations, remove a stuck AWSPENDING label. */
export const SWEEP_SECRET_ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:ListSecretVersionIds',
  'secretsmanager:RotateSecret',
  'secretsmanager:UpdateSecretVersionStage',
] as const;

/** The sweep tags a secret only with `keyrotor:revocation-confirmed`. */
export const RECORD_REVOCATION_CONFIRMED_ACTIONS = ['secretsmanager:TagResource'] as const;

/** Properties of {@link DailySweep}. */
export interface DailySweepProps {
  /** keyrotor's customer-managed key: the managed secrets and the dead-letter queue use it. */
  readonly encryptionKey: kms.IKey;

  /** Where the sweep's alarms (errors, dead-letter queue, missed sweep) notify people. */
  readonly alertsTopic: sns.ITopic;

  /** The schedule group the sweep's schedule goes in (keyrotor's, shared with the revocations). */
  readonly scheduleGroup: scheduler.CfnScheduleGroup;

  /** The ledger the sweep records confirmed revocations in. */
  readonly ledger: LedgerTable;

  /** Where the sweep schedules again the revocation of an old key that outlived its revocation date. */
  readonly revocation: DeferredRevocation;

  /**
   * The managed secrets' rotation function. RotateSecret requires its caller to be allowed
   * `lambda:InvokeFunction` on the secret's rotation function, so the sweep may invoke it.
   */
  readonly rotationFunction: KeyrotorFunction;

  /**
   * How long an old key stays alive after a rotation (whole hours, 1–2160): the sweep expects it
   * revoked after that.
   * @default DEFAULT_GRACE_PERIOD_HOURS (24)
   */
  readonly gracePeriodHours?: number;

  /**
   * When the sweep runs, when it warns, when a rotation counts as stuck, how many secrets at once.
   * @default DEFAULT_SWEEP (06:00 UTC daily; warnings 14, 7, 3, 1 days ahead; stuck after 24 h; 4 at once)
   */
  readonly settings?: SweepConfig;

  /**
   * The handler file; tests point this at a fixture. It must export `handler`.
   * @default SWEEP_HANDLER_ENTRY (`lambdas/handlers/sweep.ts`)
   */
  readonly entry?: string;

  /**
   * The schedule's name in the group.
   * @default DEFAULT_SWEEP_SCHEDULE_NAME (`daily-sweep`)
   */
  readonly scheduleName?: string;
}

/**
 * The daily sweep (DESIGN §2): an EventBridge Scheduler schedule runs the sweep function once a
 * day; it lists the managed API-key secrets by tag (names, dates, stages and tags: nothing
 * decrypted to decide by policy), warns ahead of due rotations and declared expiries, starts
 * overdue rotations, repairs stuck ones, checks every current key live (a 401 means it was
 * revoked outside keyrotor) and confirms that old keys are revoked after their grace period.
 * A run over many secrets continues in new asynchronous invocations of the function itself; the
 * invocation that finishes a run emits the `SweepCompleted` heartbeat, and an alarm goes off when
 * none arrives for a day (plus {@link MISSED_SWEEP_SLACK}).
 *
 * Failed runs end in one dead-letter queue, alarmed, beside the function's errors alarm
 * ({@link SchedulerInvocation}); so do continuations that failed after Lambda's retries.
 *
 * Least privilege: the sweep may list secrets (`ListSecrets` has no resource-level permissions:
 * names, dates and tags only), and only on the secrets passed to {@link DailySweep.grantSweep}
 * read values, list versions, start rotations, move staging labels and set the
 * `keyrotor:revocation-confirmed` tag; decrypt with keyrotor's key only through Secrets Manager;
 * invoke only itself (continuations) and the rotation function (RotateSecret requires it);
 * keep ledger records; schedule `revoke-*` revocations. Publishing keyrotor events is granted by
 * the stack (`KeyrotorEvents.addPublisher`).
 */
export class DailySweep extends Construct {
  /** The sweep function. */
  public readonly function: KeyrotorFunction;
  /** The settings the sweep runs with. */
  public readonly settings: SweepConfig;
  /** Undeliverable and failed sweep runs and continuations. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Goes off when the dead-letter queue holds a message. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** Goes off when no sweep has completed for a day plus {@link MISSED_SWEEP_SLACK}. */
  public readonly missedSweepAlarm: cloudwatch.Alarm;
  /** The role EventBridge Scheduler assumes to invoke the sweep. */
  public readonly schedulerRole: iam.Role;
  /** The daily schedule. */
  public readonly schedule: scheduler.CfnSchedule;
  /** The sweep's permission to invoke itself, in a policy of its own (in the role's default policy it would make the function depend on itself). */
  public readonly continuationPolicy: iam.Policy;

  public constructor(scope: Construct, id: string, props: DailySweepProps) {
    super(scope, id);
    const settings = props.settings ?? DEFAULT_SWEEP;
    const gracePeriodHours = props.gracePeriodHours ?? DEFAULT_GRACE_PERIOD_HOURS;
    const problems = sweepProblems(settings);
    if (!Number.isInteger(gracePeriodHours) || gracePeriodHours < MIN_GRACE_PERIOD_HOURS || gracePeriodHours > MAX_GRACE_PERIOD_HOURS) {
      problems.push(`gracePeriodHours: must be a whole number of hours from ${MIN_GRACE_PERIOD_HOURS} to ${MAX_GRACE_PERIOD_HOURS}, not ${gracePeriodHours}`);
    }
    if (problems.length > 0) throw new Error(`DailySweep ${this.node.path}: invalid settings:\n  - ${problems.join('\n  - ')}`);
    this.settings = settings;
    const { revocation } = props;

    // 'Default' is left out of logical ids, as in the other scheduled functions.
    const invocation = new SchedulerInvocation(this, 'Default', {
      encryptionKey: props.encryptionKey,
      scheduleGroup: props.scheduleGroup,
      targetId: 'Sweep',
      target: {
        entry: props.entry ?? SWEEP_HANDLER_ENTRY,
        serviceName: SWEEP_SERVICE_NAME,
        description: `keyrotor: daily sweep of the managed API keys: warnings, overdue and stuck rotations, key health, old-key revocation (EventBridge Scheduler, ${settings.scheduleExpression} UTC)`,
        roleDescription: 'keyrotor daily sweep: checks and repairs the managed API-key secrets',
        alarmDescription:
          'keyrotor: a daily sweep invocation failed as a whole (it could not list the managed secrets, continue in a new invocation, or its configuration is invalid). ' +
          'Check the sweep logs; problems with single secrets are logged and alerted separately and never fail the run.',
        timeout: SWEEP_TIMEOUT,
        environment: {
          KEYROTOR_LEDGER_TABLE: props.ledger.table.tableName,
          KEYROTOR_REVOKER_ARN: revocation.revoker.function.functionArn,
          KEYROTOR_SCHEDULER_ROLE_ARN: revocation.schedulerRole.roleArn,
          KEYROTOR_SCHEDULE_GROUP: revocation.scheduleGroupName,
          KEYROTOR_REVOCATION_DLQ_ARN: revocation.deadLetterQueue.queueArn,
          KEYROTOR_GRACE_PERIOD_HOURS: String(gracePeriodHours),
          KEYROTOR_SWEEP_WARNING_DAYS: settings.warningDays.join(','),
          KEYROTOR_SWEEP_STUCK_AFTER_HOURS: String(settings.stuckAfterHours),
          KEYROTOR_SWEEP_CONCURRENCY: String(settings.concurrency),
          POWERTOOLS_METRICS_NAMESPACE: SWEEP_METRICS_NAMESPACE,
        },
      },
      schedulerRoleDescription: 'keyrotor: EventBridge Scheduler invokes the daily sweep with this role',
      invokeSid: 'InvokeDailySweep',
      deadLetterSid: 'SendUndeliverableSweeps',
      deadLetterAlarmDescription:
        'keyrotor: a daily sweep run or continuation was not delivered or failed after Lambda\'s retries (it is in the sweep dead-letter queue). ' +
        'Check the sweep logs; the message\'s cursor says where the run stopped. Invoke the sweep with it to finish the run.',
      alarmTopic: props.alertsTopic,
    });
    this.function = invocation.target;
    this.deadLetterQueue = invocation.deadLetterQueue;
    this.deadLetterAlarm = invocation.deadLetterAlarm;
    this.schedulerRole = invocation.schedulerRole;

    const role = this.function.role;
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ListManagedSecrets', actions: ['secretsmanager:ListSecrets'], resources: ['*'] }));
    this.function.allowKeyThrough(props.encryptionKey, 'secretsmanager', ['kms:Decrypt']);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeRotationFunctionForRotateSecret',
        actions: ['lambda:InvokeFunction'],
        resources: [props.rotationFunction.function.functionArn],
      }),
    );
    props.ledger.grantRecordKeeping(role);
    revocation.grantScheduling(role);
    // The environment names the group by a literal; the group must exist before a revocation is scheduled.
    this.function.function.node.addDependency(revocation.scheduleGroup);

    this.continuationPolicy = new iam.Policy(this, 'ContinuationPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'ContinueSweep',
          actions: ['lambda:InvokeFunction'],
          // The unqualified ARN only: a continuation invokes the function by name.
          resources: [this.function.function.functionArn],
        }),
      ],
    });

    const defaultPolicy = role.node.findChild('DefaultPolicy');
    Validations.of(defaultPolicy).acknowledge({
      id: wildcardResourceFindingId(this, '*'),
      reason:
        'secretsmanager:ListSecrets has no resource-level permissions, so IAM accepts only "*". It returns names, ARNs, dates and tags, never a secret value; ' +
        'the sweep uses it to find the managed API-key secrets by their keyrotor:kind tag, and reads or changes only the secrets it is granted by ARN.',
    });
    Validations.of(defaultPolicy).acknowledge({
      id: wildcardResourceFindingId(this, revocation.revocationScheduleArns),
      reason:
        'Each revocation schedule is named revoke-<ClientRequestToken> after the rotation that replaced the key; the sweep schedules one again when an old key outlived its revocation date. ' +
        'The wildcard allows only scheduler:CreateSchedule, only for revoke-* schedules in keyrotor\'s own schedule group, and such a schedule can only invoke the revoker through the scheduler role.',
    });

    this.schedule = new scheduler.CfnSchedule(this, 'Schedule', {
      name: props.scheduleName ?? DEFAULT_SWEEP_SCHEDULE_NAME,
      groupName: props.scheduleGroup.ref,
      description: `keyrotor: runs the daily sweep, ${settings.scheduleExpression} UTC`,
      scheduleExpression: settings.scheduleExpression,
      scheduleExpressionTimezone: 'UTC',
      // The missed-sweep alarm counts on the run starting on time.
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: this.function.function.functionArn,
        roleArn: this.schedulerRole.roleArn,
        // A new run: no cursor, a new run id.
        input: '{}',
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: SWEEP_MAX_EVENT_AGE.toSeconds() },
      },
    });
    // Scheduler assumes the role at the first run; let its policy exist by then.
    this.schedule.node.addDependency(this.schedulerRole);

    // Hourly periods, each missing one breaching: the alarm goes off after a day plus the slack
    // without a single completed run (CloudWatch allows up to 7 days of one-hour periods).
    const periods = Duration.days(1).toHours() + MISSED_SWEEP_SLACK.toHours();
    this.missedSweepAlarm = new cloudwatch.Alarm(this, 'MissedSweepAlarm', {
      alarmDescription:
        `keyrotor: no daily sweep has completed for ${periods} hours, so warnings, health checks and repairs are not happening. ` +
        'Check the daily-sweep schedule, the sweep\'s errors alarm, its logs and its dead-letter queue; run it by hand with: aws lambda invoke --function-name <sweep function> --invocation-type Event --payload \'{}\' /dev/null',
      metric: new cloudwatch.Metric({
        namespace: SWEEP_METRICS_NAMESPACE,
        metricName: SWEEP_HEARTBEAT_METRIC,
        dimensionsMap: { service: SWEEP_SERVICE_NAME },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.hours(1),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.missedSweepAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alertsTopic));
  }

  /**
   * Lets the sweep check and repair `secret`: {@link SWEEP_SECRET_ACTIONS} on that secret's ARN
   * only, and `TagResource` on it for the `keyrotor:revocation-confirmed` tag only.
   */
  public grantSweep(secret: secretsmanager.ISecret): void {
    this.function.allowOnSecret(secret, 'SweepManagedSecrets', SWEEP_SECRET_ACTIONS);
    this.function.allowOnSecret(secret, 'RecordRevocationConfirmed', RECORD_REVOCATION_CONFIRMED_ACTIONS, {
      'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG.revocationConfirmed] },
    });
  }
}
