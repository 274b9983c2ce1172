import { TAG } from '../../../../lambdas/core/contracts';
import { rotateFleet, selectSecrets, type FleetRotationDeps } from '../../../../lambdas/core/fleet-rotation';
import { Pacer, type PacingClock } from '../../../../lambdas/core/pacing';
import { createProviderRegistry } from '../../../../lambdas/providers/registry';
import { InMemorySecretInventory } from '../../../support/fakes/in-memory-secret-inventory';
import { FakeAwsError, InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { tiTags, tiValue, TI_LIVE_OLD } from '../../../support/fixtures';

const imburseTags = (environment = 'sandbox') => ({ [TAG.provider]: 'imburse', [TAG.environment]: environment, [TAG.kind]: 'api-key', [TAG.baseUrl]: 'https://sandbox-api.imburse.net' });
const imburseValue = (environment = 'sandbox') => JSON.stringify({ provider: 'imburse', environment, baseUrl: 'https://sandbox-api.imburse.net', tenantId: 't', publicKey: 'p', privateKey: 'k' });

/** A clock that only moves when someone sleeps on it. */
function simulatedClock(): PacingClock & { slept: number } {
  let now = 0;
  const clock = { slept: 0, now: () => now, sleep: async (ms: number) => { now += ms; clock.slept += ms; } };
  return clock;
}

describe('Fleet rotation', () => {
  let store: InMemorySecretStore;
  let started: string[];
  let deps: FleetRotationDeps;
  let clock: ReturnType<typeof simulatedClock>;

  beforeEach(() => {
    store = new InMemorySecretStore();
    started = [];
    // The service would run the rotation asynchronously; the fleet only needs RotateSecret to be accepted.
    store.rotationFunction = async () => undefined;
    const startRotation = store.startRotation.bind(store);
    store.startRotation = async (id, token) => {
      await startRotation(id, token);
      started.push(id);
    };
    clock = simulatedClock();
    let n = 0;
    deps = { inventory: new InMemorySecretInventory(store, 7), store, providers: createProviderRegistry(), newToken: () => `tok-${++n}`, pacer: new Pacer(clock), concurrency: 4 };
  });

  it('selects by provider and environment across pages, sorted', async () => {
    for (let i = 0; i < 20; i++) store.create(`keyrotor/imb-${String(i).padStart(2, '0')}`, { value: imburseValue(i % 2 ? 'production' : 'sandbox'), tags: imburseTags(i % 2 ? 'production' : 'sandbox') });
    store.create('keyrotor/ti', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
    const selected = await selectSecrets(deps.inventory, { provider: 'imburse', environment: 'production' });
    expect(selected.map((s) => s.name)).toEqual(['keyrotor/imb-01', 'keyrotor/imb-03', 'keyrotor/imb-05', 'keyrotor/imb-07', 'keyrotor/imb-09', 'keyrotor/imb-11', 'keyrotor/imb-13', 'keyrotor/imb-15', 'keyrotor/imb-17', 'keyrotor/imb-19']);
  });

  it('paces RotateSecret at the given rate: 100 rotations at 20/s take 4.95 s of slots, never two closer than 50 ms', async () => {
    for (let i = 0; i < 100; i++) store.create(`keyrotor/imb-${i}`, { value: imburseValue(), tags: imburseTags() });
    const times: number[] = [];
    const startRotation = store.startRotation.bind(store);
    store.startRotation = async (id, token) => {
      times.push(clock.now());
      await startRotation(id, token);
    };
    // One call in flight, so the simulated clock (which only moves when slept on) reads true.
    const outcomes = await rotateFleet(await selectSecrets(deps.inventory, {}), 20, { ...deps, concurrency: 1 });
    expect(outcomes.every((o) => o.outcome === 'started')).toBe(true);
    expect(started).toHaveLength(100);
    const sorted = [...times].sort((a, b) => a - b);
    expect(sorted.at(-1)).toBeCloseTo(4950, 0);
    for (let i = 1; i < sorted.length; i++) expect((sorted[i] as number) - (sorted[i - 1] as number)).toBeGreaterThanOrEqual(49.999);
  });

  it('leaves open rotations and person-made keys alone, retries throttling, and reports other refusals per secret', async () => {
    const open = store.create('keyrotor/a-open', { value: imburseValue(), tags: imburseTags() });
    store.openPendingVersion(open);
    store.create('keyrotor/b-ti', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
    store.create('keyrotor/c-throttled', { value: imburseValue(), tags: imburseTags() });
    store.failNext.set('RotateSecret', new FakeAwsError('ThrottlingException', 'Rate exceeded'));
    const outcomes = await rotateFleet(await selectSecrets(deps.inventory, {}), 10, { ...deps, concurrency: 1 });
    expect(outcomes).toEqual([
      { secret: 'keyrotor/a-open', outcome: 'in-progress', reason: expect.stringContaining('already open') },
      { secret: 'keyrotor/b-ti', outcome: 'needs-a-person', reason: expect.stringContaining('npx keyrotor submit') },
      { secret: 'keyrotor/c-throttled', outcome: 'started', token: 'tok-1' },
    ]);
    store.create('keyrotor/d-refused', { value: imburseValue(), tags: imburseTags() });
    store.failNext.set('RotateSecret', new FakeAwsError('AccessDeniedException', 'no'));
    const [refused] = await rotateFleet((await selectSecrets(deps.inventory, {})).filter((s) => s.name === 'keyrotor/d-refused'), 10, deps);
    expect(refused).toEqual({ secret: 'keyrotor/d-refused', outcome: 'failed', reason: 'AccessDeniedException' });
  });

  it.each([0, -1, 26, Number.NaN])('refuses a rate of %s, outside Secrets Manager\'s quota', async (rate) => {
    await expect(rotateFleet([], rate, deps)).rejects.toThrow(/ratePerSecond must be more than 0 and at most 25/);
  });
});
