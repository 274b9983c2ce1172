import { useEnvironment } from '../../../support/environment';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createLogger, loggerPort } from '../../../../lambdas/adapters/logger';
import { metricsPort } from '../../../../lambdas/adapters/powertools-metrics';
import { BOOTSTRAP_SECRET_MARKER, TAG } from '../../../../lambdas/core/contracts';
import { Pacer } from '../../../../lambdas/core/pacing';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { DEFAULT_SWEEP_POLICY } from '../../../../lambdas/core/sweep';
import { readSweepEnvironment } from '../../../../lambdas/handlers/config';
import { createSweepHandler, handler, type SweepHandlerDeps } from '../../../../lambdas/handlers/sweep';
import { createProviderRegistry } from '../../../../lambdas/providers/registry';
import type { SweepContinuationRequest } from '../../../../lambdas/ports/sweep-continuation';
import { captureProcessOutput } from '../../../support/capture-output';
import { CapturingEvents } from '../../../support/fakes/capturing-events';
import { InMemoryLedger, InMemoryRevocationScheduler } from '../../../support/fakes/in-memory-ledger';
import { InMemorySecretInventory } from '../../../support/fakes/in-memory-secret-inventory';
import { InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { stubThoughtIndustries } from '../../../support/fakes/platform-fetch';
import { TI_LIVE_OLD, tiTags, tiValue } from '../../../support/fixtures';

const NOW = new Date('2026-11-23T06:00:00Z');

function contextWith(remainingMs: number): Context {
  return {
    functionName: 'keyrotor-sweep',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:keyrotor-sweep',
    memoryLimitInMB: '256',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/keyrotor-sweep',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  } as unknown as Context;
}

/** JSON lines the process wrote (Powertools logs and EMF metrics). */
function jsonLines(output: string[]): Record<string, unknown>[] {
  return output
    .join('')
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('Handler: sweep', () => {
  let output: string[];
  let store: InMemorySecretStore;
  let inventory: InMemorySecretInventory;
  let continuations: SweepContinuationRequest[];
  let events: CapturingEvents;

  beforeEach(() => {
    clearRegisteredSecrets();
    output = captureProcessOutput();
    store = new InMemorySecretStore();
    store.clock = () => NOW;
    inventory = new InMemorySecretInventory(store, 1);
    continuations = [];
    events = new CapturingEvents();
  });

  afterEach(() => jest.restoreAllMocks());

  function build(metrics?: Metrics) {
    const logger = createLogger('keyrotor-sweep');
    const platform = stubThoughtIndustries([TI_LIVE_OLD]);
    const deps: SweepHandlerDeps = {
      inventory,
      store,
      providers: createProviderRegistry({ fetch: platform.fetch, sleep: async () => undefined }),
      ledger: new InMemoryLedger(),
      revocations: new InMemoryRevocationScheduler(),
      events,
      metrics: metrics ? metricsPort(metrics) : { count() {}, record() {} },
      logger: loggerPort(logger),
      // One page per batch, so a page boundary is a continuation point in these small listings.
      policy: { ...DEFAULT_SWEEP_POLICY, pagesPerBatch: 1 },
      now: () => NOW,
      pacer: new Pacer({ now: () => 0, sleep: async () => undefined }),
      continuation: () => ({ continueWith: async (request) => void continuations.push(request) }),
    };
    return { handler: createSweepHandler(deps, logger, metrics), platform };
  }

  it('rejects a malformed event with a ValidationError naming the field, logged once, before listing anything', async () => {
    // Prepare
    const { handler: sweepHandler } = build();

    // Act & Assess
    await expect(sweepHandler({ cursor: 42 }, contextWith(900_000))).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringMatching(/^sweep event is invalid: cursor: /) });
    expect(inventory.calls).toEqual([]);
    const failures = jsonLines(output).filter((line) => line.message === 'invocation failed');
    expect(failures).toEqual([expect.objectContaining({ level: 'ERROR', errorName: 'ValidationError', expected: true })]);
  });

  it('sweeps from the schedule\'s {} and returns the report; every log line carries the run id and no key', async () => {
    // Prepare
    store.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
    const { handler: sweepHandler, platform } = build();

    // Act
    const report = await sweepHandler({}, contextWith(900_000));

    // Assess
    expect(report).toMatchObject({ status: 'complete', pages: 1, secrets: 1, outcomes: expect.objectContaining({ healthy: 1 }) });
    expect(platform.calls).toHaveLength(1);
    const lines = jsonLines(output);
    expect(lines.find((line) => line.message === 'sweep complete')).toMatchObject({ runId: report.runId, service: 'keyrotor-sweep' });
    expect(lines.every((line) => line.runId === report.runId)).toBe(true);
    expect(output.join('')).not.toContain(TI_LIVE_OLD);
  });

  it('continues with the cursor in a new invocation when the remaining time is short, keeping the run id', async () => {
    // Prepare: one secret per page; 2 minutes left (less than the 3-minute margin)
    store.create('keyrotor/a', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
    store.create('keyrotor/b', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
    const { handler: sweepHandler } = build();

    // Act
    const report = await sweepHandler({ runId: 'run-7' }, contextWith(120_000));

    // Assess
    // One secret is always swept; under the margin no second is started, so the next batch goes on
    expect(report).toMatchObject({ status: 'continued', runId: 'run-7', cursor: 'page-1', skip: 0, secrets: 1 });
    expect(continuations).toEqual([{ cursor: 'page-1', skip: 0, runId: 'run-7' }]);
  });

  it('publishes the heartbeat and per-provider key metrics as EMF when the run completes', async () => {
    // Prepare
    store.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD), tags: tiTags(), rotationIntervalDays: 90 });
    const metrics = new Metrics({ namespace: 'keyrotor', serviceName: 'keyrotor-sweep' });
    const { handler: sweepHandler } = build(metrics);

    // Act
    await sweepHandler({}, contextWith(900_000));

    // Assess
    const emf = jsonLines(output).filter((line) => line._aws !== undefined);
    const heartbeat = emf.find((line) => line.SweepCompleted !== undefined);
    expect(heartbeat).toMatchObject({ SweepCompleted: 1, service: 'keyrotor-sweep' });
    const age = emf.find((line) => line.KeyAgeDays !== undefined);
    expect(age).toMatchObject({ KeyAgeDays: 0, provider: 'thought-industries', service: 'keyrotor-sweep' });
    expect(emf.find((line) => line.DaysToRotation !== undefined)).toMatchObject({ DaysToRotation: 90, provider: 'thought-industries' });
  });
});

