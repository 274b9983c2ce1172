import { randomUUID } from 'node:crypto';
import { TAG } from '../../../../lambdas/core/contracts';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { runRotationStep, type RotationDeps } from '../../../../lambdas/core/rotation';
import { createProviderRegistry } from '../../../../lambdas/providers/registry';
import { InMemoryLedger, InMemoryRevocationScheduler } from '../../../support/fakes/in-memory-ledger';
import { InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { captureLogger, NO_WAIT, TI_LIVE_NEW, TI_LIVE_OLD, tiTags, tiValue } from '../../../support/fixtures';

/** The sweep decides from tags without decrypting: promotion keeps `keyrotor:expires-at` true to the current key. */
describe('finishSecret keeps the current key\'s tags true', () => {
  let store: InMemorySecretStore;
  let deps: RotationDeps;
  let arn: string;

  beforeEach(() => {
    clearRegisteredSecrets();
    store = new InMemorySecretStore();
    const capture = captureLogger();
    deps = {
      store,
      providers: createProviderRegistry(),
      logger: capture.logger,
      propagation: NO_WAIT,
      now: () => new Date('2026-11-23T10:00:00Z'),
      ledger: new InMemoryLedger(),
      revocations: new InMemoryRevocationScheduler(),
      gracePeriodMs: 3_600_000,
    };
  });

  async function promote(pending: string): Promise<Record<string, string>> {
    const token = randomUUID();
    await store.putPendingValue(arn, token, pending);
    await runRotationStep({ SecretId: arn, ClientRequestToken: token, Step: 'finishSecret' }, deps);
    return (await store.describe(arn)).tags;
  }

  it('tags the declared expiry of the promoted key, and removes a stale one when the new key declares none', async () => {
    arn = store.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
    const tagged = await promote(tiValue(TI_LIVE_NEW, { expiresAt: '2027-11-30T00:00:00.000Z' }));
    expect(tagged[TAG.expiresAt]).toBe('2027-11-30T00:00:00.000Z');
    const untagged = await promote(tiValue('ti_live_THIRDthirdTHIRD000000003'));
    expect(untagged[TAG.expiresAt]).toBeUndefined();
    expect(untagged[TAG.provider]).toBe('thought-industries');
  });

  it('costs no tag call when nothing changes (the Thought Industries rotation stays at its call count)', async () => {
    arn = store.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
    store.calls.length = 0;
    await promote(tiValue(TI_LIVE_NEW));
    expect(store.calls.map((c) => c.op).filter((op) => op === 'TagResource' || op === 'UntagResource')).toEqual([]);
  });
});
