import { fingerprintTagValue } from '../../../../lambdas/core/fingerprint';
import { randomUUID } from 'node:crypto';
import { parseCompromiseEvent, respondToCompromise, type CompromiseDeps } from '../../../../lambdas/core/compromise';
import { TAG } from '../../../../lambdas/core/contracts';
import { CompromiseResponseError, SecretStateError, ValidationError } from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { runRotationStep, type RotationDeps } from '../../../../lambdas/core/rotation';
import { createProviderRegistry } from '../../../../lambdas/providers/registry';
import { CapturingEvents } from '../../../support/fakes/capturing-events';
import { FakeApiPlatform, unavailable } from '../../../support/fakes/fake-api-provider';
import { InMemoryLedger, InMemoryRevocationScheduler } from '../../../support/fakes/in-memory-ledger';
import { FakeAwsError, InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { captureLogger, NO_WAIT, TI_LIVE_NEW, TI_LIVE_OLD, tiTags, tiValue } from '../../../support/fixtures';

const IMBURSE = 'https://sandbox-api.imburse.net';
const IMBURSE_TAGS = { [TAG.provider]: 'imburse', [TAG.environment]: 'sandbox', [TAG.kind]: 'api-key', [TAG.baseUrl]: IMBURSE };
const HOUR = 3_600_000;

describe('Compromise response', () => {
  let store: InMemorySecretStore;
  let ledger: InMemoryLedger;
  let revocations: InMemoryRevocationScheduler;
  let events: CapturingEvents;
  let capture: ReturnType<typeof captureLogger>;
  let clock: Date;

  beforeEach(() => {
    clearRegisteredSecrets();
    store = new InMemorySecretStore();
    ledger = new InMemoryLedger();
    revocations = new InMemoryRevocationScheduler();
    events = new CapturingEvents();
    capture = captureLogger();
    clock = new Date('2026-11-23T10:00:00Z');
  });

  /** Everything a person, a log reader or a security tool could see. */
  const everythingCaptured = () => [capture.text(), JSON.stringify(events.events), JSON.stringify(ledger.events)].join('\n');

  describe('on a platform whose keys keyrotor creates and revokes by API', () => {
    let platform: FakeApiPlatform;
    let original: { publicKey: string; privateKey: string };
    let arn: string;
    let rotationDeps: RotationDeps;
    let deps: CompromiseDeps;
    const value = (key: { publicKey: string; privateKey: string }) =>
      JSON.stringify({ provider: 'imburse', environment: 'sandbox', baseUrl: IMBURSE, tenantId: 'tenant-1', ...key });
    const current = () => JSON.parse(store.valueAt(arn, 'AWSCURRENT') as string) as { publicKey: string; privateKey: string };

    beforeEach(() => {
      platform = new FakeApiPlatform();
      original = platform.addKey('original');
      arn = store.create('keyrotor/imburse-sandbox', { value: value(original), tags: IMBURSE_TAGS });
      rotationDeps = { store, providers: platform.registry(), logger: capture.logger, propagation: NO_WAIT, now: () => clock, ledger, revocations, gracePeriodMs: 24 * HOUR, events };
      store.rotationFunction = (event) => runRotationStep(event, rotationDeps);
      deps = { store, providers: platform.registry(), ledger, logger: capture.logger, now: () => clock, newToken: randomUUID, events };
    });

    it('starts a rotation at once and revokes the compromised key the moment its replacement is AWSCURRENT (no grace period)', async () => {
      // Act
      const outcome = await respondToCompromise({ secretId: 'keyrotor/imburse-sandbox', reason: 'key pasted in a public gist', reportedBy: 'keyrotor compromised' }, deps);
      // Assess: a new key is current, the compromised one is dead, nothing waits for a grace period
      expect(store.rotationFailures).toEqual([]);
      expect(outcome).toMatchObject({ secretName: 'keyrotor/imburse-sandbox', revocation: 'revoked-on-promotion', rotation: expect.any(String) });
      expect(current().publicKey).not.toBe(original.publicKey);
      expect(platform.keys.get(original.publicKey)?.active).toBe(false);
      expect(platform.activeKeys().map((k) => k.publicKey)).toEqual([current().publicKey]);
      expect(revocations.schedules.size).toBe(0);
      // The tag did its work and is gone
      expect((await store.describe(arn)).tags[TAG.compromised]).toBeUndefined();
      // The ledger tells the story
      expect(ledger.states(outcome.rotation)).toEqual(['compromised', 'intent', 'stored-pending', 'tested', 'promoted', 'revoked']);
      expect(ledger.events.find((e) => e.state === 'revoked')?.detail).toMatch(/compromise: revoked on promotion, no grace period \(revoked\)/);
      expect(ledger.events.find((e) => e.state === 'compromised')).toMatchObject({ actor: 'compromise (keyrotor compromised)', detail: 'AWSCURRENT key reported by keyrotor compromised: key pasted in a public gist' });
      // The bus: a CRITICAL KeyCompromised saying what was done, and the revocation
      const compromised = events.events.find((e) => e.type === 'KeyCompromised');
      expect(compromised?.detail).toMatchObject({ severity: 'CRITICAL', step: 'compromise-response', rotation: outcome.rotation, fingerprint: outcome.fingerprint });
      expect(compromised?.detail.done).toMatch(/Started rotation .*revokes the compromised one the moment the new key is AWSCURRENT/);
      expect(compromised?.detail.action).toMatch(/npx keyrotor history keyrotor\/imburse-sandbox/);
      expect(events.events.find((e) => e.type === 'KeyRevoked')?.detail).toMatchObject({ step: 'finishSecret', fingerprint: outcome.fingerprint, severity: 'WARNING' });
      expect(everythingCaptured()).not.toContain(original.privateKey);
      expect(everythingCaptured()).not.toContain(current().privateKey);
    });

    it('a report while a rotation is open re-drives that rotation: one new key, not two', async () => {
      // Prepare: the service opened a rotation (AWSPENDING, no value yet) whose first attempt failed
      const token = store.openPendingVersion(arn);
      // Act
      const outcome = await respondToCompromise({ secretId: arn, reportedBy: 'security-hub' }, deps);
      // Assess
      expect(outcome).toMatchObject({ rotation: token, stage: 'AWSCURRENT', revocation: 'revoked-on-promotion' });
      expect(platform.calls.filter((c) => c === 'issue')).toHaveLength(1);
      expect(platform.activeKeys().map((k) => k.publicKey)).toEqual([current().publicKey]);
      expect(events.events.find((e) => e.type === 'KeyCompromised')?.detail.done).toMatch(/Re-drove the rotation already in progress/);
    });

    it('a redelivered report naming the fingerprint, after the key was replaced and revoked, rotates nothing again', async () => {
      const first = await respondToCompromise({ secretId: arn, reportedBy: 'security-hub' }, deps);
      const replacement = current().publicKey;
      // Act: EventBridge delivers the same report again
      const again = await respondToCompromise({ secretId: arn, reportedBy: 'security-hub', fingerprint: first.fingerprint }, deps);
      // Assess: the report now names the AWSPREVIOUS key, already revoked; the replacement is untouched
      expect(again).toMatchObject({ stage: 'AWSPREVIOUS', revocation: 'already-revoked', fingerprint: first.fingerprint });
      expect(again.rotation).toBeUndefined();
      expect(platform.calls.filter((c) => c === 'issue')).toHaveLength(1);
      expect(current().publicKey).toBe(replacement);
      expect(platform.activeKeys().map((k) => k.publicKey)).toEqual([replacement]);
      await expect(respondToCompromise({ secretId: arn, reportedBy: 'x', fingerprint: '…nope#00000000' }, deps)).rejects.toThrow(SecretStateError);
    });

    it('a leaked AWSPREVIOUS key still inside its grace period is revoked at once, with no rotation', async () => {
      // Prepare: an ordinary rotation; the old key waits 24 h for its revocation
      await store.scheduledRotation(arn);
      const oldFingerprint = (await respondToCompromise({ secretId: arn, reportedBy: 'x', fingerprint: 'nope' }, deps).catch((e: Error) => e.message)) as string;
      expect(oldFingerprint).toMatch(/AWSPREVIOUS key …/);
      const previousFingerprint = /AWSPREVIOUS key (\S+)\./.exec(oldFingerprint)?.[1] as string;
      const issued = platform.calls.filter((c) => c === 'issue').length;
      // Act
      const outcome = await respondToCompromise({ secretId: arn, reportedBy: 'keyrotor compromised', fingerprint: previousFingerprint }, deps);
      // Assess
      expect(outcome).toMatchObject({ stage: 'AWSPREVIOUS', revocation: 'revoked-now', fingerprint: previousFingerprint });
      expect(outcome.rotation).toBeUndefined();
      expect(platform.keys.get(original.publicKey)?.active).toBe(false);
      expect(platform.calls.filter((c) => c === 'issue')).toHaveLength(issued);
      expect((await store.describe(arn)).tags[TAG.compromised]).toBeUndefined();
      expect(events.events.find((e) => e.type === 'KeyRevoked' && e.detail.step === 'compromise-response')?.detail.severity).toBe('WARNING');
      expect(ledger.events.find((e) => e.detail === 'compromise: revoked while AWSPREVIOUS (revoked)')).toBeDefined();
    });

    it('with revokeNow, revokes the AWSCURRENT key at once, explicitly, and starts no rotation it could no longer authenticate', async () => {
      const outcome = await respondToCompromise({ secretId: arn, reportedBy: 'keyrotor compromised', revokeNow: true }, deps);
      expect(outcome.revocation).toBe('revoked-now');
      expect(outcome.rotation).toBeUndefined();
      expect(platform.keys.get(original.publicKey)?.active).toBe(false);
      expect(current().publicKey).toBe(original.publicKey); // still AWSCURRENT, and now dead: a person hands over a key
      expect(platform.calls).not.toContain('issue');
      expect(outcome.action).toMatch(/Create a new key and hand it over \(applications are failing until you do\)/);
      expect(ledger.events.find((e) => e.state === 'revoked')?.detail).toBe('compromise: revoked while AWSCURRENT (revoked)');
      expect(events.events.find((e) => e.type === 'KeyRevoked')?.detail).toMatchObject({ severity: 'CRITICAL', step: 'compromise-response' });
    });

    it('when the immediate revocation on promotion fails, the revoker takes over in a minute and people are told it still works', async () => {
      platform.failNext.set('revoke', unavailable());
      const outcome = await respondToCompromise({ secretId: arn, reportedBy: 'keyrotor compromised' }, deps);
      // The rotation finished: the new key is current
      expect(store.rotationFailures).toEqual([]);
      expect(current().publicKey).not.toBe(original.publicKey);
      const scheduled = [...revocations.schedules.values()];
      expect(scheduled).toHaveLength(1);
      expect(scheduled[0]?.at.toISOString()).toBe('2026-11-23T10:01:00.000Z');
      expect(scheduled[0]?.request).toMatchObject({ providerKeyId: original.publicKey, fingerprint: outcome.fingerprint });
      const failed = events.events.find((e) => e.type === 'RotationFailed');
      expect(failed?.detail).toMatchObject({ severity: 'CRITICAL', step: 'revoke', errorName: 'ProviderUnavailableError' });
      expect(failed?.detail.summary).toMatch(/could not be revoked on promotion; it still works/);
    });

    it('when the rotation cannot be started, says so in the CRITICAL event and fails with a typed error', async () => {
      store.failNext.set('RotateSecret', new FakeAwsError('LimitExceededException', 'Rate exceeded'));
      await expect(respondToCompromise({ secretId: arn, reportedBy: 'keyrotor compromised' }, deps)).rejects.toThrow(CompromiseResponseError);
      const compromised = events.events.find((e) => e.type === 'KeyCompromised');
      expect(compromised?.detail).toMatchObject({ severity: 'CRITICAL', errorName: 'CompromiseResponseError' });
      expect(compromised?.detail.done).toMatch(/Failed: could not start the rotation \(LimitExceededException\)/);
      expect(compromised?.detail.action).toMatch(/aws secretsmanager rotate-secret --secret-id keyrotor\/imburse-sandbox/);
      // The tag stays: whichever rotation replaces the key next revokes it at once
      expect((await store.describe(arn)).tags[TAG.compromised]).toBe(fingerprintTagValue(compromised?.detail.fingerprint ?? ''));
      expect(platform.keys.get(original.publicKey)?.active).toBe(true);
    });
  });

  describe('on a platform where a person creates and removes keys (Thought Industries)', () => {
    let arn: string;
    let deps: CompromiseDeps;

    beforeEach(() => {
      arn = store.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
      deps = { store, providers: createProviderRegistry(), ledger, logger: capture.logger, now: () => clock, newToken: randomUUID, events };
    });

    it('tells people to remove the key now and hand over a new one; the platform is not called', async () => {
      const fetchSpy = jest.spyOn(globalThis, 'fetch');
      const outcome = await respondToCompromise({ secretId: 'keyrotor/acme-prod', reason: `leaked: ${TI_LIVE_OLD}`, reportedBy: 'keyrotor compromised' }, deps);
      expect(fetchSpy).not.toHaveBeenCalled();
      fetchSpy.mockRestore();
      expect(outcome.revocation).toBe('person-must-remove');
      expect(outcome.rotation).toBeUndefined();
      expect(outcome.action).toMatch(/^1\. Remove the compromised key now: .*Settings → Security/m);
      expect(outcome.action).toMatch(/2\. Create a new key and hand it over .*npx keyrotor submit keyrotor\/acme-prod/s);
      expect((await store.describe(arn)).tags[TAG.compromised]).toBe(fingerprintTagValue(outcome.fingerprint));
      const compromised = events.events.find((e) => e.type === 'KeyCompromised');
      expect(compromised?.detail).toMatchObject({ severity: 'CRITICAL', provider: 'thought-industries', environment: 'production', fingerprint: outcome.fingerprint });
      // The reason held the key itself: it is redacted everywhere
      expect(everythingCaptured()).not.toContain(TI_LIVE_OLD);
      expect(ledger.events[0]?.detail).toMatch(/reported by keyrotor compromised: leaked: /);
    });

    it('when the person hands over the new key, promotion repeats CRITICALly that the compromised key must go, and clears the mark', async () => {
      const outcome = await respondToCompromise({ secretId: arn, reportedBy: 'keyrotor compromised' }, deps);
      // Prepare: `keyrotor submit` stored the new key as AWSPENDING (testSecret verified it live)
      const token = randomUUID();
      await store.putPendingValue(arn, token, tiValue(TI_LIVE_NEW));
      const rotationDeps: RotationDeps = { store, providers: createProviderRegistry(), logger: capture.logger, propagation: NO_WAIT, now: () => clock, ledger, revocations, gracePeriodMs: 24 * HOUR, events };
      // Act
      await expect(runRotationStep({ SecretId: arn, ClientRequestToken: token, Step: 'finishSecret' }, rotationDeps)).resolves.toBe('promoted');
      // Assess
      const manual = events.events.filter((e) => e.type === 'ManualActionRequired').at(-1);
      expect(manual?.detail).toMatchObject({ severity: 'CRITICAL', step: 'finishSecret', fingerprint: outcome.fingerprint });
      expect(manual?.detail.action).toMatch(/reported compromised: if it is still in the admin panel, remove it now/);
      expect((await store.describe(arn)).tags[TAG.compromised]).toBeUndefined();
      expect(everythingCaptured()).not.toContain(TI_LIVE_NEW);
    });

    it('refuses a secret that holds no key yet, touching nothing', async () => {
      const bootstrap = store.create('keyrotor/new-prod', { value: '{"keyrotor":"awaiting-first-key","bootstrap":"xyz"}', tags: tiTags() });
      await expect(respondToCompromise({ secretId: bootstrap, reportedBy: 'x' }, deps)).rejects.toThrow(SecretStateError);
      await expect(respondToCompromise({ secretId: bootstrap, reportedBy: 'x' }, deps)).rejects.toThrow(/awaits its first one/);
      expect((await store.describe(bootstrap)).tags[TAG.compromised]).toBeUndefined();
      expect(events.events).toEqual([]);
    });
  });

  describe('KeyCompromised events put on the bus', () => {
    const event = (detail: unknown, overrides: Record<string, unknown> = {}) => ({ source: 'security.tools', 'detail-type': 'KeyCompromised', detail, ...overrides });

    it('reads the secret, reason, revokeNow and reporter (the event source by default)', () => {
      expect(parseCompromiseEvent(event({ secret: 'keyrotor/acme-prod', reason: 'seen in logs' }))).toEqual({ secretId: 'keyrotor/acme-prod', reason: 'seen in logs', reportedBy: 'security.tools' });
      expect(parseCompromiseEvent(event({ secret: 'keyrotor/acme-prod', revokeNow: true, reportedBy: 'alice' }))).toEqual({ secretId: 'keyrotor/acme-prod', revokeNow: true, reportedBy: 'alice' });
    });

    it.each([
      [event({}), /detail\.secret/],
      [event({ secret: '' }), /detail\.secret/],
      [event({ secret: 'keyrotor/x', revokeNow: 'yes' }), /detail\.revokeNow/],
      [event({ secret: 'keyrotor/x' }, { 'detail-type': 'RotationFailed' }), /detail-type/],
      ['not an event', /KeyCompromised event is invalid/],
    ])('rejects %j with a ValidationError naming the field', (input, field) => {
      expect(() => parseCompromiseEvent(input)).toThrow(ValidationError);
      expect(() => parseCompromiseEvent(input)).toThrow(field);
    });
  });
});
