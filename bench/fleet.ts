/**
 * Fleet-scale work against Secrets Manager's quotas, on simulated time: an emergency rotation of
 * 1,000 API-issued secrets (`keyrotor rotate --all`: rotateFleet, then the service running each
 * rotation's four steps through the real rotation code) and the daily sweep of 10,000 healthy
 * secrets (the real sweep, continuations back to back). The Secrets Manager fake enforces the
 * quotas with token buckets and answers over quota with ThrottlingException; each process's SDK
 * client retries as the SDK's standard mode does. Times are printed as ratios to the floor the
 * quotas (and, for the sweep, its own per-instance platform pacing) set. Prints figures; asserts
 * nothing. Run: npx tsx bench/fleet.ts
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { TAG, type ProviderId } from '../lambdas/core/contracts';
import { DEFAULT_ROTATIONS_PER_SECOND, MAX_ROTATIONS_PER_SECOND, rotateFleet, selectSecrets, type FleetOutcome } from '../lambdas/core/fleet-rotation';
import { fingerprintOf } from '../lambdas/core/fingerprint';
import { Pacer } from '../lambdas/core/pacing';
import { runRotationStep, type RotationDeps } from '../lambdas/core/rotation';
import { credentialStrings, parseSecretValue } from '../lambdas/core/secret-value';
import { DEFAULT_SWEEP_POLICY, revocationConfirmedTagValue, sweep, type SweepOutcome, type SweepReport } from '../lambdas/core/sweep';
import { VersionCachingStore } from '../lambdas/adapters/version-cache';
import { SILENT_LOGGER } from '../lambdas/ports/logger';
import { NO_METRICS } from '../lambdas/ports/metrics';
import type { Provider } from '../lambdas/ports/provider';
import type { SweepContinuationRequest } from '../lambdas/ports/sweep-continuation';
import { createProviderRegistry, type ProviderRegistry } from '../lambdas/providers/registry';
import { SWEEP_TIMEOUT } from '../lib/daily-sweep';
import { CapturingEvents } from '../test/support/fakes/capturing-events';
import { FakeApiPlatform } from '../test/support/fakes/fake-api-provider';
import { InMemoryLedger, InMemoryRevocationScheduler } from '../test/support/fakes/in-memory-ledger';
import { QuotaSecretsManager, SECRETS_MANAGER_QUOTAS, type QuotaFamily, type RotationFunction } from './support/quota-secrets-manager';
import { installedRetryStrategy, SDK_STANDARD_RETRY, SdkRetryingClient, withLatency } from './support/sdk-retry-client';
import { seededRandom, uniform, type Random } from './support/seeded-random';
import { VirtualClock } from './support/virtual-clock';

const DAY_MS = 86_400_000;
const SEED = 20261123;

/** Latencies outside Secrets Manager (ms, uniform). */
const LATENCY = {
  platformVerify: [100, 300],
  platformIssue: [200, 500],
  ledger: [5, 15],
  scheduler: [30, 60],
  events: [15, 30],
  /** A warm Lambda invocation's overhead, and a cold start's (init + invoke). */
  warmInvoke: [15, 35],
  coldInvoke: [300, 600],
  /** From the sweep's asynchronous self-invocation to the next invocation running. */
  continuation: [100, 300],
} as const satisfies Record<string, readonly [number, number]>;

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const sec = (ms: number) => `${fmt(ms / 1000)} s`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
}

/** The floor a set of accepted calls sets: the slowest quota family to serve them, in ms. */
function quotaFloor(service: QuotaSecretsManager): { ms: number; family: QuotaFamily; calls: number } {
  let best = { ms: 0, family: 'writes' as QuotaFamily, calls: 0 };
  for (const family of Object.keys(SECRETS_MANAGER_QUOTAS) as QuotaFamily[]) {
    const calls = service.accepted[family].count;
    const ms = (calls / SECRETS_MANAGER_QUOTAS[family]) * 1000;
    if (ms > best.ms) best = { ms, family, calls };
  }
  return best;
}

