import * as fs from 'node:fs';
import * as path from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { metricsPort } from '../../lambdas/adapters/powertools-metrics';
import { SECRET_SWEPT_MESSAGE } from '../../lambdas/core/sweep';
import {
  DASHBOARD_LOG_MESSAGES,
  DEFAULT_DASHBOARD_NAME,
  KEY_FIGURE_METRICS,
  REFRESHER_SERVICE_NAME,
  SWEEP_SECRETS_CHECKED_METRIC,
  TOKEN_RENEWAL_METRICS,
} from '../../lib/keyrotor-dashboard';
import type { KeyrotorFunction } from '../../lib/keyrotor-function';
import { KeyrotorStack } from '../../lib/keyrotor-stack';
import { captureProcessOutput } from '../support/capture-output';
import {
  awsSolutionsFindings,
  buildKeyrotorStack,
  fastApp,
  FIXTURE_COMPROMISE_HANDLER,
  FIXTURE_NOTIFY_HANDLER,
  FIXTURE_REFRESH_TOKENS_HANDLER,
  FIXTURE_REVOKE_HANDLER,
  FIXTURE_ROTATION_HANDLER,
  FIXTURE_SWEEP_HANDLER,
  propertiesOf,
  TEST_ENV,
  testConfig,
  tokenTestConfig,
} from './test-stack';

const ROOT = path.join(__dirname, '..', '..');
const RUNBOOK_BASE_URL = 'https://github.com/acme/keyrotor/blob/main';

/** A widget of the dashboard body, as CloudWatch reads it (tokens replaced by {@link placeholder}s). */
interface Widget {
  readonly type: 'text' | 'alarm' | 'metric' | 'log';
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly properties: {
    readonly title?: string;
    readonly markdown?: string;
    readonly alarms?: string[];
    readonly metrics?: unknown[][];
    readonly annotations?: { readonly alarms?: string[] };
    readonly query?: string;
    readonly view?: string;
  };
}

/** One series of a metric widget: a metric with its exact dimensions, or an expression. */
interface Series {
  readonly namespace?: string;
  readonly metricName?: string;
  readonly dimensions?: Record<string, string>;
  readonly expression?: string;
  readonly stat?: string;
  readonly label?: string;
}

/** A CloudFormation token as the text that stands for it in the rendered body: `{{Ref:Id}}`, `{{GetAtt:Id.Attr}}`. */
function placeholder(token: unknown): string {
  const value = token as Record<string, unknown>;
  if (typeof value.Ref === 'string') return `{{Ref:${value.Ref}}}`;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `{{GetAtt:${getAtt.join('.')}}}`;
  throw new Error(`unexpected token in the dashboard body: ${JSON.stringify(token)}`);
}

