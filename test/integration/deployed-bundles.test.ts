import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetScheduleCommand, ListSchedulesCommand } from '@aws-sdk/client-scheduler';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Metafile } from 'esbuild';
import { EventBridgePublisher } from '../../lambdas/adapters/eventbridge-publisher';
import { ImburseProvider } from '../../lambdas/providers/imburse';
import { createProviderRegistry } from '../../lambdas/providers/registry';
import { startBundledHandler, type BundledHandler, type BundledHandlerError } from '../support/bundled-handler';
import { captureProcessOutput } from '../support/capture-output';
import { bundleAsDeployed, entryOutput } from '../support/deployed-bundle';
import { describeWithMoto } from '../support/moto-server';
import { startImburseSandbox, type ImburseSandbox } from '../support/sandboxes/imburse-sandbox';
import { createManagedImburseSecret } from '../support/service/moto-rotation-service';
import { useRotationWorld, WORLD } from '../support/service/rotation-world';

const ROOT = path.resolve(__dirname, '..', '..');
const HANDLERS = ['rotate', 'revoke', 'refresh-tokens', 'notify', 'compromise', 'sweep'] as const;
const BUS = 'keyrotor';
const LEDGER = WORLD.ledgerTable;
const GROUP = WORLD.scheduleGroup;
const REVOKER_ARN = WORLD.revokerArn;
/** 0.72 s: long enough to see the schedule, short enough to wait out. */
const GRACE_PERIOD_HOURS = 0.0002;

/**
 * The Lambdas as they are deployed: each handler bundled as KEYROTOR_BUNDLING has NodejsFunction
 * bundle it (the AWS SDK inside, ES module builds first), then run in its own `node` from a
 * folder without node_modules, with only its deployed environment, against moto_server and a
 * platform sandbox. The other tests run the same source through jest's transform and the SDK
 * from node_modules; these prove the artifacts themselves work (nothing left out by tree-shaking,
 * no package missing at runtime, the bundled clients sign and parse real calls).
 */
