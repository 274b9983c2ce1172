import { randomUUID } from 'node:crypto';
import { DescribeSecretCommand, GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteScheduleCommand, GetScheduleCommand, ListSchedulesCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { createLogger, loggerPort } from '../../lambdas/adapters/logger';
import type { DynamoDbLedger } from '../../lambdas/adapters/dynamodb-ledger';
import { TAG } from '../../lambdas/core/contracts';
import { createRevokeHandler } from '../../lambdas/handlers/revoke';
import { createProviderRegistry } from '../../lambdas/providers/registry';
import { BossInsightsProvider } from '../../lambdas/providers/boss-insights';
import { ImburseProvider } from '../../lambdas/providers/imburse';
import type { Provider } from '../../lambdas/ports/provider';
import { captureProcessOutput } from '../support/capture-output';
import { describeWithMoto } from '../support/moto-server';
import { startImburseSandbox, type ImburseSandbox } from '../support/sandboxes/imburse-sandbox';
import { startBossInsightsSandbox, type BossInsightsSandbox } from '../support/sandboxes/boss-insights-sandbox';
import { createManagedImburseSecret, createManagedSecret, LAMBDA_CONTEXT, type MotoRotationService, type RotationHandler } from '../support/service/moto-rotation-service';
import { useRotationWorld, WORLD } from '../support/service/rotation-world';

const HOUR = 3_600_000;
const REVOKER_ARN = WORLD.revokerArn;

/**
 * Fully automatic rotations (no person involved) with the real handlers and the real AWS SDK
 * against moto_server (Secrets Manager, DynamoDB ledger, EventBridge Scheduler) and the
 * platforms' sandboxes over real HTTP. moto's Scheduler accepts schedules but never fires
 * them, so the test plays Scheduler: after the simulated grace period it invokes the revoker
 * with the schedule's own input and deletes the schedule, as ActionAfterCompletion DELETE does.
 */
describeWithMoto('Integration: automatic rotation (Imburse, Boss Insights) with ledger and deferred revocation', () => {
  const world = useRotationWorld();
  let imburse: ImburseSandbox;
  let boss: BossInsightsSandbox;
  let sm: SecretsManagerClient;
  let scheduler: SchedulerClient;
  let ledger: DynamoDbLedger;
  let service: MotoRotationService;
  let revoke: RotationHandler;
  let output: string[];
  let clock: Date;
  let providerOverride: ((provider: Provider) => Provider) | undefined;

  beforeEach(async () => {
    ({ sm, scheduler, ledger, service } = world);
    // Fresh platforms per test, so key counts speak of this test alone.
    [imburse, boss] = await Promise.all([startImburseSandbox(), startBossInsightsSandbox()]);
    output = captureProcessOutput();
    clock = new Date();
    providerOverride = undefined;
    const registry = createProviderRegistry({ sleep: async () => undefined, baseBackoffMs: 1 });
    const providers = { get: (id: Parameters<typeof registry.get>[0]) => (providerOverride ?? ((p: Provider) => p))(registry.get(id)) };
    service.handler = world.rotateHandler({ providers, now: () => clock, gracePeriodMs: 24 * HOUR });
    const revokeLogger = createLogger('keyrotor-revoke');
    revoke = createRevokeHandler({ store: service, providers, ledger, logger: loggerPort(revokeLogger), now: () => clock }, revokeLogger) as unknown as RotationHandler;
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all([imburse?.close(), boss?.close()]);
  });

  async function current(arn: string): Promise<Record<string, string>> {
    const out = await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }));
    return JSON.parse(out.SecretString as string) as Record<string, string>;
  }

  /** Plays EventBridge Scheduler: fires every keyrotor schedule due by `clock` with its own input, then deletes it. */
  async function fireDueSchedules(): Promise<unknown[]> {
    const results: unknown[] = [];
    const listed = await scheduler.send(new ListSchedulesCommand({ GroupName: 'keyrotor' }));
    for (const summary of listed.Schedules ?? []) {
      const schedule = await scheduler.send(new GetScheduleCommand({ GroupName: 'keyrotor', Name: summary.Name }));
      const at = Date.parse(`${/^at\((.*)\)$/.exec(schedule.ScheduleExpression ?? '')?.[1]}Z`);
      if (at > clock.getTime()) continue;
      expect(schedule.Target?.Arn).toBe(REVOKER_ARN);
      results.push(await revoke(JSON.parse(schedule.Target?.Input ?? '{}'), LAMBDA_CONTEXT).catch((e: unknown) => e));
      await scheduler.send(new DeleteScheduleCommand({ GroupName: 'keyrotor', Name: summary.Name }));
    }
    return results;
  }

  const imburseSecret = () => createManagedImburseSecret(sm, imburse);

  it('Imburse: exactly one AWSCURRENT that verifies, the old key revoked after the grace period, no orphan, a ledger that tells it', async () => {
    // Prepare
    const { arn, original } = await imburseSecret();
    // Act: the schedule fires
    const { token, ok } = await service.scheduledRotation(arn);
    // Assess: promoted, and the new key works
    expect(service.failures).toEqual([]);
    expect(ok).toBe(true);
    const promoted = await current(arn);
    expect(promoted.publicKey).not.toBe(original.publicKey);
    await expect(new ImburseProvider().verify(promoted as never, { baseUrl: imburse.baseUrl, environment: 'sandbox' })).resolves.toBeDefined();
    const stages = (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
    expect(Object.values(stages).filter((s) => s.includes('AWSCURRENT'))).toHaveLength(1);
    expect(imburse.keys().map((k) => k.publicKey).sort()).toEqual([original.publicKey, promoted.publicKey].sort());
    expect(imburse.keys().find((k) => k.publicKey === promoted.publicKey)?.name).toContain(token);
    // Nothing is revoked before the grace period
    clock = new Date(clock.getTime() + 23 * HOUR);
    expect(await fireDueSchedules()).toEqual([]);
    expect(imburse.keys()).toHaveLength(2);
    // Act: the grace period passes
    clock = new Date(clock.getTime() + 2 * HOUR);
    expect(await fireDueSchedules()).toEqual([{ outcome: 'revoked' }]);
    // Assess
    expect(imburse.keys().map((k) => k.publicKey)).toEqual([promoted.publicKey]);
    const oldValue = { provider: 'imburse', environment: 'sandbox', baseUrl: imburse.baseUrl, tenantId: imburse.tenantId, ...original };
    await expect(new ImburseProvider().verify(oldValue as never, { baseUrl: imburse.baseUrl, environment: 'sandbox' })).rejects.toMatchObject({ name: 'ProviderAuthError' });
    expect((await scheduler.send(new ListSchedulesCommand({ GroupName: 'keyrotor' }))).Schedules ?? []).toEqual([]);
    expect((await ledger.history(arn)).map((e) => e.state)).toEqual(['intent', 'stored-pending', 'tested', 'promoted', 'revocation-scheduled', 'revoked']);
    // No key material anywhere in the logs
    const logs = output.join('');
    expect(logs).toContain('old key revoked');
    for (const secret of [original.privateKey, promoted.privateKey]) expect(logs).not.toContain(secret);
  });

  it('Boss Insights: the new key keeps the old scopes, the old one is inactivated after the grace period', async () => {
    // Prepare
    const original = boss.addKey({ scopes: ['admin', 'reports:read'], name: 'initial' });
    const arn = await createManagedSecret(
      sm,
      `keyrotor/boss-${randomUUID().slice(0, 8)}`,
      JSON.stringify({ provider: 'boss-insights', environment: 'production', baseUrl: boss.baseUrl, apiKey: original.key, accountKey: boss.accountKey, providerKeyId: original.id }),
      { [TAG.provider]: 'boss-insights', [TAG.environment]: 'production', [TAG.kind]: 'api-key', [TAG.baseUrl]: boss.baseUrl },
    );
    // Act
    const { ok } = await service.scheduledRotation(arn);
    clock = new Date(clock.getTime() + 25 * HOUR);
    const fired = await fireDueSchedules();
    // Assess
    expect(service.failures).toEqual([]);
    expect(ok).toBe(true);
    expect(fired).toEqual([{ outcome: 'revoked' }]);
    const promoted = await current(arn);
    const keys = boss.keys();
    expect(keys.find((k) => k.id === promoted.providerKeyId)).toMatchObject({ active: true, scopes: ['admin', 'reports:read'] });
    expect(keys.find((k) => k.id === original.id)).toMatchObject({ active: false });
    expect(keys.filter((k) => k.active)).toHaveLength(1);
    await expect(new BossInsightsProvider().verify(promoted as never, { baseUrl: boss.baseUrl, environment: 'production' })).resolves.toBeDefined();
    expect(output.join('')).not.toContain(promoted.apiKey);
  });

  it('a crash between create and store: the retry revokes the orphan, one working current key, the ledger tells the story', async () => {
    // Prepare: the first createSecret dies right after the platform created the key
    const { arn, original } = await imburseSecret();
    let crashes = 1;
    const issueThenCrash = (provider: Provider) => async (request: Parameters<NonNullable<Provider['issueKey']>>[0]) => {
      const issued = await provider.issueKey!.call(provider, request);
      if (crashes-- > 0) throw new Error('Runtime exited with error: signal: killed');
      return issued;
    };
    // A proxy, not a spread: the provider's methods live on its class and use private fields.
    providerOverride = (provider) =>
      new Proxy(provider, {
        get: (target, property) => {
          if (property === 'issueKey') return issueThenCrash(target);
          const value = Reflect.get(target, property) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const token = randomUUID();
    service.openPendingVersion(arn, token);
    await expect(service.runStep(arn, token, 'createSecret')).rejects.toThrow('signal: killed');
    expect(imburse.keys()).toHaveLength(2); // the orphan exists
    // Act: Secrets Manager retries the rotation
    const retried = await service.runSteps(arn, token);
    expect(service.failures.map((e) => `${(e as Error).name}: ${(e as Error).message}`)).toEqual([]);
    expect(retried).toBe(true);
    // Assess
    const promoted = await current(arn);
    expect(imburse.keys().map((k) => k.publicKey).sort()).toEqual([original.publicKey, promoted.publicKey].sort());
    expect((await ledger.history(arn)).map((e) => e.state)).toEqual([
      'intent',
      'intent',
      'orphan-revoked',
      'stored-pending',
      'tested',
      'promoted',
      'revocation-scheduled',
    ]);
    clock = new Date(clock.getTime() + 25 * HOUR);
    await fireDueSchedules();
    expect(imburse.keys().map((k) => k.publicKey)).toEqual([promoted.publicKey]);
  });

  it('a store that fails after the platform created the key: compensated, current key untouched, the retry succeeds', async () => {
    const { arn, original } = await imburseSecret();
    const token = randomUUID();
    service.openPendingVersion(arn, token);
    const realPut = service.putPendingValue.bind(service);
    let failures = 1;
    service.putPendingValue = async (id, version, value) => {
      if (failures-- > 0) throw Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalServiceError' });
      return realPut(id, version, value);
    };
    await expect(service.runStep(arn, token, 'createSecret')).rejects.toMatchObject({ name: 'StoreFailedError' });
    expect(imburse.keys().map((k) => k.publicKey)).toEqual([original.publicKey]);
    expect((await current(arn)).publicKey).toBe(original.publicKey);
    expect(await service.runSteps(arn, token)).toBe(true);
    expect((await ledger.history(arn)).map((e) => e.state).slice(0, 3)).toEqual(['intent', 'compensated', 'intent']);
  });
});
