import { randomUUID } from 'node:crypto';
import { respondToCompromise, type CompromiseDeps } from '../../../../lambdas/core/compromise';
import { TAG } from '../../../../lambdas/core/contracts';
import { CompromiseResponseError } from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { runRotationStep, type RotationDeps } from '../../../../lambdas/core/rotation';
import { CapturingEvents } from '../../../support/fakes/capturing-events';
import { FakeApiPlatform } from '../../../support/fakes/fake-api-provider';
import { InMemoryLedger, InMemoryRevocationScheduler } from '../../../support/fakes/in-memory-ledger';
import { FakeAwsError, InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { captureLogger, NO_WAIT } from '../../../support/fixtures';

const BASE = 'https://sandbox-api.imburse.net';
const TAGS = { [TAG.provider]: 'imburse', [TAG.environment]: 'sandbox', [TAG.kind]: 'api-key', [TAG.baseUrl]: BASE };

/**
 * Calls whose answer is lost after they took effect (found by the fault-injection matrix): the
 * code must find out what happened instead of assuming it did not.
 */
describe('Ambiguous failures: a call that worked but whose answer was lost', () => {
  let store: InMemorySecretStore;
  let platform: FakeApiPlatform;
  let ledger: InMemoryLedger;
  let revocations: InMemoryRevocationScheduler;
  let events: CapturingEvents;
  let deps: RotationDeps;
  let arn: string;
  let original: { publicKey: string; privateKey: string };
  const current = () => JSON.parse(store.valueAt(arn, 'AWSCURRENT') as string) as { publicKey: string };

  /** Makes the next call of `op` take effect and then throw, as a lost response does. */
  function loseNextAnswer(op: 'putPendingValue' | 'moveStage'): void {
    const real = store[op].bind(store) as (...args: unknown[]) => Promise<void>;
    let armed = true;
    (store as unknown as Record<string, unknown>)[op] = async (...args: unknown[]) => {
      await real(...args);
      if (armed) {
        armed = false;
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      }
    };
  }

  beforeEach(() => {
    clearRegisteredSecrets();
    store = new InMemorySecretStore();
    platform = new FakeApiPlatform();
    ledger = new InMemoryLedger();
    revocations = new InMemoryRevocationScheduler();
    events = new CapturingEvents();
    deps = { store, providers: platform.registry(), logger: captureLogger().logger, propagation: NO_WAIT, now: () => new Date('2026-11-23T10:00:00Z'), ledger, revocations, gracePeriodMs: 3_600_000, events };
    store.rotationFunction = (event) => runRotationStep(event, deps);
    original = platform.addKey('original');
    arn = store.create('keyrotor/imburse', { value: JSON.stringify({ provider: 'imburse', environment: 'sandbox', baseUrl: BASE, tenantId: 't', ...original }), tags: TAGS });
  });

  it('PutSecretValue stored the new key but its answer was lost: the key is kept, not revoked, and the rotation finishes', async () => {
    loseNextAnswer('putPendingValue');
    await store.scheduledRotation(arn);
    expect(store.rotationFailures).toEqual([]);
    expect(current().publicKey).not.toBe(original.publicKey);
    expect(platform.keys.get(current().publicKey)?.active).toBe(true);
    expect(ledger.states()).not.toContain('compensated');
  });

  it('UpdateSecretVersionStage moved AWSCURRENT but its answer was lost: the retry finishes the promotion (ledger, revocation, events)', async () => {
    loseNextAnswer('moveStage');
    const token = await store.scheduledRotation(arn);
    // The service saw finishSecret fail, and retries the rotation with the same token
    expect(store.rotationFailures).toHaveLength(1);
    await store.runRotation(arn, token);
    expect(store.rotationFailures).toHaveLength(1);
    expect(current().publicKey).not.toBe(original.publicKey);
    expect(ledger.states(token)).toEqual(['intent', 'stored-pending', 'tested', 'promoted', 'revocation-scheduled']);
    expect([...revocations.schedules.values()].map((s) => s.request.providerKeyId)).toEqual([original.publicKey]);
    expect(events.types()).toEqual(['RotationStarted', 'RotationFailed', 'RotationSucceeded']);
    expect(events.events[1]?.detail.done).toMatch(/the retry finishes the promotion whether or not this attempt moved AWSCURRENT/);
  });

  it('a compromise response whose CRITICAL event the bus refused fails, and its retry acts on the same key, not on the replacement', async () => {
    const compromiseDeps: CompromiseDeps = { store, providers: platform.registry(), ledger, logger: captureLogger().logger, now: () => new Date(), newToken: randomUUID, events };
    events.failing = true;
    const report = { secretId: arn, reportedBy: 'security.tools', reportId: 'evt-1' };
    await expect(respondToCompromise(report, compromiseDeps)).rejects.toThrow(CompromiseResponseError);
    const replacement = current().publicKey;
    expect(replacement).not.toBe(original.publicKey);
    // Act: Lambda retries the same event; the bus works again
    events.failing = false;
    const retried = await respondToCompromise(report, compromiseDeps);
    // Assess: pinned to the first delivery's key (now AWSPREVIOUS, already revoked); the replacement is untouched
    expect(retried).toMatchObject({ stage: 'AWSPREVIOUS', revocation: 'already-revoked' });
    expect(current().publicKey).toBe(replacement);
    expect(platform.keys.get(replacement)?.active).toBe(true);
    expect(events.types()).toContain('KeyCompromised');
  });

  it('a refused PutEvents is reported as a failure of the response, naming what a person must do', async () => {
    events.failing = true;
    store.failNext.set('RotateSecret', new FakeAwsError('InternalServiceError', 'boom'));
    const error = await respondToCompromise({ secretId: arn, reportedBy: 'x' }, { store, providers: platform.registry(), ledger, logger: captureLogger().logger, now: () => new Date(), newToken: randomUUID, events }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompromiseResponseError);
    expect((error as Error).message).toMatch(/could not put the CRITICAL KeyCompromised event on the bus, so no alert went out; tell the security team directly/);
  });
});