describe('Handler: sweep (composition root)', () => {
  const sm = mockClient(SecretsManagerClient);
  const eventBridge = mockClient(EventBridgeClient);
  const lambda = mockClient(LambdaClient);
  const ENVIRONMENT = {
    KEYROTOR_LEDGER_TABLE: 'keyrotor-ledger',
    KEYROTOR_EVENT_BUS: 'keyrotor-test-bus',
    KEYROTOR_REVOKER_ARN: 'arn:aws:lambda:eu-west-1:123456789012:function:keyrotor-revoke',
    KEYROTOR_SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/keyrotor-scheduler',
    KEYROTOR_SCHEDULE_GROUP: 'keyrotor',
    KEYROTOR_REVOCATION_DLQ_ARN: 'arn:aws:sqs:eu-west-1:123456789012:keyrotor-revocations-dlq',
    KEYROTOR_GRACE_PERIOD_HOURS: '24',
    KEYROTOR_SWEEP_WARNING_DAYS: '14,7,3,1',
    KEYROTOR_SWEEP_STUCK_AFTER_HOURS: '24',
    KEYROTOR_SWEEP_CONCURRENCY: '4',
  };
  useEnvironment(ENVIRONMENT);
  beforeEach(() => {
    sm.reset();
    eventBridge.reset();
    lambda.reset();
    clearRegisteredSecrets();
    captureProcessOutput();
  });
  afterEach(() => jest.restoreAllMocks());

  it('reads its settings from the environment and refuses a malformed one naming the variable', () => {
    // Assess
    expect(readSweepEnvironment(ENVIRONMENT)).toMatchObject({ KEYROTOR_SWEEP_WARNING_DAYS: [14, 7, 3, 1], KEYROTOR_SWEEP_STUCK_AFTER_HOURS: 24, KEYROTOR_SWEEP_CONCURRENCY: 4, KEYROTOR_GRACE_PERIOD_HOURS: 24 });
    expect(() => readSweepEnvironment({ ...ENVIRONMENT, KEYROTOR_SWEEP_WARNING_DAYS: '1,3,7' })).toThrow(/KEYROTOR_SWEEP_WARNING_DAYS: must be 1 to 10 whole numbers/);
    expect(() => readSweepEnvironment({ ...ENVIRONMENT, KEYROTOR_SWEEP_CONCURRENCY: '0' })).toThrow(/KEYROTOR_SWEEP_CONCURRENCY/);
  });

  it('lists by tag, publishes on the bus named by KEYROTOR_EVENT_BUS, and invokes itself with the next cursor when time is short', async () => {
    // Prepare: a page with a secret awaiting its first key, and another page after it
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyrotor/acme-prod-AbCdEf';
    // Two pages, one secret each: the deployed sweep lists them as one batch
    const listed = { ARN: arn, Name: 'keyrotor/acme-prod', RotationEnabled: true, SecretVersionsToStages: { v1: ['AWSCURRENT'] }, Tags: Object.entries(tiTags()).map(([Key, Value]) => ({ Key, Value })) };
    sm.on(ListSecretsCommand).resolvesOnce({ SecretList: [listed], NextToken: 'page-2-token' }).resolves({ SecretList: [{ ...listed, Name: 'keyrotor/acme-prod-2' }] });
    sm.on(GetSecretValueCommand, { SecretId: arn, VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify({ ...BOOTSTRAP_SECRET_MARKER, bootstrap: 'RandomFillerRandomFiller' }) });
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });

    // Act
    const report = await handler({}, contextWith(60_000));

    // Assess
    expect(sm).toHaveReceivedCommandWith(ListSecretsCommand, { Filters: [{ Key: 'tag-key', Values: [TAG.kind] }, { Key: 'tag-value', Values: ['api-key'] }], MaxResults: 100 });
    // A minute left (under the 3-minute margin): one secret is swept, the other goes to a continuation
    expect(report).toMatchObject({ status: 'continued', pages: 2, skip: 1, outcomes: expect.objectContaining({ bootstrap: 1 }) });
    const entry = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({ EventBusName: 'keyrotor-test-bus', Source: 'keyrotor', DetailType: 'ManualActionRequired' });
    const invoke = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(invoke).toMatchObject({ FunctionName: 'keyrotor-sweep', InvocationType: 'Event' });
    expect(JSON.parse(new TextDecoder().decode(invoke?.Payload as Uint8Array))).toEqual({ skip: 1, runId: report.runId });
  });
});