/** The dashboard's name and widgets: its body is a Fn::Join of JSON text and tokens, joined here with placeholders for the tokens. */
function renderDashboard(template: Template): { name: unknown; start: string; widgets: Widget[] } {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as { Properties: { DashboardName: unknown; DashboardBody: unknown } }[];
  expect(dashboards).toHaveLength(1);
  const { DashboardName, DashboardBody } = dashboards[0]!.Properties;
  const join = (DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = join[1].map((part) => (typeof part === 'string' ? part : placeholder(part))).join(join[0]);
  const body = JSON.parse(text) as { start: string; widgets: Widget[] };
  return { name: DashboardName, ...body };
}

/** How `token` (a resolved Ref or GetAtt of `stack`) appears in the rendered body. */
function inBody(stack: KeyrotorStack, token: unknown): string {
  return placeholder(stack.resolve(token));
}

function seriesOf(widget: Widget): Series[] {
  return (widget.properties.metrics ?? []).map((row) => {
    const options = (typeof row[row.length - 1] === 'object' ? row[row.length - 1] : {}) as { expression?: string; stat?: string; label?: string };
    if (options.expression !== undefined) return { expression: options.expression, label: options.label };
    const [namespace, metricName, ...rest] = row.filter((cell) => typeof cell === 'string') as string[];
    const dimensions: Record<string, string> = {};
    for (let i = 0; i + 1 < rest.length; i += 2) dimensions[rest[i]!] = rest[i + 1]!;
    return { namespace, metricName, dimensions, stat: options.stat ?? 'Average', label: options.label };
  });
}

/** The one widget whose title matches. */
function widget(widgets: Widget[], title: RegExp): Widget {
  const found = widgets.filter((w) => title.test(w.properties.title ?? ''));
  expect(found.map((w) => w.properties.title)).toHaveLength(1);
  return found[0]!;
}

/** The `SOURCE '<log group>'` names of a Logs Insights widget, and its query after them. */
function logQueryOf(w: Widget): { sources: string[]; query: string } {
  expect(w.type).toBe('log');
  const sources = [...(w.properties.query ?? '').matchAll(/SOURCE '([^']+)'/g)].map((match) => match[1]!);
  const query = (w.properties.query ?? '').replace(/^(SOURCE '[^']+' \| )+/, '');
  return { sources, query };
}

/** The function's `POWERTOOLS_SERVICE_NAME` and `POWERTOOLS_METRICS_NAMESPACE`, as deployed. */
function powertoolsOf(template: Template, fn: KeyrotorFunction): { service: string; namespace: string } {
  const { Variables } = propertiesOf(template, fn.function).Environment as { Variables: Record<string, string> };
  return { service: Variables.POWERTOOLS_SERVICE_NAME!, namespace: Variables.POWERTOOLS_METRICS_NAMESPACE! };
}

/** Every resource of `type` in the template, as it appears in the body (`{{Ref:Id}}`, or `{{GetAtt:Id.attribute}}`). */
function everyResource(template: Template, type: string, attribute?: string): string[] {
  return Object.keys(template.findResources(type)).map((id) => (attribute ? `{{GetAtt:${id}.${attribute}}}` : `{{Ref:${id}}}`));
}

/**
 * What Powertools actually publishes through keyrotor's metrics adapter, configured as the
 * function is deployed: `{namespace, metric, dimensions}` of each EMF record.
 */
function publishedMetrics(config: { service: string; namespace: string }, publish: (port: ReturnType<typeof metricsPort>) => void): Series[] {
  const output = captureProcessOutput();
  try {
    const metrics = new Metrics({ namespace: config.namespace, serviceName: config.service });
    publish(metricsPort(metrics));
    metrics.publishStoredMetrics();
  } finally {
    jest.restoreAllMocks();
  }
  const records = output
    .join('')
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } });
  return records.flatMap((record) =>
    record._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.flatMap((metric) =>
        directive.Dimensions.map((set) => ({
          namespace: directive.Namespace,
          metricName: metric.Name,
          dimensions: Object.fromEntries(set.map((name) => [name, String(record[name])])),
        })),
      ),
    ),
  );
}

function customMetrics(widgets: Widget[], namespace: string): Series[] {
  return widgets.flatMap(seriesOf).filter((series) => series.namespace === namespace);
}

function expectCdkNagClean(scope: IConstruct): void {
  expect(awsSolutionsFindings(scope)).toEqual([]);
}

