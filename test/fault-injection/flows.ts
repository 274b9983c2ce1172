/**
 * The flows of the matrix, each a full rotation through keyrotor's real core functions with
 * every port wrapped by the fault layer:
 *
 * - A `api-issued`: an Imburse-like platform (FakeApiPlatform) whose keys keyrotor creates and
 *   revokes by API. Secrets Manager's schedule opens a rotation and runs the four steps (with its
 *   retries); after the grace period the one-time schedule invokes the revoker (with Lambda's
 *   retries).
 * - B `human-issued`: Thought Industries through the real provider and HTTP helper over a
 *   stubbed `fetch` (the platform verifies keys a person made). A person creates a key in the
 *   admin panel and runs `keyrotor submit` (again while it fails); the rotation it starts tests
 *   and promotes the key; the ManualActionRequired alert asks the person to remove the old key,
 *   which they do when it reaches them.
 * - C `compromise`: a security tool reports the current key of the API platform compromised
 *   (KeyCompromised naming its fingerprint, so a redelivery is harmless); the compromise responder
 *   (with Lambda's retries) tags the secret and starts a rotation whose finishSecret revokes the
 *   compromised key the moment its replacement is AWSCURRENT.
 */
import { randomUUID } from 'node:crypto';
import { respondToCompromise, type CompromiseReport } from '../../lambdas/core/compromise';
import { STAGE, TAG } from '../../lambdas/core/contracts';
import { ValidationError } from '../../lambdas/core/errors';
import { fingerprintOf } from '../../lambdas/core/fingerprint';
import { submitKey } from '../../lambdas/core/submit';
import type { Provider } from '../../lambdas/ports/provider';
import { createProviderRegistry } from '../../lambdas/providers/registry';
import { FakeApiPlatform } from '../support/fakes/fake-api-provider';
import { stubThoughtIndustries } from '../support/fakes/platform-fetch';
import { NO_WAIT, TI_LIVE_NEW, TI_LIVE_OLD, tiTags, tiValue } from '../support/fixtures';
import { faultyFetch, faultyProvider, type Fault, type ProviderRoutes } from './fault-layer';
import { GRACE_PERIOD_MS, World, type DeliveredAlert } from './simulated-aws';

export type FlowId = 'A' | 'B' | 'C' | 'D';

/** A key as the platform holds it. `id` is printable (a public key id or a fingerprint); `secret` never is. */
export interface PlatformKey {
  readonly id: string;
  readonly secret: string;
  readonly active: boolean;
  /** `initial`: the key before the flow; `rotation`: created by keyrotor; `person`: created by a person. */
  readonly origin: 'initial' | 'rotation' | 'person';
}

export interface VersionState {
  readonly versionId: string;
  readonly stages: readonly string[];
  /** The platform key id its value holds, if it holds one. */
  readonly keyId?: string;
}

/** A notice a person must get: exactly once, or at least once where a redelivery legitimately repeats it. */
export interface RequiredNotice {
  readonly name: string;
  readonly matches: (alert: DeliveredAlert) => boolean;
  readonly exactlyOnce: boolean;
}

/** Everything the invariants look at once a run has settled. */
export interface Observation {
  readonly flow: FlowId;
  readonly world: World;
  readonly keys: readonly PlatformKey[];
  readonly versions: readonly VersionState[];
  /** What the flow is for, and what of it is missing once everything settled (empty when it got there). */
  readonly goalMissing: readonly string[];
  /** The same, before the daily sweeps (keyrotor's backstop) ran: shows which scenarios only the backstop rescued. */
  readonly goalMissingBeforeSweep: readonly string[];
  readonly notices: readonly RequiredNotice[];
  /** Every secret value a platform handed out or a person typed; none may appear in any output. */
  readonly secrets: readonly string[];
}

export interface FlowDefinition {
  readonly id: FlowId;
  readonly name: string;
  readonly run: (fault?: Fault) => Promise<Observation>;
}

const MINUTE_MS = 60_000;
/** The next daily sweep runs this long after the grace period (past the sweep's 1 h revocation slack). */
const SWEEP_DELAY_MS = 2 * 3_600_000;

