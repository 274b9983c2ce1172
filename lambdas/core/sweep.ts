import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import { BOOTSTRAP_SECRET_MARKER, STAGE, TAG, type ProviderId } from './contracts';
import { KeyrotorError, ProviderAuthError, ProviderPermissionError, ProviderRateLimitError, ValidationError } from './errors';
import { publishSecretEvent, type EventPublisher, type EventType } from './events';
import { fingerprintOf, fingerprintTagValue } from './fingerprint';
import { recordAfterTheFact } from './ledger-record';
import { Pacer, runWhile } from './pacing';
import { registerSecret } from './redaction';
import { keyIdOf, keyNameFor } from './rotation';
import { resolveSecretContext } from './secret-context';
import { credentialStrings, describeIssues, parseSecretValue, type ManagedSecretValue, type SecretContext } from './secret-value';
import type { Ledger } from '../ports/ledger';
import type { LoggerPort } from '../ports/logger';
import type { MetricsPort } from '../ports/metrics';
import type { Provider } from '../ports/provider';
import type { RevocationScheduler } from '../ports/revocation-scheduler';
import type { InventoryEntry, SecretInventory } from '../ports/secret-inventory';
import { versionWithStage, type SecretStore } from '../ports/secret-store';
import type { SweepContinuation } from '../ports/sweep-continuation';
import type { ProviderRegistry } from '../providers/registry';

/**
 * The daily sweep (DESIGN §2): once a day, every managed API-key secret is looked at.
 *
 * - By policy, from what a listing shows (dates, stages, tags; nothing decrypted): advance
 *   warnings before a due rotation (platforms where a person makes the key) and before a declared
 *   expiry (all platforms); overdue rotations (started where the platform issues keys by API,
 *   escalated to a person otherwise); stuck rotations (a dangling AWSPENDING: re-driven, or its
 *   label removed when the service refuses; on person-issued platforms a pending rotation waits
 *   for `keyrotor submit` and is escalated).
 * - Live, reading values: a health check of the current key (a 401 means it was revoked outside
 *   keyrotor), and the previous key once its revocation date has passed (a 401 confirms it is
 *   revoked; a key still working is re-scheduled for revocation or handed to a person). A secret
 *   still holding its bootstrap value is reported instead, and a secret under a compromise
 *   response (`keyrotor:compromised`) is left to that response.
 *
 * Calls to one platform instance are spaced, Secrets Manager writes paced, and a run over many
 * secrets continues in a fresh invocation at a page boundary instead of timing out.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The sweep's service name: its logs, and the `service` dimension of its metrics. */
export const SWEEP_SERVICE_NAME = 'keyrotor-sweep';

/** The metric the invocation that finishes a run emits (the missed-sweep alarm watches it). */
export const SWEEP_HEARTBEAT_METRIC = 'SweepCompleted';

/** The message of the line logged per secret swept (its key's age, days to rotation and to expiry); the dashboard queries it. */
export const SECRET_SWEPT_MESSAGE = 'secret swept';

/** Days before a due rotation or declared expiry at which people are warned. */
export const DEFAULT_WARNING_DAYS: readonly number[] = [14, 7, 3, 1];

/** How the sweep judges and how hard it works. */
export interface SweepPolicy {
  /** Days before a deadline at which to warn, descending; the last one warns CRITICAL. @default [14, 7, 3, 1] */
  readonly warningDays: readonly number[];
  /** A pending rotation (AWSPENDING on a version that is not AWSCURRENT) older than this is stuck. @default 24 h */
  readonly stuckAfterMs: number;
  /** How long an old key stays alive after its rotation before it is revoked (config `defaults.gracePeriodHours`). @default 24 h */
  readonly gracePeriodMs: number;
  /** Secrets checked at once. @default 4 */
  readonly concurrency: number;
  /** How long past NextRotationDate a rotation counts as overdue: Secrets Manager rotates within a window. @default 1 h */
  readonly overdueSlackMs: number;
  /** How long past its revocation date an old key may still answer before the sweep acts. @default 1 h */
  readonly revocationSlackMs: number;
  /** A person's action becomes CRITICAL once it has waited this long. @default 7 days */
  readonly escalateAfterMs: number;
  /** Hand the rest of the listing to a new invocation when less time than this (plus the longest page so far) is left. @default 3 min */
  readonly timeMarginMs: number;
  /** When a re-scheduled revocation fires, from now (a one-time schedule must lie in the future). @default 5 min */
  readonly rescheduleDelayMs: number;
  /**
   * Spacing of the sweep's calls to one platform instance, by provider: Thought Industries allows
   * about 250 requests per 15 minutes per instance (one per 3.6 s), Thinkific 120 per minute per
   * site; applications share those limits, so the sweep stays well below them.
   */
  readonly platformSpacingMs: Readonly<Partial<Record<ProviderId, number>>>;
  /** Spacing for platforms without an entry in `platformSpacingMs`. @default 500 ms */
  readonly defaultPlatformSpacingMs: number;
  /**
   * Platforms whose rate limit belongs to each credential rather than to the host: Thinkific
   * serves every site from api.thinkific.com and limits each site (one token per site), so its
   * checks are spaced per secret, not fleet-wide per host. @default ['thinkific']
   */
  readonly rateLimitPerCredential?: readonly ProviderId[];
  /** Spacing of Secrets Manager writes (RotateSecret, TagResource, UpdateSecretVersionStage; 50/s per account and region). @default 100 ms */
  readonly writeSpacingMs: number;
  /** Listing pages (of 100) swept together, interleaved across platform instances. @default DEFAULT_PAGES_PER_BATCH (100) */
  readonly pagesPerBatch?: number;
}

export const DEFAULT_SWEEP_POLICY: SweepPolicy = {
  warningDays: DEFAULT_WARNING_DAYS,
  stuckAfterMs: 24 * HOUR_MS,
  gracePeriodMs: 24 * HOUR_MS,
  concurrency: 20,
  overdueSlackMs: HOUR_MS,
  revocationSlackMs: HOUR_MS,
  escalateAfterMs: 7 * DAY_MS,
  timeMarginMs: 3 * 60_000,
  rescheduleDelayMs: 5 * 60_000,
  platformSpacingMs: { 'thought-industries': 4_000, thinkific: 1_000 },
  rateLimitPerCredential: ['thinkific'],
  defaultPlatformSpacingMs: 500,
  writeSpacingMs: 100,
};

