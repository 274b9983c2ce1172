import * as path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TOKEN_TAG } from '../lambdas/core/contracts';
import { DEFAULT_TOKEN_REFRESH, tokenRefreshProblems, type TokenRefreshConfig } from './config';
import type { KeyrotorFunction } from './keyrotor-function';
import type { ManagedToken } from './managed-token';
import { SchedulerInvocation } from './scheduler-invocation';
import { wildcardResourceFindingId } from './wildcard-resource-finding';

/** Where the token refresher handler lives (see DESIGN §7: `lambdas/handlers/<name>.ts` exports `handler`). */
export const REFRESH_TOKENS_HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'handlers', 'refresh-tokens.ts');

/** The refresher's schedule, in keyrotor's schedule group. */
export const DEFAULT_REFRESH_SCHEDULE_NAME = 'refresh-tokens';

/** `POWERTOOLS_METRICS_NAMESPACE` of the refresher: its renewal metrics appear under this namespace. */
export const REFRESHER_METRICS_NAMESPACE = 'keyrotor';

/** How long one run may take: every due token is renewed, a few at a time, each with HTTP timeouts and retries. */
export const REFRESHER_TIMEOUT = Duration.minutes(5);

/** What the refresher does to each token secret and each source secret. */
export const READ_TOKEN_ACTIONS = ['secretsmanager:GetSecretValue'] as const;
export const RENEW_TOKEN_ACTIONS = ['secretsmanager:PutSecretValue'] as const;
export const RECORD_REFRESH_STATE_ACTIONS = ['secretsmanager:TagResource'] as const;
/**
 * What the refresher may ask of a source secret besides its value: its AWSCURRENT version id, to
 * confirm a replaced source that the eventually consistent listing shows (nothing is decrypted).
 */
export const CONFIRM_SOURCE_VERSION_ACTIONS = ['secretsmanager:DescribeSecret'] as const;

/** Properties of {@link TokenRefresher}. */
export interface TokenRefresherProps {
  /** keyrotor's customer-managed key: the token and source secrets and the dead-letter queue use it. */
  readonly encryptionKey: kms.IKey;

  /**
   * The refresher's alarms (errors, dead-letter queue) notify this topic. The refresher itself
   * does not publish to it: renewals and failed renewals are events on keyrotor's bus (grant them
   * with `KeyrotorEvents.addPublisher`), which the notifier turns into alerts.
   */
  readonly alertsTopic: sns.ITopic;

  /** The schedule group the refresher's schedule goes in (keyrotor's, shared with the revocations). */
  readonly scheduleGroup: scheduler.CfnScheduleGroup;

  /**
   * How often the refresher runs, when a token is due, and how many renew at once.
   * @default DEFAULT_TOKEN_REFRESH (every 5 minutes, at 75 % of a token's lifetime plus up to 10 %, 4 at once)
   */
  readonly settings?: TokenRefreshConfig;

  /**
   * The handler file; tests point this at a fixture. It must export `handler`.
   * @default REFRESH_TOKENS_HANDLER_ENTRY (`lambdas/handlers/refresh-tokens.ts`)
   */
  readonly entry?: string;

  /**
   * The schedule's name in the group.
   * @default DEFAULT_REFRESH_SCHEDULE_NAME (`refresh-tokens`)
   */
  readonly scheduleName?: string;
}

/**
 * Regenerates access tokens before they expire (DESIGN §2): an EventBridge Scheduler schedule
 * runs the refresher every few minutes; each run lists the token secrets by tag, renews every
 * token that is due from its source secret (an OAuth client, or an Imburse tenant key) and
 * writes it to the token secret. A token whose source secret has a new AWSCURRENT version since
 * it was minted (a rotation, or a compromise that ended the old key's tokens) is renewed in the
 * next run, whatever its age; the same listing shows the sources' versions. A failed renewal never overwrites a valid token; the refresher
 * publishes `TokenRefreshed` and `TokenRefreshFailed` on keyrotor's bus (the stack grants that
 * with `KeyrotorEvents.addPublisher`, which also sets `KEYROTOR_EVENT_BUS`) and records the state
 * it announced in the secret's `keyrotor:refresh-state` tag; the notifier turns the events into
 * alerts, once per change of state rather than once per run.
 *
 * One run at a time (reserved concurrency 1), so at most one renewal per token is in flight.
 * The schedule invokes the refresher asynchronously with its own role; an invocation Scheduler
 * could not deliver and a run that still failed after Lambda's retries end in one dead-letter
 * queue, alarmed, beside the refresher's errors alarm ({@link SchedulerInvocation}).
 *
 * Least privilege: the refresher may list secrets (names, tags and version ids only), read exactly
 * the token and source secrets passed to {@link TokenRefresher.grantRefresh}, describe only those
 * source secrets, write and tag (only
 * `keyrotor:refresh-state`) only the token secrets, and use the key only through Secrets Manager
 * and SQS; it has no SNS permission. The scheduler role may invoke only the refresher and send
 * only to the queue.
 */
export class TokenRefresher extends Construct {
  /** The refresher function. */
  public readonly refresher: KeyrotorFunction;
  /** The settings the refresher runs with. */
  public readonly settings: TokenRefreshConfig;
  /** Undeliverable and failed refresher runs. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Goes off when the dead-letter queue holds a message. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** The role EventBridge Scheduler assumes to invoke the refresher. */
  public readonly schedulerRole: iam.Role;
  /** The `rate(N minutes)` schedule. */
  public readonly schedule: scheduler.CfnSchedule;