const IMBURSE_BASE = 'https://sandbox-api.imburse.net';
const IMBURSE_SECRET = 'keyrotor/imburse-sandbox';
const IMBURSE_TAGS = { [TAG.provider]: 'imburse', [TAG.environment]: 'sandbox', [TAG.kind]: 'api-key', [TAG.baseUrl]: IMBURSE_BASE };
const IMBURSE_ROUTES: ProviderRoutes = {
  verify: `POST ${IMBURSE_BASE}/v1/identity/hmac`,
  issueKey: `POST ${IMBURSE_BASE}/v1/tenant/tenant-1/keys`,
  revokeKey: `DELETE ${IMBURSE_BASE}/v1/tenant/tenant-1/keys/{publicKey}`,
  listKeys: `GET ${IMBURSE_BASE}/v1/tenant/tenant-1/keys`,
};
const TI_SECRET = 'keyrotor/acme-prod';

function imburseValue(key: { publicKey: string; privateKey: string }): string {
  return JSON.stringify({ provider: 'imburse', environment: 'sandbox', baseUrl: IMBURSE_BASE, tenantId: 'tenant-1', ...key });
}

function parse(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function versionsOf(world: World, keyIdOf: (raw: string | undefined) => string | undefined): Promise<VersionState[]> {
  const versions: VersionState[] = [];
  for (const { versionId, stages } of world.sm.versionsOf(world.arn)) {
    const keyId = keyIdOf(await world.sm.getValue(world.arn, { versionId }));
    versions.push({ versionId, stages, ...(keyId ? { keyId } : {}) });
  }
  return versions;
}

/** A pending rotation left behind: AWSPENDING on a version that is not AWSCURRENT. */
function danglingPending(versions: readonly VersionState[]): string | undefined {
  const dangling = versions.find((v) => v.stages.includes(STAGE.pending) && !v.stages.includes(STAGE.current));
  return dangling ? `a rotation is left pending (AWSPENDING on ${dangling.versionId}, holding ${dangling.keyId ?? 'no key'})` : undefined;
}

/** The API platform (Imburse-like), faulted at the Provider port. */
function apiPlatformWorld(fault: Fault | undefined) {
  const world = new World(fault);
  const platform = new FakeApiPlatform();
  const original = platform.addKey('original');
  world.arn = world.sm.create(IMBURSE_SECRET, { value: imburseValue(original), tags: IMBURSE_TAGS });
  const provider = faultyProvider(platform.provider() as unknown as Provider, world.faults, IMBURSE_ROUTES);
  world.providers = { get: () => provider };
  const keyIdOf = (raw: string | undefined) => {
    const value = parse(raw);
    return typeof value?.publicKey === 'string' ? value.publicKey : undefined;
  };
  world.monitor(() => {
    const raw = world.sm.valueAt(world.arn, STAGE.current);
    const value = parse(raw);
    const key = typeof value?.publicKey === 'string' ? platform.keys.get(value.publicKey) : undefined;
    if (!key) return 'AWSCURRENT holds no key the platform knows';
    if (!key.active || key.privateKey !== value?.privateKey) return `AWSCURRENT holds key ${key.publicKey}, which the platform rejects (revoked)`;
    return undefined;
  });
  const keys = (): PlatformKey[] =>
    [...platform.keys.values()].map((k) => ({ id: k.publicKey, secret: k.privateKey, active: k.active, origin: k.name === 'original' ? 'initial' : 'rotation' }));
  return { world, platform, original, keyIdOf, keys };
}

/** A: a scheduled rotation of an API-issued key, then the deferred revocation of the old one. */
async function apiIssued(fault?: Fault): Promise<Observation> {
  const { world, original, keyIdOf, keys } = apiPlatformWorld(fault);
  // The rotation schedule: Secrets Manager opens a pending version and invokes the four steps.
  world.faults.phase = 'Secrets Manager schedule';
  const token = world.sm.openPendingVersion(world.arn);
  await world.rotate(token);
  // The grace period passes; the one-time schedule invokes the revoker.
  world.advance(GRACE_PERIOD_MS + MINUTE_MS);
  await world.fireDueRevocations();

  const goal = async () => {
    const versions = await versionsOf(world, keyIdOf);
    const current = versions.find((v) => v.stages.includes(STAGE.current));
    const missing = [
      ...(current?.keyId === original.publicKey ? ['the rotation did not promote a new key (AWSCURRENT is still the original key)'] : []),
      ...(keys().find((k) => k.id === original.publicKey)?.active ? ['the old key was not revoked after the grace period'] : []),
      ...[danglingPending(versions)].filter((s): s is string => s !== undefined),
    ];
    return { versions, missing };
  };
  const before = await goal();
  world.advance(SWEEP_DELAY_MS);
  await world.dailySweeps();
  const after = await goal();
  const finalKeys = keys();
  return { flow: 'A', world, keys: finalKeys, versions: after.versions, goalMissing: after.missing, goalMissingBeforeSweep: before.missing, notices: [], secrets: finalKeys.map((k) => k.secret) };
}

/**
 * Thought Industries through the real provider and HTTP helper over a stubbed `fetch`; the person
 * removes the old key when an alert asks them to, and hands a new key over with `keyrotor submit`
 * (running it again while it fails).
 */
function thoughtIndustriesWorld(fault: Fault | undefined) {
  const world = new World(fault);
  const platform = stubThoughtIndustries([TI_LIVE_OLD]);
  world.arn = world.sm.create(TI_SECRET, { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
  world.providers = createProviderRegistry({
    fetch: faultyFetch(platform.fetch, world.faults, (url, init) => `${init?.method ?? 'GET'} ${new URL(url).pathname}`),
    sleep: async () => undefined,
  });
  const keyIdOf = (raw: string | undefined) => {
    const value = parse(raw);
    return typeof value?.apiKey === 'string' ? fingerprintOf(value.apiKey) : undefined;
  };
  world.monitor(() => {
    const value = parse(world.sm.valueAt(world.arn, STAGE.current));
    if (typeof value?.apiKey !== 'string') return 'AWSCURRENT holds no API key';
    return platform.validKeys.has(value.apiKey) ? undefined : `AWSCURRENT holds key ${fingerprintOf(value.apiKey)}, which the platform rejects (401)`;
  });
  const oldFingerprint = fingerprintOf(TI_LIVE_OLD);
  const newFingerprint = fingerprintOf(TI_LIVE_NEW);
  // The person acts on the alert that asks them to remove the old key (from finishSecret, or from a daily sweep that finds it still working).
  world.reactions.push((alert) => {
    if (alert.type === 'ManualActionRequired' && alert.fingerprint === oldFingerprint) platform.validKeys.delete(TI_LIVE_OLD);
  });
  const submitDeps = { store: world.store(), providers: world.registry(), logger: world.capture.logger, propagation: NO_WAIT, now: () => world.clock, ledger: world.ledgerPort() };
  /** The person creates a key in the admin panel and hands it over (again while `submit` fails, until it says the key is already current). */
  const handOver = async () => {
    platform.validKeys.add(TI_LIVE_NEW);
    await world.person(
      'keyrotor submit',
      () => submitKey(TI_SECRET, `${TI_LIVE_NEW}\n`, submitDeps),
      (error) => error instanceof ValidationError && /already current/.test(error.message),
    );
  };
  const goal = async () => {
    const versions = await versionsOf(world, keyIdOf);
    const current = versions.find((v) => v.stages.includes(STAGE.current));
    const missing = [
      ...(current?.keyId !== newFingerprint ? ['the new key was not promoted to AWSCURRENT'] : []),
      ...(platform.validKeys.has(TI_LIVE_OLD) ? ['the old key is still live at the platform (nobody was asked to remove it)'] : []),
      ...[danglingPending(versions)].filter((s): s is string => s !== undefined),
    ];
    return { versions, missing };
  };
  const keys = (): PlatformKey[] => [
    { id: oldFingerprint, secret: TI_LIVE_OLD, active: platform.validKeys.has(TI_LIVE_OLD), origin: 'initial' },
    ...(platform.validKeys.has(TI_LIVE_NEW) || platform.calls.length > 0 ? [{ id: newFingerprint, secret: TI_LIVE_NEW, active: platform.validKeys.has(TI_LIVE_NEW), origin: 'person' as const }] : []),
  ];
  const removeOldKey: RequiredNotice = {
    name: 'ManualActionRequired "remove the old key"',
    matches: (a) => a.type === 'ManualActionRequired' && a.fingerprint === oldFingerprint,
    exactlyOnce: true,
  };
  return { world, handOver, goal, keys, removeOldKey };
}

/** Settles a Thought Industries flow: the grace period, the daily sweeps (and what people do about their alerts). */
async function settleHumanFlow(flow: FlowId, ti: ReturnType<typeof thoughtIndustriesWorld>, notices: RequiredNotice[]): Promise<Observation> {
  const { world } = ti;
  world.advance(GRACE_PERIOD_MS + MINUTE_MS);
  const before = await ti.goal();
  world.advance(SWEEP_DELAY_MS);
  await world.dailySweeps();
  const after = await ti.goal();
  return { flow, world, keys: ti.keys(), versions: after.versions, goalMissing: after.missing, goalMissingBeforeSweep: before.missing, notices, secrets: [TI_LIVE_OLD, TI_LIVE_NEW] };
}

/** B: a person hands over a key made in the admin panel; the rotation promotes it; the person removes the old key when asked. */
async function humanIssued(fault?: Fault): Promise<Observation> {
  const ti = thoughtIndustriesWorld(fault);
  await ti.handOver();
  return settleHumanFlow('B', ti, [ti.removeOldKey]);
}

/**
 * D: the rotation schedule fires for a human-issued key: createSecret asks a person for a key
 * (ManualActionRequired, on every retry of the service); the person makes one and hands it over
 * into the waiting rotation, which then finishes.
 */
async function humanScheduled(fault?: Fault): Promise<Observation> {
  const ti = thoughtIndustriesWorld(fault);
  const { world } = ti;
  let asked = false;
  world.reactions.push((alert) => {
    if (alert.type === 'ManualActionRequired' && alert.step === 'createSecret' && !asked) {
      asked = true;
      world.personTasks.push(ti.handOver);
    }
  });
  world.faults.phase = 'Secrets Manager schedule';
  const token = world.sm.openPendingVersion(world.arn);
  await world.rotate(token);
  await world.peopleAct();
  const handOverNotice: RequiredNotice = {
    name: 'ManualActionRequired "hand over a new key"',
    matches: (a) => a.type === 'ManualActionRequired' && a.step === 'createSecret',
    exactlyOnce: true,
  };
  return settleHumanFlow('D', ti, [handOverNotice, ti.removeOldKey]);
}

/** C: a compromise report for the API platform's current key: rotate at once, revoke the leaked key on promotion. */
async function compromise(fault?: Fault): Promise<Observation> {
  const { world, platform, original, keyIdOf, keys } = apiPlatformWorld(fault);
  const leaked = fingerprintOf(original.privateKey);
  const report: CompromiseReport = { secretId: IMBURSE_SECRET, reportedBy: 'security-hub', reason: 'key found in a public repository', fingerprint: leaked };
  const deps = { store: world.store(), providers: world.registry(), ledger: world.ledgerPort(), logger: world.capture.logger, now: () => world.clock, newToken: randomUUID, events: world.events() };
  await world.invokeAsync('compromise responder', report, async () => {
    await respondToCompromise(report, deps);
  });
  // The revoker takes over a minute after a failed revocation on promotion.
  world.advance(2 * MINUTE_MS);
  await world.fireDueRevocations();
  const deadWithinMinutes = platform.keys.get(original.publicKey)?.active === false;
  world.advance(GRACE_PERIOD_MS);
  await world.fireDueRevocations();

  const goal = async () => {
    const versions = await versionsOf(world, keyIdOf);
    const current = versions.find((v) => v.stages.includes(STAGE.current));
    const missing = [
      ...(current?.keyId === original.publicKey ? ['no replacement key was promoted (AWSCURRENT is still the compromised key)'] : []),
      ...(deadWithinMinutes ? [] : ['the compromised key was not revoked when its replacement became AWSCURRENT (it lived on into the grace period)']),
      ...(platform.keys.get(original.publicKey)?.active ? ['the compromised key is still live at the platform'] : []),
      ...[danglingPending(versions)].filter((s): s is string => s !== undefined),
    ];
    return { versions, missing };
  };
  const before = await goal();
  world.advance(SWEEP_DELAY_MS);
  await world.dailySweeps();
  const after = await goal();
  const notices: RequiredNotice[] = [{ name: 'KeyCompromised (CRITICAL)', matches: (a) => a.type === 'KeyCompromised', exactlyOnce: false }];
  const finalKeys = keys();
  return { flow: 'C', world, keys: finalKeys, versions: after.versions, goalMissing: after.missing, goalMissingBeforeSweep: before.missing, notices, secrets: finalKeys.map((k) => k.secret) };
}

export const FLOWS: readonly FlowDefinition[] = [
  { id: 'A', name: 'api-issued (Imburse-like): scheduled rotation + deferred revocation', run: apiIssued },
  { id: 'B', name: 'human-issued (Thought Industries): keyrotor submit + rotation + remove-old-key notice', run: humanIssued },
  { id: 'C', name: 'compromise (Imburse-like): KeyCompromised → rotation → revoke on promotion', run: compromise },
  { id: 'D', name: 'human-issued, scheduled (Thought Industries): the schedule asks for a key → keyrotor submit into the waiting rotation', run: humanScheduled },
];