export interface SweepDeps {
  readonly inventory: SecretInventory;
  /** Rotations, staging labels and tags (the writes). */
  readonly store: SecretStore;
  readonly providers: ProviderRegistry;
  readonly ledger: Ledger;
  readonly revocations: RevocationScheduler;
  readonly events: EventPublisher;
  readonly continuation: SweepContinuation;
  readonly metrics: MetricsPort;
  readonly logger: LoggerPort;
  readonly policy: SweepPolicy;
  readonly now: () => Date;
  /** Time left in this invocation (the Lambda context's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs: () => number;
  /** New rotation tokens and run ids. @default crypto.randomUUID */
  readonly newToken?: () => string;
  /** Spaces platform calls and Secrets Manager writes. @default a Pacer on the real clock */
  readonly pacer?: Pacer;
}

/** The sweep's event: EventBridge Scheduler sends `{}`; a continuation carries where to pick up. */
export interface SweepRequest {
  /** The listing's cursor of the batch to start in; absent to start from the beginning. */
  readonly cursor?: string;
  /** How many secrets of that batch, in the sweep's interleaved order, an earlier invocation swept already. */
  readonly skip?: number;
  /** The run a continuation belongs to; a new run gets a new id. */
  readonly runId?: string;
}

const requestSchema = z.strictObject({
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(8192))),
  skip: z.optional(z.int().check(z.minimum(0), z.maximum(1_000_000))),
  runId: z.optional(z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/, { error: 'must be 1 to 64 letters, digits or hyphens' }))),
});

/**
 * Validates the sweep's event (`null` and `undefined` count as `{}`).
 * @throws ValidationError naming each wrong or unknown field.
 */
export function parseSweepRequest(event: unknown): SweepRequest {
  const result = requestSchema.safeParse(event ?? {});
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys' ? issue.keys.map((key) => `${key}: is not a known field (the sweep takes cursor, skip and runId)`) : describeIssues([issue]),
    );
    throw new ValidationError('sweep event', problems);
  }
  return result.data;
}

/** What became of a secret in a sweep; one secret can come to several (a warning and a healthy key). */
export const SWEEP_OUTCOMES = [
  /** The current key answered the health check. */
  'healthy',
  /** The health check could not decide (5xx, timeout, 429, 403): not a revocation. */
  'check-failed',
  /** The platform rejects the current key (401). */
  'revoked-externally',
  /** Still holding the value `cdk deploy` gave it. */
  'bootstrap',
  /** The current value is not a managed secret value. */
  'invalid-value',
  /** A warning before a due rotation or a declared expiry. */
  'warned',
  /** The declared expiry has passed. */
  'expired',
  /** The sweep started a rotation (overdue, or the current key revoked externally). */
  'rotation-started',
  /** Starting a rotation was refused. */
  'rotation-start-failed',
  /** A person must create a key: overdue on a person-issued platform, or a pending rotation still waiting for `keyrotor submit`. */
  'awaiting-person',
  /** A stuck rotation re-driven with its own token. */
  'stuck-redriven',
  /** A stuck rotation whose re-drive was refused: its AWSPENDING label was removed. */
  'stuck-label-removed',
  /** A stuck rotation the sweep could neither re-drive nor clear. */
  'stuck-repair-failed',
  /** Rotation is disabled for a managed secret. */
  'rotation-disabled',
  /** The old key answers 401: recorded in the ledger and tagged. */
  'old-key-confirmed-revoked',
  /** The old key still works past its revocation date; its revocation was scheduled again. */
  'old-key-revocation-rescheduled',
  /** The old key still works past its revocation date and a person must remove it. */
  'old-key-still-active',
  /** Tagged keyrotor:compromised: live checks left to the compromise response. */
  'compromised-skipped',
  /** Live checks left for the next run: this invocation could not wait for the platform's next free slot (little time left, or a long Retry-After). */
  'deferred',
  /** Sweeping this secret failed unexpectedly (logged); the next run tries again. */
  'failed',
] as const;
export type SweepOutcome = (typeof SWEEP_OUTCOMES)[number];

/** What one invocation did. */
export interface SweepReport {
  readonly runId: string;
  /** `complete`: this invocation swept the last page (the run is over); `continued`: the rest went to a new invocation. */
  readonly status: 'complete' | 'continued';
  readonly pages: number;
  readonly secrets: number;
  /** How many secrets came to each outcome. */
  readonly outcomes: Readonly<Record<SweepOutcome, number>>;
  /** Secrets skipped because a compromise response is running for them. */
  readonly compromised: readonly string[];
  /** Where the continuation picks up (status `continued`): the batch's cursor (absent for the first batch) and how many of its secrets are done. */
  readonly cursor?: string;
  readonly skip?: number;
}

/** Which warning a deadline calls for now: a threshold crossed (`warn-<days>d`), or the deadline passed. */
export type DeadlineWarning = { readonly kind: 'warn'; readonly days: number; readonly last: boolean } | { readonly kind: 'passed' };

/**
 * The warning due for a deadline at `now`: the smallest threshold of `warningDays` that the time
 * left has crossed (`last` when it is the smallest of all), `passed` once the deadline is reached,
 * or `undefined` while no threshold is crossed. Pure; the same answer all day, so a second sweep
 * on one day repeats the same warning (the notifier alerts once).
 */
export function deadlineWarning(deadline: Date, now: Date, warningDays: readonly number[]): DeadlineWarning | undefined {
  const left = deadline.getTime() - now.getTime();
  if (left <= 0) return { kind: 'passed' };
  const crossed = warningDays.filter((days) => left <= days * DAY_MS);
  if (crossed.length === 0) return undefined;
  const days = Math.min(...crossed);
  return { kind: 'warn', days, last: days === Math.min(...warningDays) };
}

/** The value stored in `keyrotor:revocation-confirmed` for a fingerprint (see fingerprintTagValue). */
export const revocationConfirmedTagValue = fingerprintTagValue;