  public constructor(scope: Construct, id: string, props: TokenRefresherProps) {
    super(scope, id);
    const settings = props.settings ?? DEFAULT_TOKEN_REFRESH;
    const problems = tokenRefreshProblems(settings);
    if (problems.length > 0) throw new Error(`TokenRefresher ${this.node.path}: invalid settings:\n  - ${problems.join('\n  - ')}`);
    this.settings = settings;

    // 'Default' is left out of logical ids: the queue, refresher, role and alarm keep the ids
    // they had when this construct created them itself.
    const invocation = new SchedulerInvocation(this, 'Default', {
      encryptionKey: props.encryptionKey,
      // Only schedules of keyrotor's group in this account may use the scheduler role.
      scheduleGroup: props.scheduleGroup,
      targetId: 'Refresher',
      target: {
        entry: props.entry ?? REFRESH_TOKENS_HANDLER_ENTRY,
        serviceName: 'keyrotor-refresh-tokens',
        description: `keyrotor: renews access tokens before they expire (EventBridge Scheduler, ${refreshRate(settings.rateMinutes)})`,
        roleDescription: 'keyrotor token refresher: renews the access tokens in the keyrotor/<id>/token secrets',
        alarmDescription:
          'keyrotor: a token refresh run failed as a whole (it could not list or read the token secrets, or its configuration is invalid). ' +
          'Check the token refresher logs; renewals that fail for one token are alerted separately and never overwrite a valid token.',
        timeout: REFRESHER_TIMEOUT,
        // One run at a time, so a token never has two renewals in flight.
        reservedConcurrentExecutions: 1,
        environment: {
          KEYROTOR_REFRESH_RATE_MINUTES: String(settings.rateMinutes),
          KEYROTOR_RENEW_AT_FRACTION: String(settings.renewAtFraction),
          KEYROTOR_RENEW_JITTER_FRACTION: String(settings.jitterFraction),
          KEYROTOR_REFRESH_CONCURRENCY: String(settings.concurrency),
          POWERTOOLS_METRICS_NAMESPACE: REFRESHER_METRICS_NAMESPACE,
        },
      },
      schedulerRoleDescription: 'keyrotor: EventBridge Scheduler invokes the token refresher with this role',
      invokeSid: 'InvokeTokenRefresher',
      deadLetterSid: 'SendUndeliverableRefreshes',
      deadLetterAlarmDescription:
        'keyrotor: a token refresher run was not delivered or failed after Lambda\'s retries (it is in the token refresh dead-letter queue). ' +
        'Check the token refresher logs and the scheduler role; tokens are not renewed while runs fail.',
      alarmTopic: props.alertsTopic,
    });
    this.deadLetterQueue = invocation.deadLetterQueue;
    this.refresher = invocation.target;
    this.schedulerRole = invocation.schedulerRole;
    this.deadLetterAlarm = invocation.deadLetterAlarm;

    const role = this.refresher.role;
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListTokenSecrets',
        actions: ['secretsmanager:ListSecrets'],
        resources: ['*'],
      }),
    );
    this.refresher.allowKeyThrough(props.encryptionKey, 'secretsmanager', ['kms:Decrypt', 'kms:GenerateDataKey']);
    Validations.of(role.node.findChild('DefaultPolicy')).acknowledge({
      id: wildcardResourceFindingId(this, '*'),
      reason:
        'secretsmanager:ListSecrets has no resource-level permissions, so IAM accepts only "*". It returns names, ARNs, tags and version ids, never a secret value; ' +
        'the refresher uses it to find the token secrets and their sources\' current versions by their keyrotor:kind tag, and reads values only of the secrets it is granted by ARN.',
    });

    const periodSeconds = settings.rateMinutes * 60;
    this.schedule = new scheduler.CfnSchedule(this, 'Schedule', {
      name: props.scheduleName ?? DEFAULT_REFRESH_SCHEDULE_NAME,
      // Ref of a schedule group is its name; it also makes the schedule wait for the group.
      groupName: props.scheduleGroup.ref,
      description: `keyrotor: runs the token refresher, ${refreshRate(settings.rateMinutes)}`,
      scheduleExpression: refreshRate(settings.rateMinutes),
      // Renewal is planned against this period: the run must come on time, not within a window.
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: this.refresher.function.functionArn,
        roleArn: this.schedulerRole.roleArn,
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
        // A run that cannot be delivered before the next one is due is superseded by it.
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: periodSeconds },
      },
    });
    // Scheduler assumes the role at the first run; let its policy exist by then.
    this.schedule.node.addDependency(this.schedulerRole);
  }

  /**
   * Lets the refresher renew `token`: `GetSecretValue` on the token secret and its source secret,
   * `DescribeSecret` on the source secret (to confirm that its key was replaced),
   * `PutSecretValue` on the token secret, and `TagResource` on the token secret for the
   * `keyrotor:refresh-state` tag only — each on those ARNs only.
   */
  public grantRefresh(token: ManagedToken): void {
    this.refresher.allowOnSecret(token.secret, 'ReadTokensAndSources', READ_TOKEN_ACTIONS);
    this.refresher.allowOnSecret(token.sourceSecret, 'ReadTokensAndSources', READ_TOKEN_ACTIONS);
    this.refresher.allowOnSecret(token.sourceSecret, 'ConfirmSourceVersions', CONFIRM_SOURCE_VERSION_ACTIONS);
    this.refresher.allowOnSecret(token.secret, 'RenewTokens', RENEW_TOKEN_ACTIONS);
    this.refresher.allowOnSecret(token.secret, 'RecordRefreshState', RECORD_REFRESH_STATE_ACTIONS, {
      'ForAllValues:StringEquals': { 'aws:TagKeys': [TOKEN_TAG.refreshState] },
    });
  }
}

/** `rate(1 minute)`, `rate(5 minutes)`: Scheduler's rate expressions use the singular for one. */
export function refreshRate(minutes: number): string {
  return minutes === 1 ? 'rate(1 minute)' : `rate(${minutes} minutes)`;
}
