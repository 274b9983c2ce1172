import { VersionCachingStore } from '../../../../lambdas/adapters/version-cache';
import { runRotationStep, type RotationDeps } from '../../../../lambdas/core/rotation';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { SILENT_LOGGER } from '../../../../lambdas/ports/logger';
import { FakeApiPlatform } from '../../../support/fakes/fake-api-provider';
import { InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { NO_WAIT, rotationFakes, tiTags, tiValue, TI_LIVE_OLD } from '../../../support/fixtures';

describe('VersionCachingStore', () => {
  let inner: InMemorySecretStore;
  let arn: string;
  let clock: number;
  let store: VersionCachingStore;
  const ops = () => inner.calls.map((c) => c.op);

  beforeEach(() => {
    clearRegisteredSecrets();
    inner = new InMemorySecretStore();
    arn = inner.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
    clock = 0;
    store = new VersionCachingStore(inner, { ttlMs: 1000, maxEntries: 2, now: () => clock });
  });

  const currentVersion = () => Object.entries(inner.stagesOf(arn)).find(([, s]) => s.includes('AWSCURRENT'))![0];

  it('answers a version it has read from memory, and always asks the service for a stage alone', async () => {
    const v = currentVersion();
    expect(await store.getValue(arn, { versionId: v, stage: 'AWSCURRENT' })).toBe(tiValue(TI_LIVE_OLD));
    expect(await store.getValue(arn, { versionId: v })).toBe(tiValue(TI_LIVE_OLD));
    await store.getValue(arn, { stage: 'AWSCURRENT' });
    await store.getValue(arn, { stage: 'AWSCURRENT' });
    expect(ops()).toEqual(['GetSecretValue', 'GetSecretValue', 'GetSecretValue']);
  });

  it('remembers what it wrote, never a version without a value, and forgets after the TTL or beyond its size', async () => {
    const token = inner.openPendingVersion(arn);
    expect(await store.getValue(arn, { versionId: token, stage: 'AWSPENDING' })).toBeUndefined();
    await store.putPendingValue(arn, token, '{"x":1}');
    expect(await store.getValue(arn, { versionId: token, stage: 'AWSPENDING' })).toBe('{"x":1}');
    expect(ops()).toEqual(['GetSecretValue', 'PutSecretValue']);
    clock = 1001;
    await store.getValue(arn, { versionId: token });
    expect(ops().at(-1)).toBe('GetSecretValue');
    // Three versions through a cache of two: the oldest is read again
    await store.getValue(arn, { versionId: currentVersion() });
    const other = inner.openPendingVersion(arn);
    await store.putPendingValue(arn, other, '{"y":2}');
    const calls = inner.calls.length;
    await store.getValue(arn, { versionId: token });
    expect(inner.calls.length).toBe(calls + 1);
  });

  it('brings a fully automatic rotation on one warm container to 7 Secrets Manager calls or fewer', async () => {
    const platform = new FakeApiPlatform();
    const key = platform.addKey();
    const imburse = inner.create('keyrotor/imburse', { value: JSON.stringify({ provider: 'imburse', environment: 'sandbox', baseUrl: 'https://sandbox-api.imburse.net', tenantId: 't', ...key }), tags: {} });
    const cached = new VersionCachingStore(inner);
    const deps: RotationDeps = { store: cached, providers: platform.registry(), logger: SILENT_LOGGER, propagation: NO_WAIT, now: () => new Date(), ...rotationFakes() };
    inner.rotationFunction = (event) => runRotationStep(event, deps);
    const before = inner.calls.length;
    await inner.scheduledRotation(imburse);
    expect(inner.rotationFailures).toEqual([]);
    const rotationOps = inner.calls.slice(before).map((c) => c.op);
    expect(rotationOps).toEqual(['DescribeSecret', 'GetSecretValue', 'GetSecretValue', 'PutSecretValue', 'DescribeSecret', 'DescribeSecret', 'UpdateSecretVersionStage']);
  });
});