function isBootstrapValue(raw: string): boolean {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && (value as Record<string, unknown>).keyrotor === BOOTSTRAP_SECRET_MARKER.keyrotor;
  } catch {
    return false;
  }
}

/** `3 days`, `5 h`, `40 min`. */
export function humanDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= 2 * DAY_MS) return `${Math.floor(abs / DAY_MS)} days`;
  if (abs >= 2 * HOUR_MS) return `${Math.floor(abs / HOUR_MS)} h`;
  return `${Math.max(1, Math.round(abs / 60_000))} min`;
}

function bounded(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The fields an event about a secret is given (the rest come from the secret's tags). */
type SecretEventFields = Parameters<typeof publishSecretEvent>[4];

/** `revoked-externally` → `SweepRevokedExternally`. */
export function outcomeMetricName(outcome: SweepOutcome): string {
  return `Sweep${outcome.replace(/(^|-)([a-z])/g, (_match, _dash: string, letter: string) => letter.toUpperCase())}`;
}

function counts(): Record<SweepOutcome, number> {
  return Object.fromEntries(SWEEP_OUTCOMES.map((outcome) => [outcome, 0])) as Record<SweepOutcome, number>;
}

/** What one invocation shares between the secrets it sweeps. */
interface Run {
  readonly deps: SweepDeps;
  readonly pacer: Pacer;
  readonly newToken: () => string;
  readonly outcomes: Record<SweepOutcome, number>;
  readonly compromised: string[];
}

/**
 * Sweeps the managed API-key secrets, page by page, from `request.cursor`. When the invocation
 * runs short of time at a page boundary it hands the rest to a new invocation
 * (`deps.continuation`) and returns `continued`; the invocation that sweeps the last page emits
 * the `SweepCompleted` heartbeat. A failure with one secret is logged and counted, never stops
 * the run; a failure to list or to continue fails the invocation (Lambda retries it).
 */
/** Listing pages (of 100) swept as one batch: 100 is a fleet of 10,000, all its platform instances interleaved. */
export const DEFAULT_PAGES_PER_BATCH = 100;

/**
 * A page's secrets reordered round-robin across platform instances (base URLs), so the lanes
 * draw secrets of different instances and do not all wait on one instance's pacing while the
 * others idle (a listing grouped by customer otherwise serialises the page: bench/fleet.ts).
 */
export function interleaveByInstance<T extends { readonly name: string; readonly tags: Readonly<Record<string, string>> }>(entries: readonly T[]): T[] {
  const byInstance = new Map<string, T[]>();
  for (const entry of entries) {
    const key = entry.tags[TAG.baseUrl] ?? entry.name;
    const queue = byInstance.get(key);
    if (queue) queue.push(entry);
    else byInstance.set(key, [entry]);
  }
  const queues = [...byInstance.values()];
  const result: T[] = [];
  for (let round = 0; result.length < entries.length; round++) {
    for (const queue of queues) if (round < queue.length) result.push(queue[round] as T);
  }
  return result;
}

export async function sweep(request: SweepRequest, deps: SweepDeps): Promise<SweepReport> {
  const newToken = deps.newToken ?? randomUUID;
  const runId = request.runId ?? newToken();
  const run: Run = { deps, pacer: deps.pacer ?? new Pacer(), newToken, outcomes: counts(), compromised: [] };
  let cursor = request.cursor;
  let skip = request.skip ?? 0;
  let pages = 0;
  let secrets = 0;
  let status: SweepReport['status'] = 'complete';
  let resumeAt: { cursor?: string; skip: number } | undefined;

  for (;;) {
    // A batch of pages is swept together, interleaved across platform instances: a listing
    // grouped by customer would otherwise leave each page waiting on one or two instances. When
    // time runs short the sweep starts no new secret, and a continuation picks up in the same
    // batch after the secrets done (the listing is re-read from the batch's cursor).
    const batchStart = cursor;
    const batch: InventoryEntry[] = [];
    let next: string | undefined;
    for (let inBatch = 0; ; ) {
      const page = await deps.inventory.listPage('api-key', cursor);
      pages += 1;
      inBatch += 1;
      batch.push(...page.secrets);
      next = page.nextCursor;
      if (next !== undefined && next === cursor) throw new KeyrotorError('the secret listing returned the cursor it was given; stopping this sweep instead of sweeping the same page forever');
      if (next === undefined || inBatch >= (deps.policy.pagesPerBatch ?? DEFAULT_PAGES_PER_BATCH)) break;
      cursor = next;
    }
    const ordered = interleaveByInstance(batch);
    const done = skip;
    skip = 0;
    // Every invocation sweeps at least one secret, so a chain always moves on.
    const keepGoing = () => secrets + started === 0 || deps.remainingTimeMs() >= deps.policy.timeMarginMs;
    let started = 0;
    const swept = await runWhile(ordered.slice(done), deps.policy.concurrency, (entry) => {
      started += 1;
      return sweepSecret(entry, run);
    }, keepGoing);
    secrets += swept;
    if (done + swept < ordered.length) {
      resumeAt = { ...(batchStart === undefined ? {} : { cursor: batchStart }), skip: done + swept };
      await deps.continuation.continueWith({ ...resumeAt, runId });
      status = 'continued';
      break;
    }
    if (next === undefined) break;
    cursor = next;
  }

  if (status === 'complete') deps.metrics.count(SWEEP_HEARTBEAT_METRIC);
  deps.metrics.count('SweepSecretsChecked', secrets);
  for (const outcome of ['revoked-externally', 'rotation-started', 'stuck-redriven', 'stuck-label-removed', 'check-failed', 'deferred', 'failed'] as const) {
    if (run.outcomes[outcome] > 0) deps.metrics.count(outcomeMetricName(outcome), run.outcomes[outcome]);
  }
  const report: SweepReport = {
    runId,
    status,
    pages,
    secrets,
    outcomes: run.outcomes,
    compromised: run.compromised,
    ...(resumeAt ?? {}),
  };
  deps.logger.info(status === 'complete' ? 'sweep complete' : 'sweep continues in a new invocation', { ...report });
  return report;
}

/** Everything known about one secret while it is swept. */
interface SecretState {
  readonly entry: InventoryEntry;
  readonly now: Date;
  readonly outcomes: SweepOutcome[];
  context?: SecretContext;
  provider?: Provider;
  current?: ManagedSecretValue;
  currentFingerprint?: string;
  /** A rotation is in progress: AWSPENDING on a version that is not AWSCURRENT (or the sweep just started one). */
  pendingVersion?: string;
}

async function sweepSecret(entry: InventoryEntry, run: Run): Promise<void> {
  const state: SecretState = { entry, now: run.deps.now(), outcomes: [] };
  try {
    await sweepOne(state, run);
  } catch (error) {
    state.outcomes.push('failed');
    run.deps.logger.error('could not sweep this secret; the next sweep tries again', {
      secret: entry.name,
      errorName: errorName(error),
      ...(error instanceof KeyrotorError ? { reason: error.message } : {}),
    });
  }
  for (const outcome of new Set(state.outcomes)) run.outcomes[outcome] += 1;
  // Per-key figures go to this line, not to metrics (a metric per secret is billed per secret per month); the dashboard charts them with Logs Insights.
  run.deps.logger.info(SECRET_SWEPT_MESSAGE, {
    secret: entry.name,
    provider: state.context?.provider,
    outcomes: [...new Set(state.outcomes)],
    ...(state.currentFingerprint ? { fingerprint: state.currentFingerprint } : {}),
    ...keyDays(entry, state.now),
  });
}

function pendingVersionOf(entry: InventoryEntry): string | undefined {
  return Object.entries(entry.versionIdsToStages).find(([, stages]) => stages.includes(STAGE.pending) && !stages.includes(STAGE.current))?.[0];
}

async function sweepOne(state: SecretState, run: Run): Promise<void> {
  const { entry } = state;
  const { deps } = run;
  const compromised = entry.tags[TAG.compromised] !== undefined;
  state.pendingVersion = pendingVersionOf(entry);

  // Values are read only for the live checks, which a compromise response owns.
  let raw: string | undefined;
  let bootstrap = false;
  if (!compromised) {
    raw = await deps.inventory.readValue(entry.arn, STAGE.current);
    bootstrap = raw !== undefined && isBootstrapValue(raw);
    if (raw !== undefined && !bootstrap) {
      try {
        state.current = parseSecretValue(raw, `current value of ${entry.name}`);
        const strings = credentialStrings(state.current);
        registerSecret(...strings);
        state.currentFingerprint = fingerprintOf(strings[0] ?? '');
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        await invalidValue(state, run, error);
      }
    }
  }
  try {
    state.context = resolveSecretContext(entry, state.current);
  } catch (error) {
    // A compromise response is running whatever this secret lacks; report it as such.
    if (compromised) skipCompromised(state, run);
    throw error;
  }
  state.provider = deps.providers.get(state.context.provider);
  recordMetrics(state, run);

  if (bootstrap) {
    await awaitingFirstKey(state, run);
    return;
  }
  await expiryWarning(state, run);
  if (!entry.rotationEnabled) {
    state.outcomes.push('rotation-disabled');
    deps.logger.warn('rotation is disabled for a managed secret; keyrotor deploys it enabled (run cdk deploy)', { secret: entry.name });
  } else if (state.pendingVersion !== undefined) {
    await pendingRotation(state, run);
  } else {
    await dueOrOverdue(state, run);
  }

  if (compromised) {
    skipCompromised(state, run);
    return;
  }
  if (!state.current) return;
  const healthy = await checkCurrentKey(state, run);
  if (healthy) await checkPreviousKey(state, run);
}

function skipCompromised(state: SecretState, run: Run): void {
  state.outcomes.push('compromised-skipped');
  run.compromised.push(state.entry.name);
  run.deps.logger.warn('secret is tagged keyrotor:compromised: live checks are left to the compromise response', { secret: state.entry.name });
}

function recordMetrics(state: SecretState, run: Run): void {
  const record = run.deps.metrics.recordWithDimensions?.bind(run.deps.metrics);
  if (!record || !state.context) return;
  const dimensions = { provider: state.context.provider };
  const { ageDays, daysToRotation, daysToExpiry } = keyDays(state.entry, state.now);
  if (ageDays !== undefined) record('KeyAgeDays', ageDays, dimensions);
  if (daysToRotation !== undefined) record('DaysToRotation', daysToRotation, dimensions);
  if (daysToExpiry !== undefined) record('DaysToExpiry', daysToExpiry, dimensions);
}

/** A key's age and the days left to its next rotation and declared expiry (2 decimals), from the listing; each absent when its date is unknown. */
function keyDays(entry: InventoryEntry, now: Date): { ageDays?: number; daysToRotation?: number; daysToExpiry?: number } {
  const keySince = entry.lastRotatedDate ?? entry.createdDate;
  const expiresAt = declaredExpiry(entry);
  return {
    ...(keySince ? { ageDays: round2((now.getTime() - keySince.getTime()) / DAY_MS) } : {}),
    ...(entry.nextRotationDate ? { daysToRotation: round2((entry.nextRotationDate.getTime() - now.getTime()) / DAY_MS) } : {}),
    ...(expiresAt ? { daysToExpiry: round2((expiresAt.getTime() - now.getTime()) / DAY_MS) } : {}),
  };
}

function declaredExpiry(entry: InventoryEntry): Date | undefined {
  const tag = entry.tags[TAG.expiresAt];
  if (tag === undefined) return undefined;
  const at = Date.parse(tag);
  return Number.isNaN(at) ? undefined : new Date(at);
}

function emit(run: Run, state: SecretState, type: EventType, fields: SecretEventFields): Promise<void> {
  const bounds = { summary: 1000, done: 1000, action: 2000 } as const;
  const trimmed = { ...fields };
  for (const key of Object.keys(bounds) as (keyof typeof bounds)[]) {
    const value = trimmed[key];
    if (typeof value === 'string') trimmed[key] = bounded(value, bounds[key]);
  }
  return publishSecretEvent(run.deps.events, run.deps.logger, state.entry, type, trimmed as SecretEventFields);
}

/** A Secrets Manager write, paced under the account's quota. */
async function write<T>(run: Run, call: () => Promise<T>): Promise<T> {
  await run.pacer.slot('secretsmanager:write', run.deps.policy.writeSpacingMs);
  return call();
}

/** What a platform's rate limit is counted against: the instance (host), or the credential where the platform limits each one. */
function rateLimitScope(run: Run, state: SecretState, context: SecretContext): string {
  const perCredential = (run.deps.policy.rateLimitPerCredential ?? ['thinkific']).includes(context.provider);
  return perCredential ? `platform:${context.baseUrl}:${state.entry.name}` : `platform:${context.baseUrl}`;
}

/**
 * Waits for the next free slot of the secret's platform instance (calls are spaced per
 * instance). When this invocation cannot afford the wait — little time left, or the platform
 * asked for a long pause — the live check is left for the next run and `false` returned: a
 * timed-out invocation would be retried from the top of its page and time out again.
 */
async function platformSlot(run: Run, state: SecretState, context: SecretContext): Promise<boolean> {
  const key = rateLimitScope(run, state, context);
  const { policy } = run.deps;
  if (run.deps.remainingTimeMs() - run.pacer.waitFor(key) < policy.timeMarginMs / 2) {
    state.outcomes.push('deferred');
    run.deps.logger.warn('not enough time left in this invocation to wait for the platform; live check left for the next run', {
      secret: state.entry.name,
      waitMs: run.pacer.waitFor(key),
    });
    return false;
  }
  await run.pacer.slot(key, policy.platformSpacingMs[context.provider] ?? policy.defaultPlatformSpacingMs);
  return true;
}

/** What a person is told to do to hand over a new key for this secret. */
function issueInstructions(state: SecretState): string {
  const { entry, context, provider, now } = state;
  if (!context || !provider) return `Hand over a new key: npx keyrotor submit ${entry.name}`;
  const text = provider.manual.issue({ secretName: entry.name, baseUrl: context.baseUrl, environment: context.environment, keyName: keyNameFor(entry.name, now) });
  return text.includes('npx keyrotor submit') ? text : `${text} Then hand it over with: npx keyrotor submit ${entry.name}`;
}

function currentVersionOf(state: SecretState): string | undefined {
  return versionWithStage(state.entry, STAGE.current);
}

async function invalidValue(state: SecretState, run: Run, error: ValidationError): Promise<void> {
  state.outcomes.push('invalid-value');
  run.deps.logger.error('the current value is not a managed secret value; no health check', { secret: state.entry.name, problems: error.issues });
  await emit(run, state, 'ManualActionRequired', {
    step: 'verify',
    ...(currentVersionOf(state) ? { rotation: currentVersionOf(state) } : {}),
    errorName: error.name,
    summary: `The current value of ${state.entry.name} is not a valid keyrotor secret value (${error.issues.join('; ')}), so keyrotor can neither check nor rotate its key.`,
    done: 'Nothing: the secret is unchanged.',
    action: `Put a valid value in: npx keyrotor submit ${state.entry.name} (the README's "Secret schema" lists the fields), then confirm with npx keyrotor verify ${state.entry.name}.`,
  });
}

async function awaitingFirstKey(state: SecretState, run: Run): Promise<void> {
  state.outcomes.push('bootstrap');
  const version = currentVersionOf(state);
  await emit(run, state, 'ManualActionRequired', {
    step: 'createSecret',
    ...(version ? { rotation: version } : {}),
    summary: `${state.entry.name} is awaiting its first key: it still holds the placeholder value cdk deploy gave it, so there is no key to check or rotate.`,
    done: 'Nothing: the sweep checks this secret again on its next run.',
    action: issueInstructions(state),
  });
}

/** Warnings before, and the alarm after, a declared expiry (`keyrotor:expires-at`), on every platform. */
async function expiryWarning(state: SecretState, run: Run): Promise<void> {
  const expiresAt = declaredExpiry(state.entry);
  if (state.entry.tags[TAG.expiresAt] !== undefined && !expiresAt) {
    run.deps.logger.warn(`the ${TAG.expiresAt} tag is not an ISO 8601 date; no expiry warning`, { secret: state.entry.name });
  }
  if (!expiresAt) return;
  const warning = deadlineWarning(expiresAt, state.now, run.deps.policy.warningDays);
  if (!warning) return;
  const iso = expiresAt.toISOString();
  const rotate = state.provider?.capabilities.issueByApi
    ? `Rotate before then: aws secretsmanager rotate-secret --secret-id ${state.entry.name} (keyrotor creates the new key by API).`
    : issueInstructions(state);
  if (warning.kind === 'passed') {
    state.outcomes.push('expired');
    await emit(run, state, 'KeyExpiringSoon', {
      step: 'expired',
      expiresAt: iso,
      severity: 'CRITICAL',
      ...(state.currentFingerprint ? { fingerprint: state.currentFingerprint } : {}),
      summary: `The current key of ${state.entry.name} expired at ${iso} (${humanDuration(state.now.getTime() - expiresAt.getTime())} ago); applications using it are failing.`,
      done: 'Nothing: the secret still holds the expired key.',
      action: rotate,
    });
    return;
  }
  state.outcomes.push('warned');
  await emit(run, state, 'KeyExpiringSoon', {
    step: `warn-${warning.days}d`,
    expiresAt: iso,
    severity: warning.last ? 'CRITICAL' : 'WARNING',
    ...(state.currentFingerprint ? { fingerprint: state.currentFingerprint } : {}),
    summary: `The current key of ${state.entry.name} expires at ${iso}, in ${humanDuration(expiresAt.getTime() - state.now.getTime())}.`,
    done: 'Nothing beyond this warning: the key is still current and working.',
    action: rotate,
  });
}

/**
 * No rotation in progress: warn ahead of a due rotation where a person must make the key, and act
 * on an overdue one (start it where the platform issues keys by API, escalate to a person otherwise).
 */
async function dueOrOverdue(state: SecretState, run: Run): Promise<void> {
  const { entry, now, provider } = state;
  const due = entry.nextRotationDate;
  if (!due || !provider) return;
  const dueIso = due.toISOString();
  const late = now.getTime() - due.getTime();
  if (late > run.deps.policy.overdueSlackMs) {
    if (provider.capabilities.issueByApi) {
      await startRotation(state, run, { reason: 'overdue', situation: `${entry.name} was due for rotation at ${dueIso} and is ${humanDuration(late)} overdue` });
      return;
    }
    state.outcomes.push('awaiting-person');
    await emit(run, state, 'ManualActionRequired', {
      step: 'createSecret',
      rotation: dueIso,
      severity: late >= run.deps.policy.escalateAfterMs ? 'CRITICAL' : 'WARNING',
      summary: `${entry.name} was due for rotation at ${dueIso} and is ${humanDuration(late)} overdue; ${provider.displayName} keys can only be created by a person.`,
      done: `Nothing changed: the current key keeps working. The sweep reminds you on every run, as CRITICAL once the rotation is ${humanDuration(run.deps.policy.escalateAfterMs)} overdue.`,
      action: issueInstructions(state),
    });
    return;
  }
  if (provider.capabilities.issueByApi || late > 0) return;
  const warning = deadlineWarning(due, now, run.deps.policy.warningDays);
  if (!warning || warning.kind !== 'warn') return;
  state.outcomes.push('warned');
  await emit(run, state, 'KeyExpiringSoon', {
    step: `warn-${warning.days}d`,
    rotation: dueIso,
    severity: warning.last ? 'CRITICAL' : 'WARNING',
    ...(state.currentFingerprint ? { fingerprint: state.currentFingerprint } : {}),
    summary: `${entry.name} is due for rotation at ${dueIso}, in ${humanDuration(due.getTime() - now.getTime())}, and ${provider.displayName} keys can only be created by a person.`,
    done: 'Nothing beyond this warning: the current key keeps working.',
    action: `Create the new key before ${dueIso}. ${issueInstructions(state)}`,
  });
}

/**
 * Starts a rotation with a new token (a paced write). An overdue rotation is reported here; the
 * caller reports one started for a key revoked externally. Returns the token, or undefined when refused.
 */
async function startRotation(state: SecretState, run: Run, why: { reason: 'overdue' | 'revoked-externally'; situation?: string }): Promise<string | undefined> {
  const token = run.newToken();
  try {
    await write(run, () => run.deps.store.startRotation(state.entry.arn, token));
  } catch (error) {
    state.outcomes.push('rotation-start-failed');
    run.deps.logger.warn('could not start a rotation', { secret: state.entry.name, reason: why.reason, errorName: errorName(error) });
    if (why.reason === 'overdue') {
      await emit(run, state, 'RotationFailed', {
        step: 'sweep',
        errorName: errorName(error),
        summary: `${why.situation ?? state.entry.name}, and Secrets Manager refused to start a rotation (${errorName(error)}).`,
        done: 'Nothing changed: the current key keeps working. The sweep tries again on its next run.',
        action: `Start it by hand: aws secretsmanager rotate-secret --secret-id ${state.entry.name}; if that is refused too, check the secret's rotation configuration and the rotation function's logs.`,
      });
    }
    return undefined;
  }
  state.pendingVersion = token;
  state.outcomes.push('rotation-started');
  run.deps.logger.info('rotation started', { secret: state.entry.name, reason: why.reason, clientRequestToken: token });
  if (why.reason === 'overdue') {
    await emit(run, state, 'RotationStarted', {
      step: 'sweep',
      rotation: token,
      summary: `${why.situation ?? state.entry.name}; the sweep started a rotation.`,
      done: `Started rotation ${token} with RotateSecret; the rotation function creates and verifies the new key and reports how it ends. The current key keeps working meanwhile.`,
    });
  }
  return token;
}

/** A rotation is in progress (a version holds AWSPENDING but not AWSCURRENT): fine while young; stuck, or waiting for a person, once old. */
async function pendingRotation(state: SecretState, run: Run): Promise<void> {
  const { entry, now, provider } = state;
  const pending = state.pendingVersion as string;
  const versions = await run.deps.inventory.listVersions(entry.arn);
  const createdDate = versions.find((version) => version.versionId === pending)?.createdDate;
  if (!createdDate) {
    run.deps.logger.warn('the pending version has no creation date; cannot tell whether it is stuck', { secret: entry.name, clientRequestToken: pending });
    return;
  }
  const age = now.getTime() - createdDate.getTime();
  if (age < run.deps.policy.stuckAfterMs || !provider) return;
  const since = createdDate.toISOString();

  if (!provider.capabilities.issueByApi) {
    // Not broken: a person-issued rotation waits for `keyrotor submit`.
    const due = entry.nextRotationDate;
    const waitingSince = Math.min(createdDate.getTime(), due && due.getTime() < now.getTime() ? due.getTime() : Number.POSITIVE_INFINITY);
    state.outcomes.push('awaiting-person');
    await emit(run, state, 'ManualActionRequired', {
      step: 'createSecret',
      rotation: pending,
      severity: now.getTime() - waitingSince >= run.deps.policy.escalateAfterMs ? 'CRITICAL' : 'WARNING',
      summary: `Rotation ${pending} of ${entry.name} has waited ${humanDuration(now.getTime() - waitingSince)} for a new key; ${provider.displayName} keys can only be created by a person.`,
      done: 'Nothing changed: the rotation stays open for your key and the current key keeps working.',
      action: issueInstructions(state),
    });
    return;
  }

  try {
    // RotateSecret with the pending version's own token is AWS's documented retry of that rotation.
    await write(run, () => run.deps.store.startRotation(entry.arn, pending));
    state.outcomes.push('stuck-redriven');
    run.deps.logger.warn('stuck rotation re-driven', { secret: entry.name, clientRequestToken: pending, pendingSince: since });
    await emit(run, state, 'RotationStarted', {
      step: 'sweep',
      rotation: pending,
      summary: `Rotation ${pending} of ${entry.name} was stuck (AWSPENDING since ${since}, ${humanDuration(age)}).`,
      done: `Re-drove it with RotateSecret and its own token (the documented retry path); the rotation function reports how it ends. The current key keeps working meanwhile.`,
    });
    return;
  } catch (refusal) {
    run.deps.logger.warn('Secrets Manager refused to re-drive a stuck rotation; removing its AWSPENDING label', { secret: entry.name, clientRequestToken: pending, errorName: errorName(refusal) });
    const orphanHint =
      `If that version held a key keyrotor had already created at ${provider.displayName} (npx keyrotor history ${entry.name} shows stored-pending for ${pending}), revoke that key at the platform.`;
    try {
      await write(run, () => run.deps.store.removeStage(entry.arn, STAGE.pending, pending));
    } catch (removal) {
      state.outcomes.push('stuck-repair-failed');
      run.deps.logger.error('could not remove the AWSPENDING label of a stuck rotation', { secret: entry.name, clientRequestToken: pending, errorName: errorName(removal) });
      await emit(run, state, 'RotationFailed', {
        step: 'sweep',
        rotation: pending,
        errorName: errorName(removal),
        severity: 'CRITICAL',
        summary: `Rotation ${pending} of ${entry.name} is stuck (AWSPENDING since ${since}); Secrets Manager refused to re-drive it (${errorName(refusal)}) and its AWSPENDING label could not be removed (${errorName(removal)}). No new rotation can start.`,
        done: 'Nothing changed: the current key keeps working.',
        action: `Remove the label by hand: aws secretsmanager update-secret-version-stage --secret-id ${entry.name} --version-stage AWSPENDING --remove-from-version-id ${pending}; then start a rotation: aws secretsmanager rotate-secret --secret-id ${entry.name}. ${orphanHint}`,
      });
      return;
    }
    state.outcomes.push('stuck-label-removed');
    state.pendingVersion = undefined;
    await emit(run, state, 'RotationFailed', {
      step: 'sweep',
      rotation: pending,
      errorName: errorName(refusal),
      summary: `Rotation ${pending} of ${entry.name} was stuck (AWSPENDING since ${since}) and Secrets Manager refused to re-drive it (${errorName(refusal)}).`,
      done: `Removed the AWSPENDING label from version ${pending}, so the next rotation can start. The current key is unchanged.`,
      action: `Start a new rotation now (or let the schedule do it): aws secretsmanager rotate-secret --secret-id ${entry.name}. Check the rotation function's logs for why ${pending} stuck. ${orphanHint}`,
    });
  }
}

/**
 * The health check of the current key. A 401 means it was revoked outside keyrotor; anything
 * else that fails is not a revocation. Returns whether the key answered.
 */
async function checkCurrentKey(state: SecretState, run: Run): Promise<boolean> {
  const { entry, context, provider, current } = state;
  if (!context || !provider || !current) return false;
  if (!(await platformSlot(run, state, context))) return false;
  try {
    await provider.verify(current, context);
    state.outcomes.push('healthy');
    return true;
  } catch (error) {
    if (error instanceof ProviderAuthError) {
      await revokedExternally(state, run);
      return false;
    }
    checkFailed(state, run, error, 'current');
    if (error instanceof ProviderPermissionError) {
      const version = currentVersionOf(state);
      await emit(run, state, 'ManualActionRequired', {
        step: 'verify',
        ...(version ? { rotation: version } : {}),
        errorName: error.name,
        ...(state.currentFingerprint ? { fingerprint: state.currentFingerprint } : {}),
        summary: `${provider.displayName} accepts the current key ${state.currentFingerprint ?? ''} of ${entry.name} but refused the sweep's read-only health check (HTTP 403). This is not a revocation.`,
        done: 'Nothing: the secret is unchanged.',
        action: `Check the key's role or scopes in the ${provider.displayName} admin panel (keyrotor's checks need read access), then confirm: npx keyrotor verify ${entry.name}`,
      });
    }
    return false;
  }
}

/** An outage, a timeout, rate limiting, a 403: logged and counted, never a revocation. */
function checkFailed(state: SecretState, run: Run, error: unknown, which: 'current' | 'previous'): void {
  state.outcomes.push('check-failed');
  if (error instanceof ProviderRateLimitError && error.retryAfterMs !== undefined && state.context) {
    // The platform asked for a pause: the next call to this instance waits for it.
    run.pacer.backOff(rateLimitScope(run, state, state.context), error.retryAfterMs);
  }
  run.deps.logger.warn('health check could not decide; not a revocation', { secret: state.entry.name, key: which, errorName: errorName(error) });
}

async function revokedExternally(state: SecretState, run: Run): Promise<void> {
  const { entry, provider, currentFingerprint: fingerprint } = state;
  if (!provider) return;
  state.outcomes.push('revoked-externally');
  run.deps.logger.error('the platform rejects the current key: revoked outside keyrotor', { secret: entry.name, fingerprint });
  const key = fingerprint ?? '(unknown fingerprint)';
  const investigate = `Find out who revoked ${key} (the ${provider.displayName} audit log); if nobody meant to, treat it as compromised (runbook docs/runbooks/key-compromised.md).`;
  let done: string;
  let action: string;
  let token: string | undefined;
  if (state.pendingVersion !== undefined) {
    done = `Nothing more: rotation ${state.pendingVersion} is already in progress; the secret still holds the rejected key.`;
    action = `Applications using ${entry.name} are failing now. ${provider.capabilities.issueByApi ? `If rotation ${state.pendingVersion} fails, put a key in by hand: ` : ''}${issueInstructions(state)} ${investigate}`;
  } else if (provider.capabilities.issueByApi) {
    token = await startRotation(state, run, { reason: 'revoked-externally' });
    done = token
      ? `Started rotation ${token} to replace it. It creates the new key with the current key, so it fails if ${provider.displayName} rejects that key for key management too.`
      : 'Could not start a rotation (Secrets Manager refused it); the secret still holds the rejected key.';
    action = `Applications using ${entry.name} are failing now. Confirm: npx keyrotor verify ${entry.name}. If ${token ? `rotation ${token}` : 'no rotation'} succeeds within minutes, nothing else is needed; otherwise put a key in by hand: ${issueInstructions(state)} ${investigate}`;
  } else {
    done = 'Nothing changed: the secret still holds the rejected key.';
    action = `Applications using ${entry.name} are failing now. Put a working key in: ${issueInstructions(state)} ${investigate}`;
  }
  await emit(run, state, 'KeyRevokedExternally', {
    step: 'verify',
    severity: 'CRITICAL',
    errorName: 'ProviderAuthError',
    ...(fingerprint ? { fingerprint } : {}),
    ...(token ? { rotation: token } : {}),
    summary: `${provider.displayName} rejects the current key ${key} of ${entry.name} (HTTP 401): it was revoked outside keyrotor.`,
    done,
    action,
  });
}

/**
 * The previous key, once its revocation date (last rotation + grace period) has passed and until
 * it is confirmed revoked: a 401 confirms it (ledger + tag, so it is checked once); a key that
 * still works is re-scheduled for revocation by API, or handed to a person.
 */
async function checkPreviousKey(state: SecretState, run: Run): Promise<void> {
  const { entry, now, context, provider } = state;
  const { policy } = run.deps;
  const previousVersion = versionWithStage(entry, STAGE.previous);
  const currentVersion = currentVersionOf(state);
  if (!previousVersion || !currentVersion || !entry.lastRotatedDate || !context || !provider) return;
  const revocationDate = new Date(entry.lastRotatedDate.getTime() + policy.gracePeriodMs);
  if (now.getTime() < revocationDate.getTime() + policy.revocationSlackMs) return;

  const raw = await run.deps.inventory.readValue(entry.arn, STAGE.previous);
  if (raw === undefined || isBootstrapValue(raw)) return;
  let previous: ManagedSecretValue;
  try {
    previous = parseSecretValue(raw, `previous value of ${entry.name}`);
  } catch {
    run.deps.logger.warn('the previous value is not a managed secret value; its key is not checked', { secret: entry.name });
    return;
  }
  const strings = credentialStrings(previous);
  registerSecret(...strings);
  const fingerprint = fingerprintOf(strings[0] ?? '');
  if (fingerprint === state.currentFingerprint) return;
  if (entry.tags[TAG.revocationConfirmed] === revocationConfirmedTagValue(fingerprint)) return;

  if (!(await platformSlot(run, state, context))) return;
  try {
    await provider.verify(previous, context);
  } catch (error) {
    if (error instanceof ProviderAuthError) {
      await confirmRevoked(state, run, { fingerprint, currentVersion, providerKeyId: keyIdOf(provider, previous) });
      return;
    }
    checkFailed(state, run, error, 'previous');
    return;
  }

  // Still working past its revocation date.
  const late = now.getTime() - revocationDate.getTime();
  const severity = late >= policy.escalateAfterMs ? 'CRITICAL' : 'WARNING';
  const providerKeyId = keyIdOf(provider, previous);
  const summary = `The old key ${fingerprint} of ${entry.name} still works ${humanDuration(late)} after its revocation date (${revocationDate.toISOString()}).`;
  if (provider.capabilities.revokeByApi && provider.revokeKey && providerKeyId !== undefined) {
    const at = new Date(now.getTime() + policy.rescheduleDelayMs);
    const outcome = await run.deps.revocations.schedule({ secretArn: entry.arn, token: currentVersion, versionId: previousVersion, providerKeyId, fingerprint }, at);
    state.outcomes.push('old-key-revocation-rescheduled');
    run.deps.logger.warn('old key still works past its revocation date; revocation scheduled again', { secret: entry.name, fingerprint, at: at.toISOString(), outcome });
    await emit(run, state, 'RotationFailed', {
      step: 'revoke',
      rotation: currentVersion,
      fingerprint,
      errorName: 'OldKeyStillActive',
      severity,
      summary,
      done:
        outcome === 'scheduled'
          ? `Scheduled its revocation again, for ${at.toISOString()} (schedule revoke-${currentVersion}).`
          : `Its revocation schedule revoke-${currentVersion} still exists; the revoker runs it.`,
      action: `Nothing if the next sweep finds the key revoked. Otherwise check the revoker's logs and the revocation dead-letter queue, or revoke the key in the ${provider.displayName} admin panel.`,
    });
    return;
  }
  state.outcomes.push('old-key-still-active');
  await emit(run, state, 'ManualActionRequired', {
    step: 'revoke',
    rotation: currentVersion,
    fingerprint,
    severity,
    summary,
    done: `Nothing: ${provider.displayName} keys can only be removed by a person. The sweep checks the key daily and confirms its removal once it answers HTTP 401.`,
    action: provider.manual.revoke({ secretName: entry.name, baseUrl: context.baseUrl, fingerprint }),
  });
}

async function confirmRevoked(state: SecretState, run: Run, key: { fingerprint: string; currentVersion: string; providerKeyId: string | undefined }): Promise<void> {
  const { entry, provider } = state;
  await recordAfterTheFact(run.deps.ledger, run.deps.logger, {
    secretArn: entry.arn,
    token: key.currentVersion,
    state: 'revoked',
    at: state.now.toISOString(),
    actor: 'sweep',
    fingerprint: key.fingerprint,
    ...(key.providerKeyId !== undefined ? { providerKeyId: key.providerKeyId } : {}),
    detail: 'confirmed by the daily sweep: the old key answers HTTP 401',
  });
  await write(run, () => run.deps.store.tag(entry.arn, { [TAG.revocationConfirmed]: revocationConfirmedTagValue(key.fingerprint) }));
  state.outcomes.push('old-key-confirmed-revoked');
  run.deps.logger.info('old key confirmed revoked', { secret: entry.name, fingerprint: key.fingerprint });
  // Where keyrotor revoked it by API the revoker announced it already; a person's removal is news.
  if (provider && !provider.capabilities.revokeByApi) {
    await emit(run, state, 'KeyRevoked', {
      step: 'revoke',
      rotation: key.currentVersion,
      fingerprint: key.fingerprint,
      summary: `The old key ${key.fingerprint} of ${entry.name} now answers HTTP 401: its removal in the ${provider.displayName} admin panel is confirmed.`,
      done: 'Recorded in the ledger (actor sweep); the sweep will not check this key again.',
    });
  }
}
