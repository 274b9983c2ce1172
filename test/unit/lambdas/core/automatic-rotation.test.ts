import { runRotationStep, apiKeyNameFor, type RotationDeps } from '../../../../lambdas/core/rotation';
import { revokeOldKey, parseRevocationRequest } from '../../../../lambdas/core/revocation';
import { ConcurrentRotationError, ManualActionRequiredError, SecretStateError, StoreFailedError } from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { TAG } from '../../../../lambdas/core/contracts';
import { FakeAwsError, InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { InMemoryLedger, InMemoryRevocationScheduler } from '../../../support/fakes/in-memory-ledger';
import { FakeApiPlatform, unavailable } from '../../../support/fakes/fake-api-provider';
import { captureLogger, NO_WAIT } from '../../../support/fixtures';
import { CapturingEvents } from '../../../support/fakes/capturing-events';

const BASE = 'https://sandbox-api.imburse.net';
const TAGS = { [TAG.provider]: 'imburse', [TAG.environment]: 'sandbox', [TAG.kind]: 'api-key', [TAG.baseUrl]: BASE };
const HOUR = 3_600_000;

describe('Automatic rotation (API-issued keys): createSecret → finishSecret → deferred revocation', () => {
  let store: InMemorySecretStore;
  let platform: FakeApiPlatform;
  let ledger: InMemoryLedger;
  let revocations: InMemoryRevocationScheduler;
  let clock: Date;
  let deps: RotationDeps;
  let capture: ReturnType<typeof captureLogger>;
  let events: CapturingEvents;
  let arn: string;
  let original: { publicKey: string; privateKey: string };

  const value = (key: { publicKey: string; privateKey: string }) =>
    JSON.stringify({ provider: 'imburse', environment: 'sandbox', baseUrl: BASE, tenantId: 'tenant-1', ...key });
  const step = (Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret', token: string) =>
    runRotationStep({ SecretId: arn, ClientRequestToken: token, Step }, deps);
  const current = () => JSON.parse(store.valueAt(arn, 'AWSCURRENT') as string) as { publicKey: string; privateKey: string };
  const revokeDue = async () => {
    for (const request of revocations.due(clock)) await revokeOldKey(parseRevocationRequest(JSON.parse(JSON.stringify(request))), { ...deps, logger: capture.logger });
  };

  beforeEach(() => {
    clearRegisteredSecrets();
    store = new InMemorySecretStore();
    platform = new FakeApiPlatform();
    ledger = new InMemoryLedger();
    revocations = new InMemoryRevocationScheduler();
    clock = new Date('2026-11-23T10:00:00Z');
    capture = captureLogger();
    events = new CapturingEvents();
    deps = { store, providers: platform.registry(), logger: capture.logger, propagation: NO_WAIT, now: () => clock, ledger, revocations, gracePeriodMs: 24 * HOUR, events };
    store.rotationFunction = (event) => runRotationStep(event, deps);
    original = platform.addKey('original');
    arn = store.create('keyrotor/imburse-sandbox', { value: value(original), tags: TAGS });
  });

  it('rotates with no person involved: one working AWSCURRENT, the old key revoked after the grace period, no orphan', async () => {
    // Act
    const token = await store.scheduledRotation(arn);
    // Assess: promoted, old key still alive during the grace period
    expect(store.rotationFailures).toEqual([]);
    const promoted = current();
    expect(promoted.publicKey).not.toBe(original.publicKey);
    expect(platform.keys.get(promoted.publicKey)?.name).toBe(apiKeyNameFor('keyrotor/imburse-sandbox', token));
    expect(platform.activeKeys()).toHaveLength(2);
    const scheduled = [...revocations.schedules.values()];
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]?.at.toISOString()).toBe('2026-11-24T10:00:00.000Z');
    expect(scheduled[0]?.request).toMatchObject({ secretArn: arn, token, providerKeyId: original.publicKey });
    // Act: the grace period passes and the schedule fires
    clock = new Date('2026-11-24T10:00:01Z');
    await revokeDue();
    // Assess
    expect(platform.activeKeys().map((k) => k.publicKey)).toEqual([promoted.publicKey]);
    expect(ledger.states(token)).toEqual(['intent', 'stored-pending', 'tested', 'promoted', 'revocation-scheduled', 'revoked']);
    expect(events.types()).toEqual(['RotationStarted', 'RotationSucceeded', 'KeyRevoked']);
    expect(events.events[2]?.detail).toMatchObject({ step: 'revoke', rotation: token, severity: 'INFO' });
    expect(JSON.stringify(ledger.events)).not.toContain(promoted.privateKey);
    expect(capture.text()).not.toContain(promoted.privateKey);
    expect(capture.text()).not.toContain(original.privateKey);
  });

  it('treats a retried createSecret as a no-op: no second key', async () => {
    const token = store.openPendingVersion(arn);
    await expect(step('createSecret', token)).resolves.toBe('issued');
    await expect(step('createSecret', token)).resolves.toBe('pending-exists');
    expect(platform.calls.filter((c) => c === 'issue')).toHaveLength(1);
    expect(platform.activeKeys()).toHaveLength(2);
  });

  it('after a crash between create and store, the retry revokes the orphan and starts clean', async () => {
    // Prepare: the platform creates the key, then the Lambda dies before storing it
    const token = store.openPendingVersion(arn);
    const provider = platform.provider();
    const realIssue = provider.issueKey!.bind(provider);
    let crash = true;
    deps = {
      ...deps,
      providers: {
        get: () =>
          ({
            ...provider,
            issueKey: async (request: Parameters<typeof realIssue>[0]) => {
              const issued = await realIssue(request);
              if (crash) {
                crash = false;
                throw new Error('Runtime exited: the Lambda was killed');
              }
              return issued;
            },
          }) as never,
      },
    };
    await expect(step('createSecret', token)).rejects.toThrow('Runtime exited');
    const orphan = platform.activeKeys().find((k) => k.publicKey !== original.publicKey)!;
    expect(store.stagesOf(arn)[token]).toEqual(['AWSPENDING']); // nothing stored
    // Act: Secrets Manager retries the step
    await expect(step('createSecret', token)).resolves.toBe('issued');
    for (const s of ['setSecret', 'testSecret', 'finishSecret'] as const) await step(s, token);
    // Assess: the orphan is revoked, exactly one new key is current
    expect(platform.keys.get(orphan.publicKey)?.active).toBe(false);
    expect(current().publicKey).not.toBe(orphan.publicKey);
    expect(platform.activeKeys().map((k) => k.publicKey).sort()).toEqual([original.publicKey, current().publicKey].sort());
    expect(ledger.states(token)).toEqual(['intent', 'intent', 'orphan-revoked', 'stored-pending', 'tested', 'promoted', 'revocation-scheduled']);
  });

  it('revokes the new key again when storing it fails (compensation), leaving the current key untouched', async () => {
    const token = store.openPendingVersion(arn);
    store.failNext.set('PutSecretValue', new FakeAwsError('InternalServiceError', 'try later'));
    const error = (await step('createSecret', token).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(StoreFailedError);
    expect(error.message).toMatch(/could not be stored as AWSPENDING \(InternalServiceError\); it has been revoked again/);
    expect(platform.activeKeys().map((k) => k.publicKey)).toEqual([original.publicKey]);
    expect(current().publicKey).toBe(original.publicKey);
    expect(ledger.states(token)).toEqual(['intent', 'compensated']);
    // The retry succeeds with a fresh key
    await expect(step('createSecret', token)).resolves.toBe('issued');
    expect(platform.activeKeys()).toHaveLength(2);
  });

  it('when compensation itself fails, the next attempt finds the orphan by name', async () => {
    const token = store.openPendingVersion(arn);
    store.failNext.set('PutSecretValue', new FakeAwsError('InternalServiceError', 'try later'));
    platform.failNext.set('revoke', unavailable());
    await expect(step('createSecret', token)).rejects.toThrow(StoreFailedError);
    expect(platform.activeKeys()).toHaveLength(2); // the unstored key is still alive
    await expect(step('createSecret', token)).resolves.toBe('issued');
    expect(platform.activeKeys()).toHaveLength(2); // orphan revoked, new one pending
    expect(ledger.states(token)).toContain('orphan-revoked');
  });

  it('stops without creating a key when another attempt claimed the rotation', async () => {
    const token = store.openPendingVersion(arn);
    ledger.raceNextClaim = true;
    await expect(step('createSecret', token)).rejects.toThrow(ConcurrentRotationError);
    expect(platform.calls).not.toContain('issue');
  });

  it('does not create a key when the intent cannot be recorded (ledger down)', async () => {
    const token = store.openPendingVersion(arn);
    ledger.down = true;
    await expect(step('createSecret', token)).rejects.toThrow('Service unavailable');
    expect(platform.calls).not.toContain('issue');
  });

  it('the revoker refuses a key that is still AWSCURRENT (promotion failed after scheduling)', async () => {
    // Prepare: createSecret and testSecret succeed, the promotion fails after the revocation was scheduled
    const token = store.openPendingVersion(arn);
    await step('createSecret', token);
    await step('testSecret', token);
    store.failNext.set('UpdateSecretVersionStage', new FakeAwsError('InternalServiceError', 'try later'));
    await expect(step('finishSecret', token)).rejects.toThrow('try later');
    expect(revocations.schedules.size).toBe(1);
    // Act: the schedule fires
    clock = new Date('2026-11-25T00:00:00Z');
    const request = revocations.due(clock)[0]!;
    const error = await revokeOldKey(request, deps).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(SecretStateError);
    expect((error as Error).message).toMatch(/refusing to revoke key .* it is still AWSCURRENT/);
    expect(platform.keys.get(original.publicKey)?.active).toBe(true);
    expect(ledger.states(token)).toContain('revocation-refused');
    expect(events.events.at(-1)).toMatchObject({ type: 'RotationFailed', detail: { step: 'revoke', errorName: 'SecretStateError' } });
  });

  it('schedules the revocation once when finishSecret is retried', async () => {
    const token = store.openPendingVersion(arn);
    for (const s of ['createSecret', 'setSecret', 'testSecret', 'finishSecret', 'finishSecret'] as const) await step(s, token);
    expect(revocations.schedules.size).toBe(1);
  });

  it('asks a person for the first key of a secret that holds none (nothing to authenticate with)', async () => {
    arn = store.create('keyrotor/fresh', { value: '{"keyrotor":"awaiting-first-key","bootstrap":"x"}', tags: TAGS });
    const token = store.openPendingVersion(arn);
    await expect(step('createSecret', token)).rejects.toThrow(ManualActionRequiredError);
    await expect(step('createSecret', token)).rejects.toThrow(/holds no working key yet/);
  });

  it('rejects a malformed revocation request naming the fields', () => {
    expect(() => parseRevocationRequest({ secretArn: 'a' })).toThrow(/token: .*versionId: .*providerKeyId: /);
  });
});