describe('Construct: KeyrotorDashboard', () => {
  describe('in the stack without tokens', () => {
    let stack: KeyrotorStack;
    let template: Template;
    let widgets: Widget[];
    let dashboard: ReturnType<typeof renderDashboard>;

    beforeAll(() => {
      stack = buildKeyrotorStack(testConfig());
      template = Template.fromStack(stack);
      dashboard = renderDashboard(template);
      widgets = dashboard.widgets;
    });

    it('is one dashboard named keyrotor that opens on the last 30 days', () => {
      // Assess
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      expect(dashboard.name).toBe(DEFAULT_DASHBOARD_NAME);
      expect(DEFAULT_DASHBOARD_NAME).toBe('keyrotor');
      expect(dashboard.start).toBe('-P30D');
    });

    it('starts with a full-width text saying what it is and where the runbooks are (repository paths without a runbook base URL)', () => {
      // Assess
      const [first] = [...widgets].sort((a, b) => a.y - b.y || a.x - b.x);
      expect(first).toMatchObject({ type: 'text', x: 0, y: 0, width: 24 });
      const markdown = first!.properties.markdown ?? '';
      expect(markdown).toMatch(/^# keyrotor/);
      for (const runbook of ['rotation-failed', 'manual-action-required', 'key-revoked-externally', 'key-compromised']) {
        expect(markdown).toContain(`\`docs/runbooks/${runbook}.md\``);
        expect(fs.existsSync(path.join(ROOT, 'docs', 'runbooks', `${runbook}.md`))).toBe(true);
      }
      // No refresher, no token runbook.
      expect(markdown).not.toContain('token-refresh-failing');
      expect(markdown).not.toContain('https://');
    });

    it('shows the status of every alarm in the stack', () => {
      // Assess
      const alarms = widgets.filter((w) => w.type === 'alarm');
      expect(alarms).toHaveLength(1);
      expect(alarms[0]!.width).toBe(24);
      expect([...alarms[0]!.properties.alarms!].sort()).toEqual(everyResource(template, 'AWS::CloudWatch::Alarm', 'Arn').sort());
      expect(alarms[0]!.properties.alarms).toHaveLength(10);
    });

    it('counts keys rotated per day from the rotation function\'s promotion log line', () => {
      // Assess
      const { sources, query } = logQueryOf(widget(widgets, /^Keys rotated per day/));
      expect(sources).toEqual([inBody(stack, stack.rotationFunction.logGroup.logGroupName)]);
      // An inline literal in lambdas/core/rotation.ts (see DASHBOARD_LOG_MESSAGES).
      expect(DASHBOARD_LOG_MESSAGES.keyPromoted).toBe('finishSecret: new key is AWSCURRENT');
      expect(query).toBe(`filter message = 'finishSecret: new key is AWSCURRENT'\n| stats count(*) as rotations by bin(1d)`);
    });

    it('shows rotation failures: the rotation function\'s Errors, and its failed invocations by error name', () => {
      // Assess
      expect(seriesOf(widget(widgets, /^Rotation failures: failed rotation steps/))).toEqual([
        expect.objectContaining({ namespace: 'AWS/Lambda', metricName: 'Errors', dimensions: { FunctionName: inBody(stack, stack.rotationFunction.function.functionName) }, stat: 'Sum' }),
      ]);
      const { sources, query } = logQueryOf(widget(widgets, /^Rotation failures by error/));
      expect(sources).toEqual([inBody(stack, stack.rotationFunction.logGroup.logGroupName)]);
      // An inline literal in lambdas/handlers/middleware/report-errors.ts.
      expect(query).toContain(`filter message = 'invocation failed'`);
      expect(query).toContain('stats count(*) as failures by errorName');
    });

    it('shows revocations (the revoker\'s runs and errors), compromise responses and alerts sent, each from its own function', () => {
      // Assess
      const revoker = inBody(stack, stack.revocation.revoker.function.functionName);
      expect(seriesOf(widget(widgets, /^Revocations/))).toEqual([
        expect.objectContaining({ namespace: 'AWS/Lambda', metricName: 'Invocations', dimensions: { FunctionName: revoker }, stat: 'Sum' }),
        expect.objectContaining({ namespace: 'AWS/Lambda', metricName: 'Errors', dimensions: { FunctionName: revoker }, stat: 'Sum' }),
      ]);
      const compromise = logQueryOf(widget(widgets, /^Compromise responses/));
      expect(compromise.sources).toEqual([inBody(stack, stack.compromise.responder.logGroup.logGroupName)]);
      expect(compromise.query).toContain(`message = 'compromise response done' or message = 'compromise response incomplete'`);
      const alerts = logQueryOf(widget(widgets, /^Alerts sent/));
      expect(alerts.sources).toEqual([inBody(stack, stack.notifier.notifier.logGroup.logGroupName)]);
      expect(alerts.query).toContain(`filter message = 'alert sent'`);
      expect(alerts.query).toContain('by type, severity');
    });

    it('has no token widgets and no token metrics without a token refresher', () => {
      // Assess
      expect(widgets.filter((w) => /token/i.test(w.properties.title ?? ''))).toEqual([]);
      const metricNames = widgets.flatMap(seriesOf).map((series) => series.metricName ?? series.expression);
      for (const name of Object.values(TOKEN_RENEWAL_METRICS)) expect(metricNames).not.toContain(name);
      expect(JSON.stringify(widgets)).not.toContain(REFRESHER_SERVICE_NAME);
    });

    it('tabulates each key\'s latest age, days to rotation and days to expiry from the sweep\'s "secret swept" lines', () => {
      // Assess
      const { sources, query } = logQueryOf(widget(widgets, /^Keys: age, days to rotation and days to expiry per key/));
      expect(sources).toEqual([inBody(stack, stack.sweep.function.logGroup.logGroupName)]);
      expect(DASHBOARD_LOG_MESSAGES.secretSwept).toBe(SECRET_SWEPT_MESSAGE);
      expect(query.split('\n')[0]).toBe(`filter message = '${SECRET_SWEPT_MESSAGE}'`);
      for (const field of ['ageDays', 'daysToRotation', 'daysToExpiry', 'fingerprint', 'provider']) expect(query).toContain(`latest(${field})`);
      expect(query).toMatch(/ by secret\n/);
    });

    it('charts the sweep\'s per-platform key figures by searching exactly the dimension set they are published with', () => {
      // Prepare: what the sweep publishes, configured as deployed
      const sweep = powertoolsOf(template, stack.sweep.function);
      const published = publishedMetrics(sweep, (port) => {
        port.recordWithDimensions?.(KEY_FIGURE_METRICS.age, 10, { provider: 'thought-industries' });
        port.recordWithDimensions?.(KEY_FIGURE_METRICS.toRotation, 80, { provider: 'thought-industries' });
        port.recordWithDimensions?.(KEY_FIGURE_METRICS.toExpiry, 30, { provider: 'thought-industries' });
      });
      expect(published.map((series) => series.dimensions)).toEqual(Array(3).fill({ service: sweep.service, provider: 'thought-industries' }));

      // Assess: a SEARCH schema matches metrics with exactly the dimensions it names
      const schema = `{${sweep.namespace},${Object.keys(published[0]!.dimensions!).sort().join(',')}}`;
      expect(schema).toBe('{keyrotor,provider,service}');
      const expressions = seriesOf(widget(widgets, /by platform/)).map((series) => series.expression);
      expect(expressions).toEqual(
        [KEY_FIGURE_METRICS.age, KEY_FIGURE_METRICS.toRotation, KEY_FIGURE_METRICS.toExpiry].map((name) =>
          expect.stringContaining(`SEARCH('${schema} MetricName="${name}" service="${sweep.service}"'`),
        ),
      );
      expect(expressions.map((expression) => /'(Maximum|Minimum)', 86400\)$/.exec(expression ?? '')?.[1])).toEqual(['Maximum', 'Minimum', 'Minimum']);
    });

    it('shows the sweep heartbeat with exactly the dimensions it is published with, and the missed-sweep alarm', () => {
      // Prepare
      const sweep = powertoolsOf(template, stack.sweep.function);
      const published = publishedMetrics(sweep, (port) => {
        port.count('SweepCompleted');
        port.count(SWEEP_SECRETS_CHECKED_METRIC, 2);
      });

      // Assess
      const heartbeat = widget(widgets, /^Daily sweep heartbeat/);
      const series = seriesOf(heartbeat);
      expect(series.map(({ namespace, metricName, dimensions }) => ({ namespace, metricName, dimensions }))).toEqual(published);
      expect(series.map((s) => s.metricName)).toEqual(['SweepCompleted', SWEEP_SECRETS_CHECKED_METRIC]);
      expect(series.every((s) => s.stat === 'Sum')).toBe(true);
      // The alarm watches the same metric.
      expect(propertiesOf(template, stack.sweep.missedSweepAlarm)).toMatchObject({
        Namespace: published[0]!.namespace,
        MetricName: 'SweepCompleted',
        Dimensions: [{ Name: 'service', Value: sweep.service }],
      });
      const alarm = widget(widgets, /^Missed daily sweep/);
      expect(alarm.properties.annotations?.alarms).toEqual([inBody(stack, stack.sweep.missedSweepAlarm.alarmArn)]);
    });

    it('shows Lambda errors of every function and the depth of every dead-letter queue in the stack', () => {
      // Assess
      const errors = seriesOf(widget(widgets, /^Lambda errors/));
      expect(errors.every((s) => s.namespace === 'AWS/Lambda' && s.metricName === 'Errors' && s.stat === 'Sum')).toBe(true);
      expect(errors.map((s) => s.dimensions?.FunctionName).sort()).toEqual(everyResource(template, 'AWS::Lambda::Function').sort());
      const queues = seriesOf(widget(widgets, /^Dead-letter queues/));
      expect(queues.every((s) => s.namespace === 'AWS/SQS' && s.metricName === 'ApproximateNumberOfMessagesVisible' && s.stat === 'Maximum')).toBe(true);
      expect(queues.map((s) => s.dimensions?.QueueName).sort()).toEqual(everyResource(template, 'AWS::SQS::Queue', 'QueueName').sort());
      const failed = logQueryOf(widget(widgets, /^Failed invocations by function and error/));
      const functions = [stack.rotationFunction, stack.revocation.revoker, stack.compromise.responder, stack.notifier.notifier, stack.sweep.function];
      expect(failed.sources.sort()).toEqual(functions.map((fn) => inBody(stack, fn.logGroup.logGroupName)).sort());
      expect(failed.query).toContain(`filter message = 'invocation failed'`);
      expect(failed.query).toContain('by service, errorName');
    });

    it('raises no cdk-nag AwsSolutions findings', () => {
      // Assess
      expectCdkNagClean(stack);
    });
  });

  describe('in the stack with tokens and a runbook base URL', () => {
    let stack: KeyrotorStack;
    let template: Template;
    let widgets: Widget[];

    beforeAll(() => {
      stack = buildKeyrotorStack(tokenTestConfig({ alerts: { emails: ['secops@example.com'], runbookBaseUrl: RUNBOOK_BASE_URL } }));
      template = Template.fromStack(stack);
      widgets = renderDashboard(template).widgets;
    });

    it('links every runbook, the token one too', () => {
      // Assess
      const markdown = widgets.find((w) => w.type === 'text')?.properties.markdown ?? '';
      for (const runbook of ['rotation-failed', 'manual-action-required', 'key-revoked-externally', 'key-compromised', 'token-refresh-failing']) {
        expect(markdown).toContain(`(${RUNBOOK_BASE_URL}/docs/runbooks/${runbook}.md)`);
      }
    });

    it('charts token renewals, failures and lifetime left with exactly the namespace and dimensions the refresher publishes', () => {
      // Prepare: what the refresher publishes, configured as deployed
      const refresher = stack.tokenRefresher!.refresher;
      const deployed = powertoolsOf(template, refresher);
      expect(deployed.service).toBe(REFRESHER_SERVICE_NAME);
      const published = publishedMetrics(deployed, (port) => {
        port.count(TOKEN_RENEWAL_METRICS.renewals);
        port.count(TOKEN_RENEWAL_METRICS.failures);
        port.record(TOKEN_RENEWAL_METRICS.lifetimeLeftAtRenewal, 900, 'Seconds');
      });
      expect(published.map((series) => series.dimensions)).toEqual(Array(3).fill({ service: REFRESHER_SERVICE_NAME }));
      const expected = (name: string) => published.find((series) => series.metricName === name);

      // Assess
      const renewals = seriesOf(widget(widgets, /^Token renewals and failures/));
      expect(renewals).toEqual([
        expect.objectContaining({ ...expected(TOKEN_RENEWAL_METRICS.renewals), stat: 'Sum' }),
        expect.objectContaining({ ...expected(TOKEN_RENEWAL_METRICS.failures), stat: 'Sum' }),
      ]);
      const lifetime = seriesOf(widget(widgets, /^Token lifetime left at renewal/));
      expect(lifetime).toEqual([
        expect.objectContaining({ ...expected(TOKEN_RENEWAL_METRICS.lifetimeLeftAtRenewal), stat: 'Minimum' }),
        expect.objectContaining({ ...expected(TOKEN_RENEWAL_METRICS.lifetimeLeftAtRenewal), stat: 'Average' }),
      ]);
      expect(customMetrics(widgets, deployed.namespace).every((series) => series.dimensions?.service !== undefined)).toBe(true);
    });

    it('covers the refresher in the alarms, Lambda errors, dead-letter queues and failed invocations too', () => {
      // Assess
      const alarms = widgets.find((w) => w.type === 'alarm')!.properties.alarms!;
      expect([...alarms].sort()).toEqual(everyResource(template, 'AWS::CloudWatch::Alarm', 'Arn').sort());
      expect(alarms).toHaveLength(12);
      const refresher = stack.tokenRefresher!;
      expect(seriesOf(widget(widgets, /^Lambda errors/)).map((s) => s.dimensions?.FunctionName)).toContain(inBody(stack, refresher.refresher.function.functionName));
      expect(seriesOf(widget(widgets, /^Dead-letter queues/)).map((s) => s.dimensions?.QueueName)).toContain(inBody(stack, refresher.deadLetterQueue.queueName));
      expect(logQueryOf(widget(widgets, /^Failed invocations/)).sources).toContain(inBody(stack, refresher.refresher.logGroup.logGroupName));
    });

    it('raises no cdk-nag AwsSolutions findings', () => {
      // Assess
      expectCdkNagClean(stack);
    });
  });

  it('takes another name from the stack\'s dashboardName (names are unique per account, across regions)', () => {
    // Prepare
    const stack = new KeyrotorStack(fastApp(), 'Keyrotor', {
      config: testConfig(),
      env: TEST_ENV,
      dashboardName: 'keyrotor-eu-west-1',
      rotationHandlerEntry: FIXTURE_ROTATION_HANDLER,
      revokerHandlerEntry: FIXTURE_REVOKE_HANDLER,
      refreshTokensHandlerEntry: FIXTURE_REFRESH_TOKENS_HANDLER,
      notifyHandlerEntry: FIXTURE_NOTIFY_HANDLER,
      compromiseHandlerEntry: FIXTURE_COMPROMISE_HANDLER,
      sweepHandlerEntry: FIXTURE_SWEEP_HANDLER,
    });

    // Act
    const template = Template.fromStack(stack);

    // Assess
    expect(renderDashboard(template).name).toBe('keyrotor-eu-west-1');
    expect(template.findOutputs('DashboardUrl').DashboardUrl?.Value).toEqual({
      'Fn::Join': ['', ['https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/', stack.resolve(stack.dashboard.dashboard.dashboardName)]],
    });
  });

  describe('the code it reads', () => {
    /** The text of a source file of the repository. */
    const source = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

    it('matches log lines the code still writes (literals there, so a changed message must change the dashboard)', () => {
      // Assess
      expect(source('lambdas/core/rotation.ts')).toContain(`logger.info('${DASHBOARD_LOG_MESSAGES.keyPromoted}'`);
      expect(source('lambdas/handlers/middleware/report-errors.ts')).toContain(`logger.error('${DASHBOARD_LOG_MESSAGES.invocationFailed}'`);
      expect(source('lambdas/core/notify.ts')).toContain(`logger.info('${DASHBOARD_LOG_MESSAGES.alertSent}'`);
      expect(source('lambdas/core/compromise.ts')).toContain(`logger.warn('${DASHBOARD_LOG_MESSAGES.compromiseResponseDone}'`);
      expect(source('lambdas/core/compromise.ts')).toContain(`logger.error('${DASHBOARD_LOG_MESSAGES.compromiseResponseIncomplete}'`);
      expect(source('lambdas/core/sweep.ts')).toContain('logger.info(SECRET_SWEPT_MESSAGE,');
    });

    it('charts metric names the code still publishes', () => {
      // Assess
      const refresh = source('lambdas/core/token-refresh.ts');
      expect(refresh).toContain(`count('${TOKEN_RENEWAL_METRICS.renewals}')`);
      expect(refresh).toContain(`count('${TOKEN_RENEWAL_METRICS.failures}')`);
      expect(refresh).toContain(`record('${TOKEN_RENEWAL_METRICS.lifetimeLeftAtRenewal}'`);
      const sweep = source('lambdas/core/sweep.ts');
      expect(sweep).toContain(`count('${SWEEP_SECRETS_CHECKED_METRIC}'`);
      for (const name of Object.values(KEY_FIGURE_METRICS)) expect(sweep).toContain(`record('${name}'`);
    });
  });
});