function throttleSummary(service: QuotaSecretsManager): string {
  const entries = (Object.keys(service.throttles) as QuotaFamily[]).filter((f) => service.throttles[f] > 0).map((f) => `${f} ${service.throttles[f]}`);
  return entries.length === 0 ? '0' : `${entries.reduce((n, e) => n + Number(e.split(' ').pop()), 0)} (${entries.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Emergency rotation of 1,000 API-issued secrets
// ---------------------------------------------------------------------------------------------

interface EmergencyResult {
  readonly rate: number;
  readonly burstSeconds: number;
  readonly elapsedMs: number;
  readonly rotateFleetMs: number;
  readonly floor: { ms: number; family: QuotaFamily; calls: number };
  readonly outcomes: Record<FleetOutcome['outcome'], number>;
  readonly rotationsOk: number;
  readonly rotationFailures: Map<string, number>;
  readonly throttles: string;
  readonly sdkRetried: number;
  readonly sdkSurfaced: number;
  readonly writesPerSecond: number;
  readonly medianRotationMs: number;
  readonly coldStarts: number;
  readonly calls: QuotaSecretsManager['calls'];
}

/** The failure's name, with the cause's where the rotation wrapped it (StoreFailedError ← ThrottlingException). */
function failureName(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown';
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.name}←${cause.name}` : error.name;
}

