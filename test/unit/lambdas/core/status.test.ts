import { TAG } from '../../../../lambdas/core/contracts';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { collectStatus, type StatusDeps } from '../../../../lambdas/core/status';
import { createProviderRegistry } from '../../../../lambdas/providers/registry';
import { InMemoryLedger } from '../../../support/fakes/in-memory-ledger';
import { InMemorySecretInventory } from '../../../support/fakes/in-memory-secret-inventory';
import { InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { TI_LIVE_NEW, TI_LIVE_OLD, tiTags, tiValue } from '../../../support/fixtures';

const NOW = new Date('2026-11-23T12:00:00Z');
const DAY = 86_400_000;
const IMBURSE_TAGS = { [TAG.provider]: 'imburse', [TAG.environment]: 'sandbox', [TAG.kind]: 'api-key', [TAG.baseUrl]: 'https://sandbox-api.imburse.net' };
const imburseValue = JSON.stringify({ provider: 'imburse', environment: 'sandbox', baseUrl: 'https://sandbox-api.imburse.net', tenantId: 't', publicKey: 'pub-1', privateKey: 'PRIVATEprivatePRIVATE0001' });

describe('keyrotor status (core)', () => {
  let store: InMemorySecretStore;
  let ledger: InMemoryLedger;
  let deps: StatusDeps;

  beforeEach(() => {
    clearRegisteredSecrets();
    store = new InMemorySecretStore();
    store.clock = () => new Date(NOW.getTime() - 30 * DAY);
    ledger = new InMemoryLedger();
    deps = { inventory: new InMemorySecretInventory(store, 2), ledger, providers: createProviderRegistry(), now: () => NOW };
  });

  const row = async (name: string) => (await collectStatus(deps)).find((r) => r.secret === name);

  it('shows a healthy key with its fingerprint, age, next rotation and last outcome, and nothing to attend to', async () => {
    const arn = store.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD, { issuedAt: '2026-11-13T12:00:00.000Z' }), tags: tiTags(), rotationIntervalDays: 90 });
    await ledger.record({ secretArn: arn, token: 't1', state: 'promoted', at: '2026-11-13T12:00:05.000Z' });
    expect(await row('keyrotor/acme-prod')).toEqual({
      secret: 'keyrotor/acme-prod',
      provider: 'thought-industries',
      environment: 'production',
      fingerprint: expect.stringMatching(/^…0001#[0-9a-f]{8}$/),
      ageDays: 10,
      nextRotation: '2027-01-22T12:00:00.000Z', // created 30 days ago with rate(90 days)
      lastOutcome: { state: 'promoted', at: '2026-11-13T12:00:05.000Z' },
      manualActionPending: false,
      rotationInProgress: false,
      attention: [],
    });
  });

  it('names every reason for attention: overdue, expiring, compromised, a failed step', async () => {
    const arn = store.create('keyrotor/imburse', { value: imburseValue, tags: { ...IMBURSE_TAGS, [TAG.expiresAt]: '2026-11-28T00:00:00.000Z', [TAG.compromised]: '…0001#abcdef12' } });
    store.setRotationDates(arn, { nextRotationDate: new Date(NOW.getTime() - 2 * DAY) });
    await ledger.record({ secretArn: arn, token: 't1', state: 'failed', at: '2026-11-22T00:00:00.000Z', detail: 'ProviderUnavailableError' });
    expect((await row('keyrotor/imburse'))?.attention).toEqual([
      'rotation overdue since 2026-11-21',
      'key expires in 5 days',
      'key …0001#abcdef12 reported compromised; its replacement is not current yet',
      'last outcome: failed (ProviderUnavailableError)',
    ]);
  });

  it('flags a secret awaiting its first key, and a person-made key a rotation waits for', async () => {
    store.create('keyrotor/new-prod', { value: '{"keyrotor":"awaiting-first-key","bootstrap":"x"}', tags: tiTags() });
    const waiting = store.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
    store.openPendingVersion(waiting);
    const rows = await collectStatus(deps);
    expect(rows.map((r) => r.secret)).toEqual(['keyrotor/acme-prod', 'keyrotor/new-prod']);
    expect(rows[1]).toMatchObject({ attention: ['awaits its first key (npx keyrotor submit)'] });
    expect(rows[1]?.fingerprint).toBeUndefined();
    expect(rows[0]).toMatchObject({ manualActionPending: true, rotationInProgress: true, attention: ['a rotation waits for a key to be handed over (npx keyrotor submit)'] });
  });

  it('reads every page of the listing and never returns a key', async () => {
    for (const [i, key] of [TI_LIVE_OLD, TI_LIVE_NEW, 'ti_live_THIRDthirdTHIRD000000003'].entries()) store.create(`keyrotor/s${i}`, { value: tiValue(key), tags: tiTags() });
    const rows = await collectStatus(deps);
    expect(rows).toHaveLength(3);
    const text = JSON.stringify(rows);
    for (const key of [TI_LIVE_OLD, TI_LIVE_NEW, 'ti_live_THIRDthirdTHIRD000000003']) expect(text).not.toContain(key);
  });
});
