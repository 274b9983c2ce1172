import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RUNBOOKS, runbookPath, runbookUrl, type RunbookName } from '../lambdas/core/alert-messages';
import { SECRET_SWEPT_MESSAGE } from '../lambdas/core/sweep';
import { SWEEP_HEARTBEAT_METRIC, SWEEP_METRICS_NAMESPACE, SWEEP_SERVICE_NAME } from './daily-sweep';
import type { KeyrotorFunction } from './keyrotor-function';
import { REFRESHER_METRICS_NAMESPACE } from './token-refresher';

/** The dashboard's name (dashboard names are unique per account, across regions). */
export const DEFAULT_DASHBOARD_NAME = 'keyrotor';

/** The time range the dashboard opens with: rotations are weeks apart, so a day would show none. */
export const DEFAULT_DASHBOARD_INTERVAL = Duration.days(30);

/**
 * The token refresher's `POWERTOOLS_SERVICE_NAME` (lib/token-refresher.ts, lambdas/handlers/refresh-tokens.ts):
 * Powertools publishes its metrics with the dimension `service` set to it.
 */
export const REFRESHER_SERVICE_NAME = 'keyrotor-refresh-tokens';

/**
 * The messages of the structured log lines the dashboard's Logs Insights queries match. Only
 * `secretSwept` is a constant in the code that logs it; the others are literals there (named
 * beside each), so a change to one of those lines must change this map too.
 */
export const DASHBOARD_LOG_MESSAGES = {
  /** lambdas/core/rotation.ts, finishSecret: a new key was promoted (fields secret, fingerprint). */
  keyPromoted: 'finishSecret: new key is AWSCURRENT',
  /** lambdas/handlers/middleware/report-errors.ts, every handler: a failed invocation (fields errorName, errorMessage, service). */
  invocationFailed: 'invocation failed',
  /** lambdas/core/sweep.ts, per secret swept (fields secret, provider, fingerprint, ageDays, daysToRotation, daysToExpiry). */
  secretSwept: SECRET_SWEPT_MESSAGE,
  /** lambdas/core/notify.ts: an alert was published (fields type, severity, secret). */
  alertSent: 'alert sent',
  /** lambdas/core/compromise.ts: a compromise response finished. */
  compromiseResponseDone: 'compromise response done',
  /** lambdas/core/compromise.ts: a compromise response left work for a person. */
  compromiseResponseIncomplete: 'compromise response incomplete',
} as const;

/** The refresher's metrics (lambdas/core/token-refresh.ts), dimension `service` only. */
export const TOKEN_RENEWAL_METRICS = {
  renewals: 'TokenRenewals',
  failures: 'TokenRenewalFailures',
  lifetimeLeftAtRenewal: 'TokenLifetimeLeftAtRenewal',
} as const;

/** The sweep's count of secrets looked at (lambdas/core/sweep.ts), dimension `service` only, beside the heartbeat. */
export const SWEEP_SECRETS_CHECKED_METRIC = 'SweepSecretsChecked';

/** The sweep's per-platform key figures (lambdas/core/sweep.ts), dimensions `service` and `provider`. */
export const KEY_FIGURE_METRICS = { age: 'KeyAgeDays', toRotation: 'DaysToRotation', toExpiry: 'DaysToExpiry' } as const;

/** What the dashboard reads of a keyrotor function: its metrics, its log group and its errors alarm. */
export type DashboardFunction = Pick<KeyrotorFunction, 'function' | 'logGroup' | 'errorsAlarm'>;

/** A function's dead-letter queue and the alarm on it. */
export interface DashboardDeadLetters {
  readonly deadLetterQueue: sqs.IQueue;
  readonly deadLetterAlarm: cloudwatch.IAlarm;
}

/** Properties of {@link KeyrotorDashboard}. Each part is what keyrotor's constructs expose (`KeyrotorStack` passes them). */
export interface KeyrotorDashboardProps {
  /** The rotation function (no dead-letter queue: Secrets Manager invokes it and retries). */
  readonly rotationFunction: DashboardFunction;

  /** The deferred revocation (`DeferredRevocation`): the revoker and its dead-letter queue. */
  readonly revocation: { readonly revoker: DashboardFunction } & DashboardDeadLetters;

  /** The compromise response (`CompromiseResponse`). */
  readonly compromise: { readonly responder: DashboardFunction } & DashboardDeadLetters;

  /** The alert notifier (`AlertNotifier`). */
  readonly notifier: { readonly notifier: DashboardFunction } & DashboardDeadLetters;