async function emergencyRotation(count: number, rate: number, burstSeconds = 1): Promise<EmergencyResult> {
  const clock = new VirtualClock();
  const random = seededRandom(SEED + rate);
  const service = new QuotaSecretsManager({ clock, random, burstSeconds });
  const platform = new FakeApiPlatform();
  const provider = withLatency(platform.provider() as unknown as Provider, clock, random, LATENCY.platformIssue, ['issueKey', 'revokeKey', 'listKeys']);
  const verifying = withLatency(provider, clock, random, LATENCY.platformVerify, ['verify']);
  const registry: ProviderRegistry = { get: () => verifying };
  for (let i = 0; i < count; i++) {
    const key = platform.addKey(`tenant-${i}`);
    service.create(`keyrotor/tenant-${String(i).padStart(4, '0')}`, {
      value: JSON.stringify({ provider: 'imburse', environment: 'production', baseUrl: 'https://api.imburse.net', tenantId: `tenant-${i}`, ...key }),
      tags: { [TAG.provider]: 'imburse', [TAG.environment]: 'production', [TAG.kind]: 'api-key', [TAG.baseUrl]: 'https://api.imburse.net' },
      lastRotatedDate: new Date(clock.now() - 30 * DAY_MS),
      nextRotationDate: new Date(clock.now() + 60 * DAY_MS),
    });
  }

  // The rotation Lambda: one invocation per step, on a warm container when one is idle. Each
  // rotation's steps share one SDK client and one version cache (the deployed VersionCachingStore).
  const lambdaClients: SdkRetryingClient[] = [];
  const perRotation = new Map<string, RotationDeps>();
  const ledger = withLatency(new InMemoryLedger(), clock, random, LATENCY.ledger);
  const revocations = withLatency(new InMemoryRevocationScheduler(), clock, random, LATENCY.scheduler);
  const events = withLatency(new CapturingEvents(), clock, random, LATENCY.events, ['publish']);
  let idleContainers = 0;
  let coldStarts = 0;
  const rotationLambda: RotationFunction = async (event) => {
    const cold = idleContainers === 0;
    if (cold) coldStarts += 1;
    else idleContainers -= 1;
    const [min, max] = cold ? LATENCY.coldInvoke : LATENCY.warmInvoke;
    await clock.sleep(uniform(random, min, max));
    let deps = perRotation.get(event.ClientRequestToken);
    if (!deps) {
      const client = new SdkRetryingClient(service, clock, random);
      lambdaClients.push(client);
      deps = {
        store: new VersionCachingStore(client, { now: () => clock.now() }),
        providers: registry,
        logger: SILENT_LOGGER,
        propagation: { attempts: 5, initialDelayMs: 2_000, sleep: (ms) => clock.sleep(ms) },
        now: () => clock.date(),
        ledger,
        revocations,
        gracePeriodMs: DAY_MS,
        events,
      };
      perRotation.set(event.ClientRequestToken, deps);
    }
    try {
      return await runRotationStep(event, deps);
    } finally {
      idleContainers += 1;
      if (event.Step === 'finishSecret') perRotation.delete(event.ClientRequestToken);
    }
  };
  service.rotationFunction = rotationLambda;

  // The operator's `keyrotor rotate --all`: one process, one SDK client.
  const cli = new SdkRetryingClient(service, clock, random);
  const started = clock.now();
  let rotateFleetMs = 0;
  const outcomes = await clock.run(async () => {
    const entries = await selectSecrets(cli, {});
    const result = await rotateFleet(entries, rate, { inventory: cli, store: cli, providers: registry, newToken: randomUUID, pacer: new Pacer(clock) });
    rotateFleetMs = clock.now() - started;
    await service.rotationsSettled();
    return result;
  });
  const elapsedMs = clock.now() - started;

  const tally = { started: 0, 'in-progress': 0, 'needs-a-person': 0, failed: 0 } as Record<FleetOutcome['outcome'], number>;
  for (const outcome of outcomes) tally[outcome.outcome] += 1;
  const rotationFailures = new Map<string, number>();
  for (const rotation of service.rotations) {
    if (rotation.failedStep === undefined) continue;
    const key = `${rotation.failedStep}: ${failureName(rotation.error)}`;
    rotationFailures.set(key, (rotationFailures.get(key) ?? 0) + 1);
  }
  const writes = service.accepted.writes;
  return {
    rate,
    burstSeconds,
    elapsedMs,
    rotateFleetMs,
    floor: quotaFloor(service),
    outcomes: tally,
    rotationsOk: service.rotations.filter((r) => r.failedStep === undefined).length,
    rotationFailures,
    throttles: throttleSummary(service),
    sdkRetried: [cli, ...lambdaClients].reduce((n, c) => n + c.stats.retried, 0),
    sdkSurfaced: [cli, ...lambdaClients].reduce((n, c) => n + c.stats.surfaced, 0),
    writesPerSecond: writes.count > 1 ? (writes.count - 1) / ((writes.last - writes.first) / 1000) : NaN,
    medianRotationMs: median(service.rotations.map((r) => r.endedAt - r.startedAt)),
    coldStarts,
    calls: { ...service.calls },
  };
}

// ---------------------------------------------------------------------------------------------
// Daily sweep of 10,000 healthy secrets
// ---------------------------------------------------------------------------------------------

interface FleetShare {
  readonly provider: ProviderId;
  readonly secrets: number;
  /** Distinct base URLs (platform instances) the secrets are spread over; 1 where the platform has one API host for every customer. */
  readonly instances: number;
}

function baseUrlOf(provider: ProviderId, instance: number, instances: number): string {
  if (instances === 1) return provider === 'thinkific' ? 'https://api.thinkific.com' : 'https://api.imburse.net';
  const name = `customer-${String(instance).padStart(3, '0')}`;
  switch (provider) {
    case 'thought-industries':
      return `https://${name}.thoughtindustries.com`;
    case 'thrive':
      return `https://${name}.api.learn.link`;
    case 'boss-insights':
      return `https://${name}.bossinsights.com`;
    case 'thinkific':
      return 'https://api.thinkific.com';
    case 'imburse':
      return 'https://api.imburse.net';
  }
}

