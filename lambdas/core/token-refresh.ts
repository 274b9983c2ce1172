import { runWithConcurrency } from './pacing';
import * as z from 'zod/mini';
import { PROVIDER_IDS, TAG, TOKEN_GRANTS, TOKEN_TAG } from './contracts';
import { KeyrotorError, ProviderRateLimitError, ProviderUnavailableError, ValidationError } from './errors';
import { tryPublishSecretEvent, type EventPublisher, type SecretEventFields } from './events';
import { fingerprintOf } from './fingerprint';
import { registerSecret } from './redaction';
import { describeIssues } from './secret-value';
import type { LoggerPort } from '../ports/logger';
import type { MetricsPort } from '../ports/metrics';
import type { MintedToken, TokenMinter, TokenSpec } from '../ports/token-minter';
import type { TokenSecret, TokenStore } from '../ports/token-store';

/** When and how hard to renew. */
export interface RefreshPolicy {
  /** Renew once this fraction of a token's lifetime has passed. @default 0.75 */
  readonly renewAtFraction: number;
  /**
   * Up to this fraction of the lifetime is added at random, so a fleet minted together drifts
   * apart over its renewals instead of renewing at once. It comes out of the outage a token can
   * ride out: (1 − renewAtFraction − jitterFraction) × lifetime, less one refresh period.
   * @default 0.05
   */
  readonly jitterFraction: number;
  /** The refresher's schedule period: a token that would expire before the next run is renewed now. @default 300_000 */
  readonly windowMs: number;
  /** Tokens renewed at once. @default 4 */
  readonly concurrency: number;
}

export const DEFAULT_REFRESH_POLICY: RefreshPolicy = { renewAtFraction: 0.75, jitterFraction: 0.05, windowMs: 300_000, concurrency: 4 };

export interface RefreshDeps {
  readonly store: TokenStore;
  readonly minter: TokenMinter;
  /**
   * Where `TokenRefreshed` and `TokenRefreshFailed` go (keyrotor's bus). The refresher sends no
   * alert itself: the notifier turns these events into alerts and dedupes repeated failures.
   */
  readonly events: EventPublisher;
  readonly metrics: MetricsPort;
  readonly logger: LoggerPort;
  readonly policy: RefreshPolicy;
  readonly now: () => Date;
  /** @default Math.random */
  readonly random?: () => number;
}

/**
 * The token secret's value: what applications read. `refreshAt` is keyrotor's own plan for it;
 * `sourceVersionId` is the Secrets Manager version id of the source secret's AWSCURRENT value the
 * token was minted from (absent from tokens minted before keyrotor recorded it).
 */
export const tokenValueSchema = z.looseObject({
  accessToken: z.string().check(z.minLength(1)),
  tokenType: z.string().check(z.minLength(1)),
  expiresAt: z.iso.datetime({ offset: true }),
  issuedAt: z.iso.datetime({ offset: true }),
  refreshAt: z.optional(z.iso.datetime({ offset: true })),
  sourceVersionId: z.optional(z.string().check(z.minLength(1))),
});
export type TokenValue = z.infer<typeof tokenValueSchema>;

export type TokenOutcome = 'renewed' | 'fresh' | 'failed';

/**
 * Why a token is renewed in this run: the secret holds no token yet (`missing`), the source's key
 * was replaced since the token was minted (`source-replaced`: a rotation or a compromise, after
 * which the platform may already refuse the old token), or its time has come (`due`).
 */
export type RenewalReason = 'missing' | 'source-replaced' | 'due';

/** Why a `source-replaced` renewal happened, as its event's summary says it. */
const SOURCE_REPLACED = 'its source key was replaced';

export interface RefreshReport {
  readonly renewed: string[];
  readonly fresh: string[];
  readonly failed: { readonly secret: string; readonly errorName: string }[];
}

/** Reads a token secret's spec from its tags. @throws ValidationError naming the missing or wrong tags. */
export function tokenSpecOf(secret: TokenSecret): TokenSpec {
  const tags = secret.tags;
  const problems: string[] = [];
  const grant = tags[TOKEN_TAG.grant];
  const provider = tags[TAG.provider];
  const source = tags[TOKEN_TAG.source];
  if (!TOKEN_GRANTS.includes(grant as never)) problems.push(`${TOKEN_TAG.grant}: must be one of ${TOKEN_GRANTS.join(', ')}`);
  if (!PROVIDER_IDS.includes(provider as never)) problems.push(`${TAG.provider}: must be a known provider`);
  if (!source) problems.push(`${TOKEN_TAG.source}: is required (the secret that mints the token)`);
  const tokenUrl = tags[TOKEN_TAG.tokenUrl];
  if (grant === 'client-credentials' && !tokenUrl) problems.push(`${TOKEN_TAG.tokenUrl}: is required for client-credentials`);
  const clientAuth = tags[TOKEN_TAG.clientAuth] ?? 'basic';
  if (clientAuth !== 'basic' && clientAuth !== 'body') problems.push(`${TOKEN_TAG.clientAuth}: must be basic or body`);
  if (problems.length > 0) throw new ValidationError(`tags of token secret ${secret.name}`, problems);
  const scopes = tags[TOKEN_TAG.scopes]?.split(/\s+/).filter((s) => s.length > 0);
  return {
    grant: grant as TokenSpec['grant'],
    provider: provider as string,
    source: source as string,
    ...(tokenUrl ? { tokenUrl } : {}),
    ...(scopes && scopes.length > 0 ? { scopes } : {}),
    clientAuth: clientAuth as 'basic' | 'body',
  };
}