  /** The daily sweep (`DailySweep`) and its missed-sweep alarm. */
  readonly sweep: { readonly function: DashboardFunction; readonly missedSweepAlarm: cloudwatch.IAlarm } & DashboardDeadLetters;

  /**
   * The token refresher (`TokenRefresher`); without it the dashboard has no token widgets.
   * @default - none
   */
  readonly tokenRefresher?: { readonly refresher: DashboardFunction } & DashboardDeadLetters;

  /**
   * Where this repository's files are browsable (config `alerts.runbookBaseUrl`); the runbooks
   * are then links.
   * @default - the runbooks are named by their path in the repository
   */
  readonly runbookBaseUrl?: string;

  /**
   * The dashboard's name; letters, digits, `-` and `_`. Dashboard names are unique per account
   * across regions: a second deployment in another region needs another name.
   * @default DEFAULT_DASHBOARD_NAME (`keyrotor`)
   */
  readonly dashboardName?: string;

  /**
   * The time range the dashboard opens with.
   * @default DEFAULT_DASHBOARD_INTERVAL (30 days)
   */
  readonly defaultInterval?: Duration;
}

/** A chart of metrics, one statistic for all of them. */
function graph(title: string, left: cloudwatch.IMetric[], options: Partial<cloudwatch.GraphWidgetProps> = {}): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...options });
}

/** A Logs Insights widget over `logGroups`, its query one line per clause. */
function logQuery(title: string, logGroups: DashboardFunction[], queryLines: string[], view: cloudwatch.LogQueryVisualizationType, width = 8): cloudwatch.LogQueryWidget {
  return new cloudwatch.LogQueryWidget({ title, logGroupNames: logGroups.map((fn) => fn.logGroup.logGroupName), queryLines, view, width, height: 6 });
}

/** A Logs Insights string literal. */
function quoted(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A metric keyrotor's Lambdas publish with Powertools (EMF): namespace `keyrotor`, dimension `service` (plus any in `dimensions`). */
function powertoolsMetric(namespace: string, service: string, metricName: string, options: { statistic: string; period: Duration; label: string }): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace, metricName, dimensionsMap: { service }, ...options });
}

/** Every series of a per-platform sweep metric (dimensions `service` and `provider`), whichever platforms are swept. */
function perPlatform(metricName: string, statistic: 'Maximum' | 'Minimum', label: string): cloudwatch.MathExpression {
  const period = Duration.days(1);
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${SWEEP_METRICS_NAMESPACE},provider,service} MetricName="${metricName}" service="${SWEEP_SERVICE_NAME}"', '${statistic}', ${period.toSeconds()})`,
    // CloudWatch fills in each series' platform (a dynamic label).
    label: `${label}, ` + '${PROP(\'Dim.provider\')}',
    period,
  });
}

/**
 * keyrotor's CloudWatch dashboard (issue 6): what a person on call looks at. From the top: what
 * the dashboard is and where the runbooks are; the state of every keyrotor alarm; keys rotated
 * per day and rotation failures (Lambda errors, and Logs Insights of the failures by error);
 * revocations, compromise responses and alerts sent; token renewals and failures (only with a
 * token refresher); each key's age, days to rotation and days to expiry (Logs Insights over the
 * sweep's `secret swept` lines: per-secret metrics would be billed per secret) and the same per
 * platform (the sweep's metrics); the daily sweep's heartbeat and its missed-sweep alarm; errors,
 * dead-letter queue depth and failed invocations of every function.
 *
 * The widgets read what the code publishes: Lambda's and SQS's built-in metrics, the Powertools
 * metrics under namespace `keyrotor` with exactly the dimensions they are published with, and
 * the structured log lines named in {@link DASHBOARD_LOG_MESSAGES}. Logs Insights widgets run
 * their query each time the dashboard is opened or refreshed (billed per GB scanned; keyrotor's
 * logs are small).
 *
 * @example
 * new KeyrotorDashboard(this, 'Dashboard', {
 *   rotationFunction, revocation, compromise, notifier, sweep, tokenRefresher,
 *   runbookBaseUrl: 'https://github.com/acme/keyrotor/blob/main',
 * });
 */
export class KeyrotorDashboard extends Construct {
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm shown in its alarm status widget: each function's errors alarm, each dead-letter queue's alarm, the missed-sweep alarm. */
  public readonly alarms: readonly cloudwatch.IAlarm[];