function credentialFields(provider: ProviderId, random: Random): Record<string, string> {
  const token = (n: number) => randomBytes(n).toString('base64url');
  switch (provider) {
    case 'thought-industries':
      return { apiKey: `ti_live_${token(18)}` };
    case 'thinkific':
      return { apiKey: token(24) };
    case 'thrive':
      return { tenantId: 'eu-west-2_AbcdEfghI', apiKey: token(24) };
    case 'boss-insights':
      return { apiKey: token(24), accountKey: token(16) };
    case 'imburse':
      return { tenantId: `tenant-${Math.floor(random() * 1e9)}`, publicKey: randomUUID(), privateKey: token(32) };
  }
}

interface SweepScenario {
  readonly label: string;
  readonly shares: readonly FleetShare[];
  /** `interleaved`: secrets of one instance are spread through the listing; `grouped`: created (and so listed) one instance after another. */
  readonly order: 'interleaved' | 'grouped';
  readonly concurrency: number;
}

interface SweepResult {
  readonly scenario: SweepScenario;
  readonly elapsedMs: number;
  readonly invocations: number;
  readonly floorMs: number;
  readonly floorResource: string;
  readonly outcomes: Record<SweepOutcome, number>;
  readonly throttles: string;
  readonly sdkRetried: number;
  readonly sdkSurfaced: number;
  readonly minSpacingRatio: number;
  readonly calls: QuotaSecretsManager['calls'];
}

function platformSpacingMs(provider: ProviderId): number {
  return DEFAULT_SWEEP_POLICY.platformSpacingMs[provider] ?? DEFAULT_SWEEP_POLICY.defaultPlatformSpacingMs;
}