function parseToken(raw: string | undefined): TokenValue | undefined {
  if (raw === undefined) return undefined;
  try {
    const result = tokenValueSchema.safeParse(JSON.parse(raw));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When a freshly minted token should be renewed: after `renewAtFraction` of its lifetime plus
 * up to `jitterFraction` at random — but never so late that it would expire before the run
 * after that (a token too short-lived for that is renewed at the fraction, without jitter).
 */
export function refreshAtFor(token: MintedToken, policy: RefreshPolicy, random: number): Date {
  const issued = Date.parse(token.issuedAt);
  const expires = Date.parse(token.expiresAt);
  const lifetime = Math.max(0, expires - issued);
  const earliest = issued + lifetime * policy.renewAtFraction;
  const latest = expires - policy.windowMs;
  const jittered = earliest + lifetime * policy.jitterFraction * random;
  return new Date(Math.max(earliest, Math.min(jittered, latest)));
}

/**
 * Whether a token must be renewed in this run: at its planned refresh time, or when it would
 * expire before the next run. The second rule only bites for a token too short-lived for the
 * schedule (lifetime under period / (1 − renewAtFraction)); it is then renewed before the
 * fraction, because a valid token matters more than the floor.
 */
export function isDue(token: TokenValue | undefined, now: Date, policy: RefreshPolicy): boolean {
  if (!token) return true;
  const refreshAt = Date.parse(token.refreshAt ?? new Date(Date.parse(token.issuedAt) + (Date.parse(token.expiresAt) - Date.parse(token.issuedAt)) * policy.renewAtFraction).toISOString());
  return now.getTime() >= refreshAt || Date.parse(token.expiresAt) - now.getTime() <= policy.windowMs;
}

/**
 * Whether the token's source secret has a different AWSCURRENT version than the one the token was
 * minted from. Decided from the listing, so a run where nothing changed reads no source at all.
 * A token minted before keyrotor recorded its source version is taken as up to date (time still
 * renews it, and from then on it carries the version): treating every such token as changed would
 * renew a whole fleet in the first run after a deploy, against the platforms' rate limits, for no
 * known change. A source the listing does not show (no `keyrotor:kind` tag) cannot be watched either.
 *
 * ListSecrets is eventually consistent (AWS: it may not reflect the last few minutes), so a
 * disagreement is confirmed with DescribeSecret of that one source (no decryption) before
 * renewing: otherwise a listing that still shows the version just replaced would renew the token
 * again on every run until it caught up. A change the listing has not shown yet is seen a run later.
 */
async function sourceReplaced(secret: TokenSecret, current: TokenValue, deps: RefreshDeps): Promise<boolean> {
  const minted = current.sourceVersionId;
  const listed = secret.listedSourceVersionId;
  const source = secret.tags[TOKEN_TAG.source];
  if (minted === undefined || listed === undefined || listed === minted || source === undefined) return false;
  try {
    const confirmed = await deps.store.describeCurrentVersionId(source);
    if (confirmed === minted) {
      deps.logger.debug('the listing shows an older source version than the token was minted from; nothing to do', { secret: secret.name, source });
      return false;
    }
    return confirmed !== undefined;
  } catch (error) {
    // Renewing once too often costs one token request; keeping a token the platform may have ended costs its readers.
    deps.logger.warn('could not confirm the source version the listing shows; renewing on the listing\'s word', { secret: secret.name, source, errorName: errorName(error) });
    return true;
  }
}

/** Why the token must be renewed now, or `undefined` while it is fresh. */
async function renewalReason(secret: TokenSecret, current: TokenValue | undefined, now: Date, deps: RefreshDeps): Promise<RenewalReason | undefined> {
  if (current === undefined) return 'missing';
  if (await sourceReplaced(secret, current, deps)) return 'source-replaced';
  return isDue(current, now, deps.policy) ? 'due' : undefined;
}


function humanDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes >= 120 ? `${Math.round(minutes / 60)} h` : `${minutes} min`;
}

/** Bounds free text for an event field (the detail schema caps summaries at 1,000 characters). */
function bounded(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** The refresh-state tag's values: which state of a token people have been told about. */
type RefreshState = 'ok' | 'failing' | 'expired';

/**
 * One run of the token refresher: renews every token that is due, one renewal per token,
 * at most `policy.concurrency` at once, and publishes what happened on keyrotor's bus:
 * `TokenRefreshed` for each renewal, `TokenRefreshFailed` for each failed one. A failed renewal
 * never overwrites a token. People hear of it once while the old token is still valid (WARNING,
 * with the time it has left) and once more, as CRITICAL, when it has expired; a later success
 * says it recovered. The `keyrotor:refresh-state` tag records the state last announced on the bus.
 */
export async function refreshTokens(deps: RefreshDeps): Promise<RefreshReport> {
  const secrets = await deps.store.listTokenSecrets();
  const report: { renewed: string[]; fresh: string[]; failed: { secret: string; errorName: string }[] } = { renewed: [], fresh: [], failed: [] };
  await runWithConcurrency(secrets, deps.policy.concurrency, async (secret) => {
    try {
      const outcome = await refreshOne(secret, deps);
      if (outcome === 'renewed') report.renewed.push(secret.name);
      else if (outcome === 'fresh') report.fresh.push(secret.name);
      else report.failed.push({ secret: secret.name, errorName: 'RenewalFailed' });
    } catch (error) {
      // Storing or tagging failed: the token in the secret is unchanged; the next run tries again.
      deps.logger.error('token refresh failed unexpectedly', { secret: secret.name, errorName: errorName(error) });
      report.failed.push({ secret: secret.name, errorName: errorName(error) });
    }
  });
  deps.logger.info('token refresh run complete', { renewed: report.renewed.length, fresh: report.fresh.length, failed: report.failed.length });
  return report;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

async function refreshOne(secret: TokenSecret, deps: RefreshDeps): Promise<TokenOutcome> {
  const now = deps.now();
  const current = parseToken(await deps.store.readCurrent(secret.arn));
  if (current) registerSecret(current.accessToken);
  const reason = await renewalReason(secret, current, now, deps);
  if (reason === undefined) return 'fresh';
  if (reason === 'source-replaced') {
    deps.logger.info('renewing the token now: its source key was replaced', { secret: secret.name, source: secretSource(secret), reason });
  }

  let minted: MintedToken;
  let sourceVersionId: string | undefined;
  try {
    const spec = tokenSpecOf(secret);
    const source = await deps.store.readCurrentVersion(spec.source);
    if (source === undefined) throw new ValidationError(`source secret ${spec.source}`, ['has no value']);
    registerSecret(source.value);
    // The version actually read, not the listed one: the listing may lag behind it.
    sourceVersionId = source.versionId ?? secret.listedSourceVersionId;
    minted = await deps.minter.mint(spec, source.value);
    registerSecret(minted.accessToken);
  } catch (error) {
    await renewalFailed(secret, current, reason, error, deps);
    return 'failed';
  }

  const refreshAt = refreshAtFor(minted, deps.policy, (deps.random ?? Math.random)());
  const value: TokenValue = { ...minted, refreshAt: refreshAt.toISOString(), ...(sourceVersionId === undefined ? {} : { sourceVersionId }) };
  await deps.store.writeCurrent(secret.arn, JSON.stringify(value));
  deps.metrics.count('TokenRenewals');
  if (reason === 'source-replaced') deps.metrics.count('TokenRenewalsForReplacedSource');
  const remaining = current ? Math.max(0, (Date.parse(current.expiresAt) - now.getTime()) / 1000) : 0;
  deps.metrics.record('TokenLifetimeLeftAtRenewal', remaining, 'Seconds');
  deps.logger.info('token renewed', { secret: secret.name, reason, expiresAt: minted.expiresAt, refreshAt: refreshAt.toISOString(), lifetimeLeftSeconds: Math.round(remaining) });
  const because = reason === 'source-replaced' ? ` because ${SOURCE_REPLACED} (${secretSource(secret)} has a new current version)` : '';

  const previousState = secret.tags[TOKEN_TAG.refreshState];
  const recovered = previousState !== undefined && previousState !== 'ok';
  const fields: SecretEventFields = {
    step: 'refresh',
    fingerprint: fingerprintOf(minted.accessToken),
    expiresAt: minted.expiresAt,
    ...(recovered
      ? {
          // TokenRefreshed is quiet at INFO; the all-clear after an alert must reach the people who got it.
          severity: 'WARNING',
          summary: bounded(
            `The access token in ${secret.name} was renewed again${because} after earlier failures (${previousState === 'expired' ? 'it had expired or was missing' : 'the old token was still valid'}); the new token is valid until ${minted.expiresAt}.`,
            1000,
          ),
          done: 'Renewed the access token and wrote it to its token secret; applications reading the secret get the new token.',
          action: `Nothing to do: this ends the earlier token renewal alerts for ${secret.name}. The refresher keeps renewing it on its own.`,
        }
      : { severity: 'INFO', summary: bounded(`Renewed the access token in ${secret.name}${because}; the new token is valid until ${minted.expiresAt}.`, 1000) }),
  };
  const published = await tryPublishSecretEvent(deps.events, deps.logger, secret, 'TokenRefreshed', fields);
  // Left as it is when the all-clear did not reach the bus: the next renewal announces it.
  if (recovered && published) await deps.store.setTag(secret.arn, TOKEN_TAG.refreshState, 'ok');
  return 'renewed';
}

async function renewalFailed(secret: TokenSecret, current: TokenValue | undefined, reason: RenewalReason, error: unknown, deps: RefreshDeps): Promise<void> {
  const now = deps.now().getTime();
  const left = current ? Date.parse(current.expiresAt) - now : 0;
  const state: RefreshState = left > 0 ? 'failing' : 'expired';
  const cause = bounded(error instanceof KeyrotorError ? `${error.name}: ${error.message}` : errorName(error), 300);
  deps.metrics.count('TokenRenewalFailures');
  deps.logger.warn('token renewal failed; the stored token is unchanged', { secret: secret.name, reason, state, lifetimeLeftSeconds: Math.round(Math.max(0, left) / 1000), errorName: errorName(error) });
  const replaced = reason === 'source-replaced';
  // After a replaced source key (above all a compromise) the platform may already refuse the kept token.
  const why = replaced ? ` because ${SOURCE_REPLACED}` : '';
  const transition = secret.tags[TOKEN_TAG.refreshState] !== state;
  // Every failure goes on the bus (the audit trail) when the notifier can tell it is the same
  // failure as the last: the same severity and the old token's expiry make the same dedupe key, so
  // people get one alert per state, not one per run. Without an old token there is no expiry to
  // key on (the notifier would fall back to the day and remind daily), so only the change is published.
  if (!transition && current === undefined) return;
  // Only an outage or rate limiting is the platform's passing problem; any other refusal (rejected
  // credentials, a scope the client may not have, a malformed source secret) needs a person.
  const credentialsProblem = !(error instanceof ProviderUnavailableError || error instanceof ProviderRateLimitError);
  const action = credentialsProblem
    ? `Check the source secret ${secretSource(secret)} and the token's settings (the OAuth client or API key may have been revoked or changed, or lack a scope) and fix them; the refresher retries every run.`
    : `keyrotor retries on every run (the platform was unavailable or rate limiting). If it persists, check the platform's status.`;
  const fields: SecretEventFields = {
    step: 'refresh',
    errorName: errorName(error),
    action,
    ...(current ? { expiresAt: current.expiresAt, fingerprint: fingerprintOf(current.accessToken) } : {}),
    ...(state === 'failing'
      ? {
          severity: 'WARNING',
          summary: bounded(
            `Renewing the access token in ${secret.name}${why} failed (${cause}). The current token stays in place and is valid until ${current?.expiresAt} (${humanDuration(left)} left)${replaced ? ', unless the platform ended it with the replaced key' : ''}.`,
            1000,
          ),
          done: 'Kept the stored token (a failed renewal never overwrites it); the refresher retries on every run.',
        }
      : {
          severity: 'CRITICAL',
          summary: bounded(
            `The access token in ${secret.name} ${current ? `expired at ${current.expiresAt}` : 'is missing'} and renewing it${why} failed (${cause}). Applications reading it are failing now.`,
            1000,
          ),
          done: 'Kept what the token secret holds (a failed renewal never overwrites it); the refresher retries on every run.',
        }),
  };
  const published = await tryPublishSecretEvent(deps.events, deps.logger, secret, 'TokenRefreshFailed', fields);
  // Recorded only once the event is on the bus, so a lost one is published again by the next run.
  if (transition && published) await deps.store.setTag(secret.arn, TOKEN_TAG.refreshState, state);
}

function secretSource(secret: TokenSecret): string {
  return secret.tags[TOKEN_TAG.source] ?? '(unknown: the keyrotor:token-source tag is missing)';
}

/** Validates the refresher's schedule event (EventBridge Scheduler sends an empty object by default). */
export function parseRefreshEvent(event: unknown): void {
  const result = z.looseObject({}).safeParse(event ?? {});
  if (!result.success) throw new ValidationError('refresh event', describeIssues(result.error.issues));
}