  public constructor(scope: Construct, id: string, props: KeyrotorDashboardProps) {
    super(scope, id);
    const { rotationFunction, revocation, compromise, notifier, sweep, tokenRefresher } = props;
    const functions: { label: string; fn: DashboardFunction; deadLetters?: DashboardDeadLetters }[] = [
      { label: 'rotation', fn: rotationFunction },
      { label: 'revoker', fn: revocation.revoker, deadLetters: revocation },
      { label: 'compromise responder', fn: compromise.responder, deadLetters: compromise },
      { label: 'notifier', fn: notifier.notifier, deadLetters: notifier },
      { label: 'daily sweep', fn: sweep.function, deadLetters: sweep },
      ...(tokenRefresher ? [{ label: 'token refresher', fn: tokenRefresher.refresher, deadLetters: tokenRefresher }] : []),
    ];
    this.alarms = [
      ...functions.flatMap(({ fn, deadLetters }) => [fn.errorsAlarm, ...(deadLetters ? [deadLetters.deadLetterAlarm] : [])]),
      sweep.missedSweepAlarm,
    ];
    const { TABLE, LINE } = cloudwatch.LogQueryVisualizationType;
    const messages = DASHBOARD_LOG_MESSAGES;
    const daily = Duration.days(1);
    const sum = cloudwatch.Stats.SUM;

    const intro = new cloudwatch.TextWidget({ markdown: this.introduction(props), width: 24, height: 4 });

    const alarmStatus = new cloudwatch.AlarmStatusWidget({
      title: 'Alarms: every keyrotor alarm (each one e-mails the alerts topic; the alert says what to do)',
      alarms: [...this.alarms],
      width: 24,
      height: 4,
    });

    const rotations = [
      logQuery('Keys rotated per day (a new key promoted to AWSCURRENT)', [rotationFunction], [`filter message = ${quoted(messages.keyPromoted)}`, 'stats count(*) as rotations by bin(1d)'], LINE),
      graph('Rotation failures: failed rotation steps (rotation function errors)', [
        rotationFunction.function.metricErrors({ statistic: sum, period: Duration.hours(1), label: 'failed rotation steps' }),
      ]),
      logQuery(
        'Rotation failures by error (Secrets Manager retries a failed step)',
        [rotationFunction],
        [`filter message = ${quoted(messages.invocationFailed)}`, 'stats count(*) as failures by errorName', 'sort failures desc'],
        TABLE,
      ),
    ];

    const responses = [
      graph('Revocations of old keys after their grace period (revoker runs and failures)', [
        revocation.revoker.function.metricInvocations({ statistic: sum, period: daily, label: 'revocations run' }),
        revocation.revoker.function.metricErrors({ statistic: sum, period: daily, label: 'revocations failed' }),
      ]),
      logQuery(
        'Compromise responses (latest first)',
        [compromise.responder],
        [
          `filter message = ${quoted(messages.compromiseResponseDone)} or message = ${quoted(messages.compromiseResponseIncomplete)}`,
          'fields @timestamp, secret, fingerprint, stage, revocation, rotation, reportedBy, message',
          'sort @timestamp desc',
          'limit 50',
        ],
        TABLE,
      ),
      logQuery(
        'Alerts sent (by event type and severity)',
        [notifier.notifier],
        [`filter message = ${quoted(messages.alertSent)}`, 'stats count(*) as alerts by type, severity', 'sort alerts desc'],
        TABLE,
      ),
    ];

    const tokens = tokenRefresher
      ? [
          graph(
            'Token renewals and failures (per hour)',
            [
              powertoolsMetric(REFRESHER_METRICS_NAMESPACE, REFRESHER_SERVICE_NAME, TOKEN_RENEWAL_METRICS.renewals, { statistic: sum, period: Duration.hours(1), label: 'tokens renewed' }),
              powertoolsMetric(REFRESHER_METRICS_NAMESPACE, REFRESHER_SERVICE_NAME, TOKEN_RENEWAL_METRICS.failures, { statistic: sum, period: Duration.hours(1), label: 'renewals failed' }),
            ],
            { width: 12 },
          ),
          graph(
            'Token lifetime left at renewal (seconds; near 0 means tokens almost expired before renewal)',
            [
              powertoolsMetric(REFRESHER_METRICS_NAMESPACE, REFRESHER_SERVICE_NAME, TOKEN_RENEWAL_METRICS.lifetimeLeftAtRenewal, {
                statistic: cloudwatch.Stats.MINIMUM,
                period: Duration.hours(1),
                label: 'least lifetime left',
              }),
              powertoolsMetric(REFRESHER_METRICS_NAMESPACE, REFRESHER_SERVICE_NAME, TOKEN_RENEWAL_METRICS.lifetimeLeftAtRenewal, {
                statistic: cloudwatch.Stats.AVERAGE,
                period: Duration.hours(1),
                label: 'average lifetime left',
              }),
            ],
            { width: 12, leftYAxis: { min: 0, showUnits: false } },
          ),
        ]
      : [];

    const keys = [
      new cloudwatch.LogQueryWidget({
        title: 'Keys: age, days to rotation and days to expiry per key (from the latest daily sweep; soonest rotation first)',
        logGroupNames: [sweep.function.logGroup.logGroupName],
        queryLines: [
          `filter message = ${quoted(messages.secretSwept)}`,
          'stats latest(provider) as platform, latest(fingerprint) as current_key, latest(ageDays) as key_age_days, latest(daysToRotation) as days_to_rotation, ' +
            'latest(daysToExpiry) as days_to_expiry, max(@timestamp) as last_swept by secret',
          'sort days_to_rotation asc',
        ],
        view: TABLE,
        width: 16,
        height: 8,
      }),
      graph(
        'Oldest key and nearest rotation and expiry, by platform (days)',
        [perPlatform(KEY_FIGURE_METRICS.age, 'Maximum', 'oldest key')],
        {
          right: [perPlatform(KEY_FIGURE_METRICS.toRotation, 'Minimum', 'nearest rotation'), perPlatform(KEY_FIGURE_METRICS.toExpiry, 'Minimum', 'nearest expiry')],
          leftYAxis: { label: 'key age', showUnits: false },
          rightYAxis: { label: 'days left', showUnits: false },
          height: 8,
        },
      ),
    ];

    const heartbeat = [
      graph(
        'Daily sweep heartbeat: completed runs and secrets checked per day',
        [powertoolsMetric(SWEEP_METRICS_NAMESPACE, SWEEP_SERVICE_NAME, SWEEP_HEARTBEAT_METRIC, { statistic: sum, period: daily, label: 'sweep runs completed' })],
        {
          right: [powertoolsMetric(SWEEP_METRICS_NAMESPACE, SWEEP_SERVICE_NAME, SWEEP_SECRETS_CHECKED_METRIC, { statistic: sum, period: daily, label: 'secrets checked' })],
          leftYAxis: { min: 0, showUnits: false },
          rightYAxis: { min: 0, showUnits: false },
          width: 12,
        },
      ),
      new cloudwatch.AlarmWidget({ title: 'Missed daily sweep (no completed run for a day and more)', alarm: sweep.missedSweepAlarm, width: 12, height: 6 }),
    ];

    const health = [
      graph(
        'Lambda errors, every keyrotor function',
        functions.map(({ label, fn }) => fn.function.metricErrors({ statistic: sum, period: Duration.minutes(5), label })),
      ),
      graph(
        'Dead-letter queues: messages waiting (each one is work that failed for good)',
        functions.flatMap(({ label, deadLetters }) =>
          deadLetters
            ? [deadLetters.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(5), label })]
            : [],
        ),
      ),
      logQuery(
        'Failed invocations by function and error',
        functions.map(({ fn }) => fn),
        [`filter message = ${quoted(messages.invocationFailed)}`, 'stats count(*) as failures by service, errorName', 'sort failures desc'],
        TABLE,
      ),
    ];

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? DEFAULT_DASHBOARD_NAME,
      defaultInterval: props.defaultInterval ?? DEFAULT_DASHBOARD_INTERVAL,
      widgets: [[intro], [alarmStatus], rotations, responses, ...(tokens.length > 0 ? [tokens] : []), keys, heartbeat, health],
    });
  }

  /** The text on top: what the dashboard is, and the runbooks (links when the repository's URL is known). */
  private introduction(props: KeyrotorDashboardProps): string {
    const runbooks: RunbookName[] = [RUNBOOKS.rotationFailed, RUNBOOKS.manualActionRequired, RUNBOOKS.keyRevokedExternally, RUNBOOKS.keyCompromised];
    if (props.tokenRefresher) runbooks.push(RUNBOOKS.tokenRefreshFailing);
    const links = runbooks.map((name) => {
      const url = runbookUrl(name, props.runbookBaseUrl);
      return url ? `[${name}](${url})` : `\`${runbookPath(name)}\``;
    });
    return [
      '# keyrotor: API key rotation',
      'keyrotor rotates the third-party API keys kept in Secrets Manager (`keyrotor/*` secrets): rotations, failures, revocations, compromise responses, alerts, ' +
        `${props.tokenRefresher ? 'token renewals, ' : ''}each key's age and expiry, and the daily sweep that checks them. Every alarm e-mails the alerts topic, and each alert says what to do.`,
      `**Runbooks** (in the keyrotor repository): ${links.join(' · ')}. Per key, \`npx keyrotor status\` and \`npx keyrotor history <secret>\` say more.`,
    ].join('\n\n');
  }
}