async function dailySweep(scenario: SweepScenario): Promise<SweepResult> {
  const clock = new VirtualClock();
  const random = seededRandom(SEED);
  const service = new QuotaSecretsManager({ clock, random });

  // The fleet: every secret rotated 30 days ago, its old key confirmed revoked (tagged), the next
  // rotation 60 days away: a healthy fleet, in which each secret costs the sweep two reads
  // (AWSCURRENT, AWSPREVIOUS) and one platform call (the current key's health check).
  const specs: { provider: ProviderId; baseUrl: string; round: number; instance: number }[] = [];
  for (const share of scenario.shares) {
    for (let i = 0; i < share.secrets; i++) {
      const instance = scenario.order === 'interleaved' ? i % share.instances : Math.floor((i * share.instances) / share.secrets);
      specs.push({ provider: share.provider, baseUrl: baseUrlOf(share.provider, instance, share.instances), round: Math.floor(i / share.instances), instance });
    }
  }
  if (scenario.order === 'interleaved') {
    // Round-robin: one secret of every instance of every platform, then the next round.
    specs.sort((a, b) => a.round - b.round || a.instance - b.instance || a.provider.localeCompare(b.provider));
  }
  const verifiesPerBaseUrl = new Map<string, { provider: ProviderId; count: number }>();
  specs.forEach((spec, index) => {
    const common = { provider: spec.provider, environment: 'production', baseUrl: spec.baseUrl };
    const value = JSON.stringify({ ...common, ...credentialFields(spec.provider, random) });
    const previous = JSON.stringify({ ...common, ...credentialFields(spec.provider, random) });
    const oldKey = credentialStrings(parseSecretValue(previous))[0] ?? '';
    service.create(`keyrotor/${spec.provider}-${String(index).padStart(5, '0')}`, {
      value,
      previousValue: previous,
      tags: {
        [TAG.provider]: spec.provider,
        [TAG.environment]: 'production',
        [TAG.kind]: 'api-key',
        [TAG.baseUrl]: spec.baseUrl,
        [TAG.revocationConfirmed]: revocationConfirmedTagValue(fingerprintOf(oldKey)),
      },
      lastRotatedDate: new Date(clock.now() - 30 * DAY_MS),
      nextRotationDate: new Date(clock.now() + 60 * DAY_MS),
    });
    const tally = verifiesPerBaseUrl.get(spec.baseUrl) ?? { provider: spec.provider, count: 0 };
    tally.count += 1;
    verifiesPerBaseUrl.set(spec.baseUrl, tally);
  });

  // Providers as the registry builds them, with the health check answered by a platform with latency.
  const real = createProviderRegistry();
  const lastCall = new Map<string, number>();
  let minSpacingRatio = Infinity;
  const providers = new Map<ProviderId, Provider>();
  const registry: ProviderRegistry = {
    get(id) {
      let provider = providers.get(id);
      if (!provider) {
        const base = real.get(id);
        provider = {
          id,
          displayName: base.displayName,
          capabilities: base.capabilities,
          manual: base.manual,
          parseSubmission: (input, extras) => base.parseSubmission(input, extras),
          formatProblems: (value, environment) => base.formatProblems(value, environment),
          verify: async (_value, target) => {
            const previous = lastCall.get(target.baseUrl);
            const now = clock.now();
            if (previous !== undefined) minSpacingRatio = Math.min(minSpacingRatio, (now - previous) / platformSpacingMs(id));
            lastCall.set(target.baseUrl, now);
            await clock.sleep(uniform(random, ...LATENCY.platformVerify));
            return { checked: 'fake platform: 200' };
          },
        };
        providers.set(id, provider);
      }
      return provider;
    },
  };

  // One SDK client per container (the handler shares it between inventory and store); the pacer
  // lives on the warm container across the run's invocations.
  const client = new SdkRetryingClient(service, clock, random);
  const pacer = new Pacer(clock);
  const ledger = new InMemoryLedger();
  const revocations = new InMemoryRevocationScheduler();
  const events = new CapturingEvents();
  const timeoutMs = SWEEP_TIMEOUT.toMilliseconds();
  const reports: SweepReport[] = [];
  const started = clock.now();
  await clock.run(async () => {
    let request: { cursor?: string; runId?: string } = {};
    for (;;) {
      const deadline = clock.now() + timeoutMs;
      const continued: SweepContinuationRequest[] = [];
      const report = await sweep(request, {
        inventory: client,
        store: client,
        providers: registry,
        ledger,
        revocations,
        events,
        continuation: { continueWith: async (next) => void continued.push(next) },
        metrics: NO_METRICS,
        logger: SILENT_LOGGER,
        policy: { ...DEFAULT_SWEEP_POLICY, concurrency: scenario.concurrency },
        now: () => clock.date(),
        remainingTimeMs: () => deadline - clock.now(),
        newToken: randomUUID,
        pacer,
      });
      if (clock.now() > deadline) throw new Error(`a sweep invocation ran past the Lambda timeout (${sec(clock.now() - deadline)} over)`);
      reports.push(report);
      const next = continued[0];
      if (report.status === 'complete' || !next) break;
      await clock.sleep(uniform(random, ...LATENCY.continuation));
      request = next;
    }
  });
  const elapsedMs = clock.now() - started;

  // The floor: the slowest resource to serve what the sweep had to do.
  const candidates: [string, number][] = [];
  const readQuota = SECRETS_MANAGER_QUOTAS.GetSecretValue;
  candidates.push([`GetSecretValue ${service.accepted.GetSecretValue.count}/${readQuota} per s`, (service.accepted.GetSecretValue.count / readQuota) * 1000]);
  candidates.push([`ListSecrets ${service.accepted.ListSecrets.count}/${SECRETS_MANAGER_QUOTAS.ListSecrets} per s`, (service.accepted.ListSecrets.count / SECRETS_MANAGER_QUOTAS.ListSecrets) * 1000]);
  let busiest: [string, number] = ['platform', 0];
  for (const [baseUrl, { provider, count }] of verifiesPerBaseUrl) {
    // Where the platform limits each credential (Thinkific: each site), the host is no bottleneck: one check per credential.
    const perCredential = (DEFAULT_SWEEP_POLICY.rateLimitPerCredential ?? []).includes(provider as never);
    const ms = (perCredential ? 1 : count) * platformSpacingMs(provider);
    if (ms > busiest[1]) busiest = [perCredential ? `1 check × ${platformSpacingMs(provider) / 1000} s per credential on ${baseUrl}` : `${count} checks × ${platformSpacingMs(provider) / 1000} s on ${baseUrl}`, ms];
  }
  candidates.push(busiest);
  const [floorResource, floorMs] = candidates.reduce((a, b) => (b[1] > a[1] ? b : a));

  const outcomes = Object.fromEntries(Object.keys(reports[0]!.outcomes).map((k) => [k, 0])) as Record<SweepOutcome, number>;
  for (const report of reports) for (const [k, v] of Object.entries(report.outcomes)) outcomes[k as SweepOutcome] += v;
  return {
    scenario,
    elapsedMs,
    invocations: reports.length,
    floorMs,
    floorResource,
    outcomes,
    throttles: throttleSummary(service),
    sdkRetried: client.stats.retried,
    sdkSurfaced: client.stats.surfaced,
    minSpacingRatio,
    calls: { ...service.calls },
  };
}

