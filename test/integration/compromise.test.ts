import { fingerprintTagValue } from '../../lambdas/core/fingerprint';
import { SecretsManagerInventory } from '../../lambdas/adapters/secrets-manager-inventory';
import { randomUUID } from 'node:crypto';
import { DescribeSecretCommand, GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListSchedulesCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import type { CliDeps } from '../../bin/cli/commands';
import { createLogger, loggerPort } from '../../lambdas/adapters/logger';
import type { DynamoDbLedger } from '../../lambdas/adapters/dynamodb-ledger';
import { TAG } from '../../lambdas/core/contracts';
import { createCompromiseHandler } from '../../lambdas/handlers/compromise';
import { ImburseProvider } from '../../lambdas/providers/imburse';
import { createProviderRegistry } from '../../lambdas/providers/registry';
import { runCli } from '../support/cli-harness';
import { captureProcessOutput } from '../support/capture-output';
import { CapturingEvents } from '../support/fakes/capturing-events';
import { tiTags } from '../support/fixtures';
import { describeWithMoto } from '../support/moto-server';
import { startImburseSandbox, type ImburseSandbox } from '../support/sandboxes/imburse-sandbox';
import { makeThoughtIndustriesKey, startThoughtIndustriesSandbox, type ThoughtIndustriesSandbox } from '../support/sandboxes/thought-industries-sandbox';
import { createManagedImburseSecret, createManagedSecret, LAMBDA_CONTEXT, type MotoRotationService } from '../support/service/moto-rotation-service';
import { useRotationWorld } from '../support/service/rotation-world';

const HOUR = 3_600_000;

/**
 * The compromise response with the real handlers, CLI and AWS SDK against moto_server
 * (Secrets Manager, the DynamoDB ledger, EventBridge Scheduler) and the platforms' sandboxes over
 * real HTTP: an API-revoked platform (Imburse, reported by an event on the bus) and a
 * person-revoked one (Thought Industries, reported with `keyrotor compromised`).
 */
describeWithMoto('Integration: compromise response (moto_server + platform sandboxes)', () => {
  const world = useRotationWorld();
  let imburse: ImburseSandbox;
  let ti: ThoughtIndustriesSandbox;
  let sm: SecretsManagerClient;
  let scheduler: SchedulerClient;
  let ledger: DynamoDbLedger;
  let service: MotoRotationService;
  let events: CapturingEvents;
  let output: string[];
  const providers = () => createProviderRegistry({ sleep: async () => undefined, baseBackoffMs: 1 });

  beforeEach(async () => {
    ({ sm, scheduler, ledger, service } = world);
    [imburse, ti] = await Promise.all([startImburseSandbox(), startThoughtIndustriesSandbox()]);
    output = captureProcessOutput();
    events = new CapturingEvents();
    service.handler = world.rotateHandler({ providers: providers(), now: () => new Date(), gracePeriodMs: 24 * HOUR, events });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all([imburse?.close(), ti?.close()]);
  });

  const tags = async (arn: string) => Object.fromEntries(((await sm.send(new DescribeSecretCommand({ SecretId: arn }))).Tags ?? []).map((t) => [t.Key, t.Value]));
  const current = async (arn: string) => JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }))).SecretString as string) as Record<string, string>;

  it('Imburse, reported on the bus: a new key is current and the leaked one answers 401 at once, with no revocation left waiting', async () => {
    // Prepare
    const { arn, original, value } = await createManagedImburseSecret(sm, imburse);
    const logger = createLogger('keyrotor-compromise');
    const respond = createCompromiseHandler({ store: service, providers: providers(), ledger, logger: loggerPort(logger), now: () => new Date(), newToken: randomUUID, events }, logger);
    // Act: a security tool puts the report on keyrotor's bus; EventBridge invokes the responder
    const outcome = await respond({ version: '0', id: randomUUID(), source: 'security.scanner', 'detail-type': 'KeyCompromised', detail: { secret: arn, reason: 'found in a public repository' } }, LAMBDA_CONTEXT);
    // Assess: replaced and revoked, by the platform's own account of it
    expect(service.failures).toEqual([]);
    expect(outcome).toMatchObject({ stage: 'AWSCURRENT', revocation: 'revoked-on-promotion' });
    const promoted = await current(arn);
    expect(promoted.publicKey).not.toBe(original.publicKey);
    const target = { baseUrl: imburse.baseUrl, environment: 'sandbox' as const };
    await expect(new ImburseProvider().verify(promoted as never, target)).resolves.toBeDefined();
    await expect(new ImburseProvider().verify(value as never, target)).rejects.toMatchObject({ name: 'ProviderAuthError' });
    expect(imburse.keys().map((k) => k.publicKey)).toEqual([promoted.publicKey]);
    expect((await scheduler.send(new ListSchedulesCommand({ GroupName: 'keyrotor' }))).Schedules ?? []).toEqual([]);
    expect((await tags(arn))[TAG.compromised]).toBeUndefined();
    expect((await ledger.history(arn)).map((e) => e.state)).toEqual(['compromised', 'intent', 'stored-pending', 'tested', 'promoted', 'revoked']);
    expect(events.types()).toEqual(expect.arrayContaining(['KeyCompromised', 'KeyRevoked']));
    const everything = output.join('') + JSON.stringify(events.events) + JSON.stringify(await ledger.history(arn));
    for (const secret of [original.privateKey, promoted.privateKey]) expect(everything).not.toContain(secret);
  });

  it('Thought Industries, reported with keyrotor compromised: the person removes the key and submits a new one; promotion confirms and clears the mark', async () => {
    // Prepare
    const leaked = makeThoughtIndustriesKey('production');
    ti.addKey(leaked);
    const arn = await createManagedSecret(
      sm,
      `keyrotor/acme-prod-${randomUUID().slice(0, 8)}`,
      JSON.stringify({ provider: 'thought-industries', environment: 'production', baseUrl: ti.baseUrl, apiKey: leaked }),
      tiTags('production', ti.baseUrl),
    );
    const deps: CliDeps = { store: () => service, ledger: () => ledger, inventory: () => new SecretsManagerInventory(sm), events: () => events, providers: providers(), propagation: { attempts: 3, initialDelayMs: 1, sleep: async () => undefined }, now: () => new Date() };
    // Act 1: the report
    const reported = await runCli(['compromised', arn, '--reason', 'laptop stolen', '--json'], '', deps);
    // Assess 1: nothing at the platform (it has no revocation API), the mark is set, the steps are printed
    expect(reported.status).toBe(0);
    const outcome = JSON.parse(reported.out) as { fingerprint: string; revocation: string; action: string };
    expect(outcome.revocation).toBe('person-must-remove');
    expect(outcome.action).toMatch(/Remove the compromised key now/);
    // Tag values cannot hold … or #: the fingerprint is stored in its tag-safe form.
    expect((await tags(arn))[TAG.compromised]).toBe(fingerprintTagValue(outcome.fingerprint));
    // Act 2: the person removes the key in the admin panel, creates a new one and hands it over
    ti.revokeKey(leaked);
    const replacement = makeThoughtIndustriesKey('production');
    ti.addKey(replacement);
    const submitted = await runCli(['submit', arn, '--json'], `${replacement}\n`, deps);
    // Assess 2
    expect(submitted.status).toBe(0);
    expect(service.failures).toEqual([]);
    expect((await current(arn)).apiKey).toBe(replacement);
    expect((await tags(arn))[TAG.compromised]).toBeUndefined();
    const reminder = events.events.find((e) => e.type === 'ManualActionRequired' && e.detail.step === 'finishSecret');
    expect(reminder?.detail).toMatchObject({ severity: 'CRITICAL', fingerprint: outcome.fingerprint });
    expect((await ledger.history(arn)).map((e) => e.state)).toEqual(expect.arrayContaining(['compromised', 'stored-pending', 'tested', 'promoted']));
    const everything = output.join('') + reported.out + reported.err + submitted.out + submitted.err + JSON.stringify(events.events);
    for (const secret of [leaked, replacement]) expect(everything).not.toContain(secret);
  });
});