describeWithMoto('Integration: the deployed bundles', () => {
  const world = useRotationWorld();
  let outDir: string;
  let imburse: ImburseSandbox;
  let eventBridge: EventBridgeClient;
  let sqs: SQSClient;
  const metafiles = new Map<string, Metafile>();
  const running: BundledHandler[] = [];
  const bundleOf = (name: string): string => path.join(outDir, name, 'index.js');

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'keyrotor-bundles-'));
    for (const name of HANDLERS) metafiles.set(name, await bundleAsDeployed(path.join(ROOT, 'lambdas/handlers', `${name}.ts`), bundleOf(name)));
    eventBridge = new EventBridgeClient(world.moto.clientConfig);
    sqs = new SQSClient(world.moto.clientConfig);
  }, 120_000);

  afterAll(() => {
    for (const client of [eventBridge, sqs]) client?.destroy();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(running.splice(0).map((handler) => handler.stop()));
    await imburse?.close();
  });

  it.each(HANDLERS)('%s: the bundle carries the AWS SDK and loads in a fresh node with no node_modules in reach', (name) => {
    // Prepare: what the bundle still imports at runtime, by esbuild's own account
    const metafile = metafiles.get(name);
    const output = metafile && entryOutput(metafile);
    const externals = [...new Set((output?.imports ?? []).filter((i) => i.external).map((i) => i.path))];
    // Act
    const loaded = spawnSync(process.execPath, ['-e', `process.stdout.write(typeof require(${JSON.stringify(bundleOf(name))}).handler)`], {
      cwd: outDir,
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '--enable-source-maps', AWS_REGION: 'eu-west-1' },
      encoding: 'utf8',
    });
    // Assess
    expect(loaded.stderr.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?trace-warnings[^\n]*\n/g, '')).toBe('');
    expect(loaded.stdout).toBe('function');
    expect(externals.length).toBeGreaterThan(0);
    expect(externals.filter((i) => !i.startsWith('node:') && !builtinModules.includes(i))).toEqual([]);
    expect(Object.keys(output?.inputs ?? {}).some((input) => /node_modules\/@aws-sdk\/client-[a-z-]+\/dist-es\//.test(input))).toBe(true);
  });

  it('a bundle deployed without its environment fails naming each missing variable, with a stack that names keyrotor source files (the source map works)', async () => {
    // Prepare
    const rotate = await startBundledHandler(bundleOf('rotate'), outDir, { AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'keyrotor-rotate', POWERTOOLS_SERVICE_NAME: 'keyrotor-rotate' });
    running.push(rotate);
    // Act
    const failure = await rotate.invoke({ SecretId: 'keyrotor/acme-prod', ClientRequestToken: 'tok-1', Step: 'createSecret' }).catch((error: unknown) => error);
    // Assess
    expect(failure).toMatchObject({ errorType: 'ConfigError', message: expect.stringContaining('KEYROTOR_LEDGER_TABLE') });
    expect((failure as BundledHandlerError).message).toContain('KEYROTOR_GRACE_PERIOD_HOURS');
    expect((failure as BundledHandlerError).childStack).toMatch(/lambdas\/handlers\/config\.ts:\d+:\d+/);
    expect(rotate.output()).toContain('"errorName":"ConfigError"');
  });

  it('rotate and revoke: the bundles test, promote, schedule the revocation and revoke an Imburse key, with their events on the bus', async () => {
    // Prepare: keyrotor's bus in moto (the world made the ledger table and the schedule group), a
    // rule copying the bus to a queue, a managed Imburse secret
    const { sm, scheduler, ledger, service } = world;
    imburse = await startImburseSandbox();
    await eventBridge.send(new CreateEventBusCommand({ Name: BUS }));
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'keyrotor-events' }))).QueueUrl as string;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    await eventBridge.send(new PutRuleCommand({ Name: 'all', EventBusName: BUS, EventPattern: JSON.stringify({ source: ['keyrotor'] }) }));
    await eventBridge.send(new PutTargetsCommand({ Rule: 'all', EventBusName: BUS, Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }] }));
    const { arn, original } = await createManagedImburseSecret(sm, imburse);
    // moto cannot hold the empty AWSPENDING version RotateSecret opens, so createSecret runs in
    // this process over the overlay that plays the service (test/support/service); once the
    // pending key is stored, moto holds everything the later steps read.
    service.handler = world.rotateHandler({
      providers: createProviderRegistry({ sleep: async () => undefined, baseBackoffMs: 1 }),
      now: () => new Date(),
      gracePeriodMs: 1,
      events: new EventBridgePublisher(BUS, eventBridge),
    });
    const token = randomUUID();
    service.openPendingVersion(arn, token);
    captureProcessOutput();
    await service.runStep(arn, token, 'createSecret');
    const aws = { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: world.moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };
    const powertools = { POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_METRICS_NAMESPACE: 'keyrotor' };
    const rotate = await startBundledHandler(bundleOf('rotate'), outDir, {
      ...aws,
      ...powertools,
      AWS_LAMBDA_FUNCTION_NAME: 'keyrotor-rotate',
      POWERTOOLS_SERVICE_NAME: 'keyrotor-rotate',
      KEYROTOR_LEDGER_TABLE: LEDGER,
      KEYROTOR_EVENT_BUS: BUS,
      KEYROTOR_REVOKER_ARN: REVOKER_ARN,
      KEYROTOR_SCHEDULER_ROLE_ARN: WORLD.schedulerRoleArn,
      KEYROTOR_SCHEDULE_GROUP: GROUP,
      KEYROTOR_REVOCATION_DLQ_ARN: WORLD.revocationDeadLetterArn,
      KEYROTOR_GRACE_PERIOD_HOURS: String(GRACE_PERIOD_HOURS),
    });
    const revoke = await startBundledHandler(bundleOf('revoke'), outDir, {
      ...aws,
      ...powertools,
      AWS_LAMBDA_FUNCTION_NAME: 'keyrotor-revoke',
      POWERTOOLS_SERVICE_NAME: 'keyrotor-revoke',
      KEYROTOR_LEDGER_TABLE: LEDGER,
      KEYROTOR_EVENT_BUS: BUS,
    });
    running.push(rotate, revoke);

    // Act: the service invokes the deployed rotation function for the other three steps
    for (const Step of ['setSecret', 'testSecret', 'finishSecret']) await rotate.invoke({ SecretId: arn, ClientRequestToken: token, Step });
    const [summary] = (await scheduler.send(new ListSchedulesCommand({ GroupName: GROUP }))).Schedules ?? [];
    const schedule = await scheduler.send(new GetScheduleCommand({ GroupName: GROUP, Name: summary?.Name }));
    // ...and Scheduler fires the revocation once the grace period is over
    await new Promise((resolve) => setTimeout(resolve, GRACE_PERIOD_HOURS * 3_600_000 + 300));
    const revoked = await revoke.invoke(JSON.parse(schedule.Target?.Input ?? '{}'));

    // Assess: one working AWSCURRENT, the old key gone from the platform, the whole story in the ledger
    const stages = (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
    expect(stages[token]).toContain('AWSCURRENT');
    const promoted = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }))).SecretString as string) as { publicKey: string; privateKey: string };
    await expect(new ImburseProvider().verify(promoted as never, { baseUrl: imburse.baseUrl, environment: 'sandbox' })).resolves.toBeDefined();
    expect(schedule.Target?.Arn).toBe(REVOKER_ARN);
    expect(revoked).toEqual({ outcome: 'revoked' });
    expect(imburse.keys().map((k) => k.publicKey)).toEqual([promoted.publicKey]);
    expect((await ledger.history(arn)).map((e) => e.state)).toEqual(['intent', 'stored-pending', 'tested', 'promoted', 'revocation-scheduled', 'revoked']);
    const delivered: string[] = [];
    for (;;) {
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!Messages || Messages.length === 0) break;
      delivered.push(...Messages.map((m) => (JSON.parse(m.Body as string) as { 'detail-type': string })['detail-type']));
    }
    // RotationStarted came from createSecret (in this process), the rest from the bundles
    expect(delivered.sort()).toEqual(['KeyRevoked', 'RotationStarted', 'RotationSucceeded']);
    // The bundles' own log lines: the steps logged, source-mapped, with no key material and no error
    const logs = rotate.output() + revoke.output();
    expect(logs).toContain('rotation step complete');
    expect(logs).toContain('old key revoked');
    expect(logs).not.toContain('"level":"ERROR"');
    for (const secret of [original.privateKey, promoted.privateKey]) expect(logs).not.toContain(secret);
  }, 60_000);
});