function outcomeSummary(outcomes: Record<SweepOutcome, number>): string {
  return Object.entries(outcomes)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

async function main(): Promise<void> {
  const wallStart = performance.now();
  const installed = await installedRetryStrategy();
  console.log('Model');
  console.log(`  quotas (per s): ${Object.entries(SECRETS_MANAGER_QUOTAS).map(([k, v]) => `${k} ${v}`).join(', ')}; each bucket holds 1 s of its quota`);
  console.log(`  SDK retries: standard mode modelled (${SDK_STANDARD_RETRY.maxAttempts} attempts, full jitter up to ${SDK_STANDARD_RETRY.throttlingBaseDelayMs} ms × 2^i on a throttle, ${SDK_STANDARD_RETRY.capacity}-token capacity); the installed client reports mode=${installed.mode}, maxAttempts=${installed.maxAttempts}, capacity=${installed.capacity}`);
  console.log(`  latency: Secrets Manager 20–40 ms (ListSecrets 60–120 ms), platform check ${LATENCY.platformVerify.join('–')} ms, key creation ${LATENCY.platformIssue.join('–')} ms, Lambda invoke ${LATENCY.warmInvoke.join('–')} ms warm / ${LATENCY.coldInvoke.join('–')} ms cold`);

  console.log(`\nEmergency rotation of 1,000 API-issued secrets (rotateFleet + the service running the four steps; floor: the quota family the operation's accepted calls fill slowest)`);
  console.log('  rate/s            | time    | floor (binding family)        | time/floor | throttles seen (absorbed by SDK retries) | surfaced as failures | writes/s drawn | median rotation');
  // The last two runs leave the buckets only a tenth of a second of burst: arrivals that bunch up are throttled, and the SDK's retries must absorb it.
  const runs: [number, number][] = [[DEFAULT_ROTATIONS_PER_SECOND, 1], [20, 1], [22, 1], [MAX_ROTATIONS_PER_SECOND, 1], [22, 0.1], [MAX_ROTATIONS_PER_SECOND, 0.1]];
  const emergencies: EmergencyResult[] = [];
  for (const [rate, burst] of runs) {
    const r = await emergencyRotation(1_000, rate, burst);
    emergencies.push(r);
    const failures = r.outcomes.failed + [...r.rotationFailures.values()].reduce((a, b) => a + b, 0);
    console.log(
      `  ${`${rate}${burst === 1 ? '' : ` (bucket ${burst} s)`}`.padStart(17)} | ${sec(r.elapsedMs).padStart(7)} | ${`${sec(r.floor.ms)} (${r.floor.family}: ${r.floor.calls})`.padEnd(29)} | ${fmt(r.elapsedMs / r.floor.ms, 2).padStart(10)} | ${`${r.throttles} (SDK retried ${r.sdkRetried})`.padEnd(40)} | ${String(failures).padStart(20)} | ${fmt(r.writesPerSecond).padStart(14)} | ${sec(r.medianRotationMs)}`,
    );
  }
  for (const r of emergencies) {
    const failureText = [...r.rotationFailures].map(([k, n]) => `${k} ×${n}`).join('; ');
    console.log(
      `  at ${r.rate}/s${r.burstSeconds === 1 ? '' : ` (bucket ${r.burstSeconds} s)`}: rotateFleet returned after ${sec(r.rotateFleetMs)}; started ${r.outcomes.started}, refused ${r.outcomes.failed}; rotations ok ${r.rotationsOk}${failureText ? `, failed: ${failureText}` : ''}; throttles reaching a caller ${r.sdkSurfaced}; cold starts ${r.coldStarts}; calls ${Object.entries(r.calls).filter(([, n]) => n > 0).map(([k, n]) => `${k}×${n}`).join(', ')}`,
    );
  }

  console.log(`\nDaily sweep of 10,000 healthy secrets (sweep(), continuations back to back in a ${SWEEP_TIMEOUT.toMinutes()}-minute Lambda; floor: the slowest of GetSecretValue, ListSecrets and the sweep's own per-instance platform spacing)`);
  const manyInstances: FleetShare[] = [
    { provider: 'thought-industries', secrets: 3_334, instances: 100 },
    { provider: 'thrive', secrets: 3_333, instances: 100 },
    { provider: 'boss-insights', secrets: 3_333, instances: 100 },
  ];
  const realHosts: FleetShare[] = [
    { provider: 'thought-industries', secrets: 2_000, instances: 100 },
    { provider: 'thrive', secrets: 2_000, instances: 100 },
    { provider: 'boss-insights', secrets: 2_000, instances: 100 },
    { provider: 'thinkific', secrets: 2_000, instances: 1 },
    { provider: 'imburse', secrets: 2_000, instances: 1 },
  ];
  const scenarios: SweepScenario[] = [
    { label: `TI/Thrive/Boss Insights over 300 instances, listing interleaved, concurrency ${DEFAULT_SWEEP_POLICY.concurrency} (default)`, shares: manyInstances, order: 'interleaved', concurrency: DEFAULT_SWEEP_POLICY.concurrency },
    { label: 'same fleet, concurrency 20 (the config maximum)', shares: manyInstances, order: 'interleaved', concurrency: 20 },
    { label: `same fleet, listing grouped by instance (created customer by customer), concurrency ${DEFAULT_SWEEP_POLICY.concurrency} (default)`, shares: manyInstances, order: 'grouped', concurrency: DEFAULT_SWEEP_POLICY.concurrency },
    { label: 'same fleet, grouped, concurrency 20', shares: manyInstances, order: 'grouped', concurrency: 20 },
    { label: `five providers as their APIs are hosted (Thinkific and Imburse: one API host for every customer), concurrency ${DEFAULT_SWEEP_POLICY.concurrency} (default)`, shares: realHosts, order: 'interleaved', concurrency: DEFAULT_SWEEP_POLICY.concurrency },
  ];
  for (const scenario of scenarios) {
    const r = await dailySweep(scenario);
    console.log(`  ${scenario.label}`);
    console.log(
      `    time ${sec(r.elapsedMs)}, floor ${sec(r.floorMs)} (${r.floorResource}): time/floor ${fmt(r.elapsedMs / r.floorMs, 2)}; invocations ${r.invocations}; throttles seen ${r.throttles}, surfaced ${r.sdkSurfaced}`,
    );
    console.log(`    outcomes: ${outcomeSummary(r.outcomes)}; closest platform calls to one instance: ${fmt(r.minSpacingRatio, 2)} × its spacing`);
    console.log(`    calls: ${Object.entries(r.calls).filter(([, n]) => n > 0).map(([k, n]) => `${k}×${n}`).join(', ')}`);
  }
  console.log(`\n(simulated on a virtual clock; wall time ${fmt((performance.now() - wallStart) / 1000)} s)`);
}

void main();
