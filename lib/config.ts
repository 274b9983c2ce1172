/**
 * Deploy-time configuration of keyrotor: which credentials it manages, which access tokens it
 * keeps fresh, who hears about problems (and where their runbooks are), how long a replaced key
 * stays alive, and how long keyrotor's events are archived.
 *
 * The file is JSON (see `keyrotor.config.json`). {@link parseConfig} reports every problem at
 * once, each naming the field path (`credentials[1].baseUrl: must use https:// …`), so a person
 * fixes the file in one pass instead of one error per `cdk synth`.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { baseUrlProblem, normaliseBaseUrl } from '../lambdas/core/base-url';
import { ENVIRONMENTS, PROVIDER_IDS, TAG, TOKEN_GRANTS, TOKEN_TAG, type Environment, type ProviderId, type TokenGrant } from '../lambdas/core/contracts';
import { ConfigError } from '../lambdas/core/errors';
import { TENANT_ID_SHAPE } from '../lambdas/providers/thrive';

/**
 * Providers this release can rotate end to end: every provider keyrotor knows. A provider id is
 * added to PROVIDER_IDS together with its implementation.
 */
export const SUPPORTED_PROVIDER_IDS: readonly ProviderId[] = PROVIDER_IDS;
export type SupportedProviderId = ProviderId;

/** A credential id becomes the secret name `keyrotor/<id>`, so it is kept DNS-label-like. */
export const CREDENTIAL_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Secrets Manager accepts rotation intervals of 1 to 1000 days. */
export const MIN_ROTATION_INTERVAL_DAYS = 1;
export const MAX_ROTATION_INTERVAL_DAYS = 1000;

/** The policy for Thought Industries keys, and the default for every credential. */
export const DEFAULT_ROTATION_INTERVAL_DAYS = 90;

/**
 * How long a replaced key stays alive after a rotation before it is revoked, in whole hours.
 * The upper bound (90 days) is what the rotation Lambda's environment accepts.
 */
export const MIN_GRACE_PERIOD_HOURS = 1;
export const MAX_GRACE_PERIOD_HOURS = 2160;
export const DEFAULT_GRACE_PERIOD_HOURS = 24;

/** The runtime reader's cache TTL, in whole seconds (at most one day). */
export const MIN_READER_CACHE_TTL_SECONDS = 1;
export const MAX_READER_CACHE_TTL_SECONDS = 86_400;
export const DEFAULT_READER_CACHE_TTL_SECONDS = 300;

/** Secrets Manager tag values: at most 256 characters from this set. The base URL is stored in a tag. */
const TAG_VALUE_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

/**
 * The platforms whose short-lived access tokens keyrotor regenerates, and the one grant each
 * mints them with: an OAuth 2.0 client_credentials exchange, or Imburse's HMAC-signed exchange
 * of a managed tenant key.
 */
export const TOKEN_GRANT_BY_PROVIDER = {
  'thought-industries': 'client-credentials',
  thrive: 'client-credentials',
  imburse: 'imburse-hmac',
} as const satisfies Partial<Record<ProviderId, TokenGrant>>;
export type TokenProviderId = keyof typeof TOKEN_GRANT_BY_PROVIDER;
export const TOKEN_PROVIDER_IDS = Object.keys(TOKEN_GRANT_BY_PROVIDER) as readonly TokenProviderId[];

/** How an OAuth client authenticates at the token endpoint (the `keyrotor:client-auth` tag). */
export const CLIENT_AUTH_METHODS = ['basic', 'body'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];
/** client_secret_basic: what RFC 6749 requires every authorization server to support. */
export const DEFAULT_CLIENT_AUTH: ClientAuthMethod = 'basic';

/** Token refresher settings: how often it runs, when a token is due, how many renew at once. */
export const MIN_REFRESH_RATE_MINUTES = 1;
export const MAX_REFRESH_RATE_MINUTES = 60;
export const DEFAULT_REFRESH_RATE_MINUTES = 5;
export const MIN_RENEW_AT_FRACTION = 0.5;
export const MAX_RENEW_AT_FRACTION = 0.95;
export const DEFAULT_RENEW_AT_FRACTION = 0.75;
export const MIN_RENEW_JITTER_FRACTION = 0;
export const MAX_RENEW_JITTER_FRACTION = 0.2;
export const DEFAULT_RENEW_JITTER_FRACTION = 0.05;
export const MIN_REFRESH_CONCURRENCY = 1;
export const MAX_REFRESH_CONCURRENCY = 20;
export const DEFAULT_REFRESH_CONCURRENCY = 4;

/**
 * How long the event archive keeps keyrotor's events (the audit trail, and what can be replayed),
 * in whole days. EventBridge takes 0 as "keep forever"; keyrotor does not offer that (see
 * {@link ARCHIVE_RETENTION_MESSAGE}).
 */
export const MIN_ARCHIVE_RETENTION_DAYS = 1;
export const MAX_ARCHIVE_RETENTION_DAYS = 3650;
export const DEFAULT_ARCHIVE_RETENTION_DAYS = 365;

/** The CDK context key that names the config file (`cdk synth -c keyrotor:config=path`). */
export const CONFIG_CONTEXT_KEY = 'keyrotor:config';

/** Used when neither the context nor the caller names a config file. */
export const DEFAULT_CONFIG_PATH = 'keyrotor.config.json';

/** The prefix of every managed secret's name. */
export const SECRET_NAME_PREFIX = 'keyrotor/';

/** One managed credential, with defaults applied. */
export interface CredentialConfig {
  /** Unique id; the secret is named `keyrotor/<id>`. */
  readonly id: string;
  readonly provider: SupportedProviderId;
  readonly environment: Environment;
  /** The platform instance, normalised without a trailing slash. */
  readonly baseUrl: string;
  /** Days between scheduled rotations (1–1000). */
  readonly rotationIntervalDays: number;
  /** Free text for people; never stored in the secret. */
  readonly description?: string;
}

/** What every configured access token has, whatever mints it. */
interface TokenConfigCommon {
  /** Unique across credentials and tokens; the token secret is named `keyrotor/<id>/token`. */
  readonly id: string;
  readonly environment: Environment;
  /** Free text for people; never stored in a secret. */
  readonly description?: string;
}

/** An access token minted with OAuth 2.0 client_credentials from the client in `keyrotor/<id>/client`. */
export interface ClientCredentialsTokenConfig extends TokenConfigCommon {
  readonly grant: 'client-credentials';
  readonly provider: 'thought-industries' | 'thrive';
  /** The token endpoint; for Thrive it may be derived as `{baseUrl}/oauth2/token/{tenantId}`. */
  readonly tokenUrl: string;
  /** Requested scopes, each without spaces; left out when none are configured. */
  readonly scopes?: readonly string[];
  readonly clientAuth: ClientAuthMethod;
}

/** An Imburse access token minted from the tenant key pair of a managed Imburse credential. */
export interface ImburseHmacTokenConfig extends TokenConfigCommon {
  readonly grant: 'imburse-hmac';
  readonly provider: 'imburse';
  /** The id of the `credentials[]` entry (provider `imburse`) whose key mints the token. */
  readonly credential: string;
}

/** One access token the refresher keeps fresh, with defaults applied. */
export type TokenConfig = ClientCredentialsTokenConfig | ImburseHmacTokenConfig;

/** The token refresher's settings, with defaults applied. */
export interface TokenRefreshConfig {
  /** Minutes between refresher runs (1–60). */
  readonly rateMinutes: number;
  /** A token is renewed once this fraction of its lifetime has passed (0.5–0.95). */
  readonly renewAtFraction: number;
  /** Up to this fraction of the lifetime is added at random, so tokens do not all renew at once (0–0.2). */
  readonly jitterFraction: number;
  /** Tokens renewed at once within one run (1–20). */
  readonly concurrency: number;
}

/** The token refresher's settings when config leaves them out. */
export const DEFAULT_TOKEN_REFRESH: TokenRefreshConfig = {
  rateMinutes: DEFAULT_REFRESH_RATE_MINUTES,
  renewAtFraction: DEFAULT_RENEW_AT_FRACTION,
  jitterFraction: DEFAULT_RENEW_JITTER_FRACTION,
  concurrency: DEFAULT_REFRESH_CONCURRENCY,
};

/** keyrotor's event bus settings, with defaults applied. */
export interface EventsConfig {
  /** Days the archive keeps keyrotor's events for the audit trail and replay (1–3650). */
  readonly archiveRetentionDays: number;
}

/** The event bus settings when config leaves them out. */
export const DEFAULT_EVENTS: EventsConfig = { archiveRetentionDays: DEFAULT_ARCHIVE_RETENTION_DAYS };

/** Daily sweep settings: when it runs, when it warns, when a rotation counts as stuck, how many secrets at once. */
export const DEFAULT_SWEEP_SCHEDULE = 'cron(0 6 * * ? *)';
export const DEFAULT_SWEEP_WARNING_DAYS: readonly number[] = [14, 7, 3, 1];
export const MIN_WARNING_DAY = 1;
export const MAX_WARNING_DAY = 365;
export const MAX_WARNING_THRESHOLDS = 10;
export const MIN_STUCK_AFTER_HOURS = 1;
export const MAX_STUCK_AFTER_HOURS = 168;
export const DEFAULT_STUCK_AFTER_HOURS = 24;
export const MIN_SWEEP_CONCURRENCY = 1;
export const MAX_SWEEP_CONCURRENCY = 20;
/** Lanes the sweep works in: each waits on its platform instance's pacing, so fewer lanes leave the sweep latency-bound (bench/fleet.ts, 10,000 secrets: 4 lanes took 4.9× the floor, 16 took 1.27×, 20 take 1.06×). */
export const DEFAULT_SWEEP_CONCURRENCY = 20;

/** The daily sweep's settings, with defaults applied. */
export interface SweepConfig {
  /**
   * When the sweep runs, an EventBridge Scheduler expression evaluated in UTC: `cron(…)`, or
   * `rate(…)` from 1 hour to 1 day. It must run at least daily: the missed-sweep alarm expects a
   * completed sweep every day.
   */
  readonly scheduleExpression: string;
  /** Days before a due rotation or a declared expiry at which people are warned, descending (each 1–365, at most 10). */
  readonly warningDays: readonly number[];
  /** Hours after which a pending rotation (a dangling AWSPENDING) counts as stuck (1–168). */
  readonly stuckAfterHours: number;
  /** Secrets checked at once (1–20). */
  readonly concurrency: number;
}

/** The sweep's settings when config leaves them out. */
export const DEFAULT_SWEEP: SweepConfig = {
  scheduleExpression: DEFAULT_SWEEP_SCHEDULE,
  warningDays: DEFAULT_SWEEP_WARNING_DAYS,
  stuckAfterHours: DEFAULT_STUCK_AFTER_HOURS,
  concurrency: DEFAULT_SWEEP_CONCURRENCY,
};

/** The validated configuration the CDK app is built from. */
export interface KeyrotorConfig {
  readonly alerts: {
    /** Addresses subscribed to the alerts topic (each must confirm the subscription). */
    readonly emails: readonly string[];
    /**
     * Where the runbooks are published (https, no trailing slash); alerts link to pages under it.
     * Absent when not configured.
     */
    readonly runbookBaseUrl?: string;
  };
  readonly defaults: {
    readonly rotationIntervalDays: number;
    /** Hours a replaced key stays alive before it is revoked (1–2160); longer than the reader cache TTL. */
    readonly gracePeriodHours: number;
  };
  readonly reader: {
    /** Seconds the runtime reader caches a secret value (1–86400). */
    readonly cacheTtlSeconds: number;
  };
  readonly credentials: readonly CredentialConfig[];
  /** Access tokens the refresher keeps fresh; empty when none are configured. */
  readonly tokens: readonly TokenConfig[];
  readonly tokenRefresh: TokenRefreshConfig;
  readonly events: EventsConfig;
  /** The daily sweep's settings, field by field with defaults applied. */
  readonly sweep: SweepConfig;
}

const ROTATION_INTERVAL_MESSAGE = `must be a whole number of days from ${MIN_ROTATION_INTERVAL_DAYS} to ${MAX_ROTATION_INTERVAL_DAYS} (the Secrets Manager limit)`;

/** A whole number from `min` to `max`, with one message for every way of missing it. */
function wholeNumberSchema(min: number, max: number, message: string) {
  return z.number().int({ error: message }).min(min, { error: message }).max(max, { error: message });
}

const rotationIntervalDaysSchema = wholeNumberSchema(MIN_ROTATION_INTERVAL_DAYS, MAX_ROTATION_INTERVAL_DAYS, ROTATION_INTERVAL_MESSAGE);

const gracePeriodHoursSchema = wholeNumberSchema(
  MIN_GRACE_PERIOD_HOURS,
  MAX_GRACE_PERIOD_HOURS,
  `must be a whole number of hours from ${MIN_GRACE_PERIOD_HOURS} to ${MAX_GRACE_PERIOD_HOURS} (90 days)`,
);

const cacheTtlSecondsSchema = wholeNumberSchema(
  MIN_READER_CACHE_TTL_SECONDS,
  MAX_READER_CACHE_TTL_SECONDS,
  `must be a whole number of seconds from ${MIN_READER_CACHE_TTL_SECONDS} to ${MAX_READER_CACHE_TTL_SECONDS} (one day)`,
);

/**
 * Why an archive must have a retention period: EventBridge's 0 would keep every event forever, so
 * the archive would grow, and be billed, without end, and the audit trail would outlive any
 * retention policy without anyone having chosen that.
 */
const ARCHIVE_RETENTION_MESSAGE =
  `must be a whole number of days from ${MIN_ARCHIVE_RETENTION_DAYS} to ${MAX_ARCHIVE_RETENTION_DAYS} (ten years). ` +
  '0, which EventBridge takes as "keep forever", is not accepted: a never-trimmed archive grows and is billed without end, ' +
  'and an audit trail needs a retention period someone chose; give the longest you need';

const archiveRetentionDaysSchema = wholeNumberSchema(MIN_ARCHIVE_RETENTION_DAYS, MAX_ARCHIVE_RETENTION_DAYS, ARCHIVE_RETENTION_MESSAGE);

/** `"a", "b", "c"`: the allowed values of a field, as a message lists them. */
function quoted(values: readonly string[]): string {
  return values.map((value) => `"${value}"`).join(', ');
}

/** A string field whose value `problemOf` judges (`undefined` = fine). */
function checkedString(problemOf: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/** Why `provider` is not usable in this release, or `undefined` when it is. */
function providerProblem(value: string): string | undefined {
  if ((SUPPORTED_PROVIDER_IDS as readonly string[]).includes(value)) return undefined;
  return `unknown provider ${JSON.stringify(value)}; must be one of ${quoted(SUPPORTED_PROVIDER_IDS)}`;
}

/** Why `provider` has no tokens keyrotor can refresh, or `undefined` when it has. */
function tokenProviderProblem(value: string): string | undefined {
  if ((TOKEN_PROVIDER_IDS as readonly string[]).includes(value)) return undefined;
  const allowed = `must be one of ${quoted(TOKEN_PROVIDER_IDS)}`;
  if ((PROVIDER_IDS as readonly string[]).includes(value)) return `${value} has no access tokens for keyrotor to refresh; ${allowed}`;
  return `unknown token provider ${JSON.stringify(value)}; ${allowed}`;
}

/** Whether `value` can be a Secrets Manager tag value. */
function fitsTagValue(value: string): boolean {
  return TAG_VALUE_PATTERN.test(value);
}

const TAG_VALUE_RULE = 'must be at most 256 characters of letters, digits and _.:/=+-@';

/** Why `value` cannot be a managed base URL, or `undefined` when it can. */
function managedBaseUrlProblem(value: string): string | undefined {
  const problem = baseUrlProblem(value);
  if (problem) return problem;
  if (!fitsTagValue(normaliseBaseUrl(value))) return `${TAG_VALUE_RULE} because it is stored in the secret's ${TAG.baseUrl} tag`;
  return undefined;
}

/** Why `value` cannot be an OAuth token endpoint, or `undefined` when it can. */
function tokenUrlProblem(value: string): string | undefined {
  const problem = baseUrlProblem(value);
  if (problem) return problem;
  if (!fitsTagValue(value)) return `${TAG_VALUE_RULE} because it is stored in the token secret's ${TOKEN_TAG.tokenUrl} tag`;
  return undefined;
}

/**
 * Why `value` cannot be where the runbooks are published, or `undefined` when it can. The same
 * rules as a base URL, and https always: a person opens the link from an alert on their own
 * machine, where a loopback address leads nowhere.
 */
export function runbookBaseUrlProblem(value: string): string | undefined {
  const problem = baseUrlProblem(value);
  // baseUrlProblem's example is a platform instance; a runbook base is usually the repository's web page.
  if (problem?.startsWith('must be an absolute URL')) return 'must be an absolute URL such as https://github.com/<org>/keyrotor/blob/main';
  if (problem) return problem;
  if (new URL(value).protocol !== 'https:') return 'must use https:// (people open runbook links from alerts on their own machines, so a loopback address does not work)';
  return undefined;
}

/** Thrive's OAuth token endpoint for a tenant. */
export function thriveTokenUrl(baseUrl: string, tenantId: string): string {
  return `${normaliseBaseUrl(baseUrl)}/oauth2/token/${tenantId}`;
}

const environmentSchema = z.enum(ENVIRONMENTS, {
  error: (issue) => (issue.input === undefined ? 'is required' : `must be one of ${quoted(ENVIRONMENTS)}`),
});

const descriptionSchema = z
  .string()
  .min(1, { error: 'must not be empty (leave the field out instead)' })
  .max(256, { error: 'must be at most 256 characters' });

const credentialSchema = z.strictObject({
  id: z.string().regex(CREDENTIAL_ID_PATTERN, {
    error: 'must be 1 to 63 lowercase letters, digits or hyphens, starting with a letter or digit (it names the secret keyrotor/<id>)',
  }),
  provider: checkedString(providerProblem),
  environment: environmentSchema,
  baseUrl: checkedString(managedBaseUrlProblem),
  rotationIntervalDays: rotationIntervalDaysSchema.optional(),
  description: descriptionSchema.optional(),
});

/** One OAuth scope: what a tag value allows, without the space that separates scopes. */
const SCOPE_PATTERN = /^[\p{L}\p{N}_.:/=+\-@]+$/u;

const tokenProviderSchema = checkedString(tokenProviderProblem);
const grantSchema = z.enum(TOKEN_GRANTS, {
  error: (issue) => (issue.input === undefined ? 'is required' : `must be one of ${quoted(TOKEN_GRANTS)}`),
});
const thriveBaseUrlSchema = checkedString(baseUrlProblem);
const tenantIdSchema = z.string().regex(TENANT_ID_SHAPE, {
  error: 'must look like <region>_<id>, e.g. eu-west-2_AbcdEfghI (your Thrive tenant id)',
});

const tokenSchema = z.strictObject({
  id: z.string().regex(CREDENTIAL_ID_PATTERN, {
    error: 'must be 1 to 63 lowercase letters, digits or hyphens, starting with a letter or digit (it names the secrets keyrotor/<id>/token and keyrotor/<id>/client)',
  }),
  provider: tokenProviderSchema,
  environment: environmentSchema,
  grant: grantSchema,
  tokenUrl: checkedString(tokenUrlProblem).optional(),
  scopes: z
    .array(z.string().regex(SCOPE_PATTERN, { error: 'must be one or more letters, digits or _.:/=+-@, without spaces (list each scope separately)' }))
    .min(1, { error: 'must list at least one scope (leave the field out to request none)' })
    .superRefine((scopes, ctx) => {
      if (!fitsTagValue(scopes.join(' '))) {
        ctx.addIssue({ code: 'custom', message: `${TAG_VALUE_RULE} when joined with spaces, because they are stored in the token secret's ${TOKEN_TAG.scopes} tag` });
      }
    })
    .optional(),
  clientAuth: z
    .enum(CLIENT_AUTH_METHODS, { error: 'must be "basic" (HTTP Basic, client_secret_basic) or "body" (client_secret_post)' })
    .optional(),
  baseUrl: thriveBaseUrlSchema.optional(),
  tenantId: tenantIdSchema.optional(),
  credential: z.string().min(1, { error: 'must not be empty' }).optional(),
  description: descriptionSchema.optional(),
});

/** A number from `min` to `max`, fractions included, with one message for every way of missing it. */
function fractionSchema(min: number, max: number, message: string) {
  return z.number().min(min, { error: message }).max(max, { error: message });
}

const refreshRateMinutesSchema = wholeNumberSchema(
  MIN_REFRESH_RATE_MINUTES,
  MAX_REFRESH_RATE_MINUTES,
  `must be a whole number of minutes from ${MIN_REFRESH_RATE_MINUTES} to ${MAX_REFRESH_RATE_MINUTES}`,
);
const renewAtFractionSchema = fractionSchema(
  MIN_RENEW_AT_FRACTION,
  MAX_RENEW_AT_FRACTION,
  `must be a number from ${MIN_RENEW_AT_FRACTION} to ${MAX_RENEW_AT_FRACTION} (the share of a token's lifetime after which it is renewed)`,
);
const jitterFractionSchema = fractionSchema(
  MIN_RENEW_JITTER_FRACTION,
  MAX_RENEW_JITTER_FRACTION,
  `must be a number from ${MIN_RENEW_JITTER_FRACTION} to ${MAX_RENEW_JITTER_FRACTION} (the share of a token's lifetime added at random to spread renewals)`,
);
const refreshConcurrencySchema = wholeNumberSchema(
  MIN_REFRESH_CONCURRENCY,
  MAX_REFRESH_CONCURRENCY,
  `must be a whole number from ${MIN_REFRESH_CONCURRENCY} to ${MAX_REFRESH_CONCURRENCY} (tokens renewed at once)`,
);

const tokenRefreshSchema = z.strictObject({
  rateMinutes: refreshRateMinutesSchema.optional(),
  renewAtFraction: renewAtFractionSchema.optional(),
  jitterFraction: jitterFractionSchema.optional(),
  concurrency: refreshConcurrencySchema.optional(),
});

const eventsSchema = z.strictObject({
  archiveRetentionDays: archiveRetentionDaysSchema.optional(),
});

const SCHEDULER_RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const SCHEDULER_CRON = /^cron\(\S+( \S+){5}\)$/;
const RATE_UNIT_MINUTES: Readonly<Record<string, number>> = { minute: 1, minutes: 1, hour: 60, hours: 60, day: 1440, days: 1440 };

/** Why `value` cannot be the sweep's schedule, or `undefined` when it can. */
function sweepScheduleProblem(value: string): string | undefined {
  const rate = SCHEDULER_RATE.exec(value);
  if (rate) {
    const [, count = '0', unit = ''] = rate;
    const amount = Number(count);
    if ((amount === 1) !== !unit.endsWith('s')) return `must say "${amount} ${amount === 1 ? unit.replace(/s$/, '') : `${unit.replace(/s$/, '')}s`}" (EventBridge Scheduler refuses "${amount} ${unit}")`;
    const minutes = amount * (RATE_UNIT_MINUTES[unit] ?? 0);
    if (minutes < 60 || minutes > 1440) {
      return 'a rate must be from 1 hour to 1 day: the missed-sweep alarm expects a completed sweep every day, and sweeping more often than hourly spends the platforms\' rate limits for nothing';
    }
    return undefined;
  }
  if (SCHEDULER_CRON.test(value)) return undefined;
  return 'must be an EventBridge Scheduler expression, "cron(minutes hours day-of-month month day-of-week year)" in UTC or "rate(N hours)", e.g. "cron(0 6 * * ? *)" (06:00 UTC daily)';
}

const WARNING_DAY_MESSAGE = `must be a whole number of days from ${MIN_WARNING_DAY} to ${MAX_WARNING_DAY}`;

const sweepSchema = z.strictObject({
  scheduleExpression: checkedString(sweepScheduleProblem).optional(),
  warningDays: z
    .array(wholeNumberSchema(MIN_WARNING_DAY, MAX_WARNING_DAY, WARNING_DAY_MESSAGE))
    .min(1, { error: 'must list at least one day (leave the field out for the default 14, 7, 3, 1)' })
    .max(MAX_WARNING_THRESHOLDS, { error: `must list at most ${MAX_WARNING_THRESHOLDS} days` })
    .superRefine((days, ctx) => {
      days.forEach((day, index) => {
        const before = days[index - 1];
        if (before !== undefined && day >= before) {
          ctx.addIssue({ code: 'custom', path: [index], message: `must be smaller than the day before it (${before}): list the days in descending order, each once` });
        }
      });
    })
    .optional(),
  stuckAfterHours: wholeNumberSchema(
    MIN_STUCK_AFTER_HOURS,
    MAX_STUCK_AFTER_HOURS,
    `must be a whole number of hours from ${MIN_STUCK_AFTER_HOURS} to ${MAX_STUCK_AFTER_HOURS} (after which a pending rotation counts as stuck)`,
  ).optional(),
  concurrency: wholeNumberSchema(MIN_SWEEP_CONCURRENCY, MAX_SWEEP_CONCURRENCY, `must be a whole number from ${MIN_SWEEP_CONCURRENCY} to ${MAX_SWEEP_CONCURRENCY} (secrets checked at once)`).optional(),
});

const configSchema = z.strictObject({
  alerts: z
    .strictObject({
      emails: z.array(z.email({ error: 'is not a valid e-mail address' })),
      runbookBaseUrl: checkedString(runbookBaseUrlProblem).optional(),
    })
    .optional(),
  defaults: z
    .strictObject({
      rotationIntervalDays: rotationIntervalDaysSchema.optional(),
      gracePeriodHours: gracePeriodHoursSchema.optional(),
    })
    .optional(),
  reader: z
    .strictObject({
      cacheTtlSeconds: cacheTtlSecondsSchema.optional(),
    })
    .optional(),
  credentials: z.array(credentialSchema).min(1, { error: 'must list at least one credential' }),
  tokens: z.array(tokenSchema).optional(),
  tokenRefresh: tokenRefreshSchema.optional(),
  events: eventsSchema.optional(),
  sweep: sweepSchema.optional(),
});

type ParsedConfig = z.output<typeof configSchema>;

/** Messages for the issues that have no schema-specific wording. */
const genericMessages: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    const expected = issue.expected === 'int' ? 'whole number' : issue.expected;
    const article = /^[aeiou]/.test(expected) ? 'an' : 'a';
    return `must be ${article} ${expected}, not ${describeType(issue.input)}`;
  }
  return undefined;
};

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'a fractional number';
  return `a ${typeof value}`;
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/**
 * `['credentials', 1, 'baseUrl']` → `credentials[1].baseUrl`. Keys that are not plain words
 * (an unknown key may contain anything, newlines included) are quoted: `defaults[": x"]`.
 */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && PLAIN_KEY.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out || '(top level)';
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const messages: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        messages.push(`${formatPath([...issue.path, key])}: is not a known field (check its spelling)`);
      }
    } else {
      messages.push(`${formatPath(issue.path)}: ${issue.message}`);
    }
  }
  return messages;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Uniqueness rules across entries. They run on the raw input, beside the schema, because zod
 * skips refinements of an object whose fields already failed — and a person fixing the file
 * wants every problem in one report.
 *
 * Ids are unique across credentials and tokens together: each names its own construct and its
 * own secrets, and `keyrotor:credential` must say which entry a secret belongs to.
 */
function duplicateProblems(input: unknown): string[] {
  if (!isRecord(input)) return [];
  const problems: string[] = [];
  const firstId = new Map<string, string>();
  for (const list of ['credentials', 'tokens'] as const) {
    const entries = input[list];
    if (!Array.isArray(entries)) continue;
    entries.forEach((entry, index) => {
      if (!isRecord(entry) || typeof entry.id !== 'string') return;
      const here = `${list}[${index}].id`;
      const first = firstId.get(entry.id);
      if (first === undefined) firstId.set(entry.id, here);
      else problems.push(`${here}: duplicates ${first} (${JSON.stringify(entry.id)})`);
    });
  }
  const alerts = input.alerts;
  if (isRecord(alerts) && Array.isArray(alerts.emails)) {
    const firstIndex = new Map<string, number>();
    alerts.emails.forEach((email, index) => {
      if (typeof email !== 'string') return;
      const key = email.toLowerCase();
      const first = firstIndex.get(key);
      if (first === undefined) firstIndex.set(key, index);
      else problems.push(`alerts.emails[${index}]: duplicates alerts.emails[${first}] (${JSON.stringify(key)})`);
    });
  }
  return problems;
}

/** `value` when `schema` accepts it, else `undefined` (its own problem is the schema's to report). */
function validValue<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}

/** The fields only a client-credentials token uses (baseUrl and tenantId: only Thrive's). */
const CLIENT_CREDENTIALS_FIELDS = ['tokenUrl', 'scopes', 'clientAuth', 'baseUrl', 'tenantId'] as const;
const THRIVE_DERIVATION_FIELDS = ['baseUrl', 'tenantId'] as const;
const THRIVE_TOKEN_URL_SHAPE = '{baseUrl}/oauth2/token/{tenantId}';

type FieldPath = (field: string) => string;

/**
 * Rules between a token's fields and between a token and the credentials: which grant a
 * provider mints with, which fields each grant needs or refuses, and that an imburse-hmac token
 * names an Imburse credential of its own environment. Like {@link duplicateProblems} they run
 * on the raw input and judge only values the schema accepts.
 */
function tokenProblems(input: unknown): string[] {
  if (!isRecord(input) || !Array.isArray(input.tokens)) return [];
  const credentials: unknown[] = Array.isArray(input.credentials) ? input.credentials : [];
  const problems: string[] = [];
  input.tokens.forEach((token, index) => {
    if (!isRecord(token)) return;
    const field: FieldPath = (name) => `tokens[${index}].${name}`;
    const provider = validValue(tokenProviderSchema, token.provider) as TokenProviderId | undefined;
    const grant = validValue(grantSchema, token.grant);
    if (grant === undefined) return;
    if (provider !== undefined && TOKEN_GRANT_BY_PROVIDER[provider] !== grant) {
      // Which fields belong depends on which of the two was meant: judge them once it is fixed.
      problems.push(`${field('grant')}: ${provider} tokens are minted with "${TOKEN_GRANT_BY_PROVIDER[provider]}", not "${grant}"`);
      return;
    }
    if (grant === 'client-credentials') problems.push(...clientCredentialsProblems(token, provider, field));
    else problems.push(...imburseHmacProblems(token, credentials, field));
  });
  return problems;
}

function clientCredentialsProblems(token: Record<string, unknown>, provider: TokenProviderId | undefined, field: FieldPath): string[] {
  const problems: string[] = [];
  const has = (name: string) => token[name] !== undefined;
  if (has('credential')) {
    problems.push(`${field('credential')}: is only for imburse-hmac tokens; a client-credentials token is minted from its own OAuth client secret keyrotor/<id>/client`);
  }
  if (provider === 'thrive') {
    if (has('tokenUrl')) {
      for (const name of THRIVE_DERIVATION_FIELDS) {
        if (has(name)) problems.push(`${field(name)}: must be left out when tokenUrl is given (baseUrl and tenantId only derive the token URL)`);
      }
    } else if (!has('baseUrl') && !has('tenantId')) {
      problems.push(`${field('tokenUrl')}: is required for thrive tokens, unless baseUrl and tenantId are given to derive it as ${THRIVE_TOKEN_URL_SHAPE}`);
    } else {
      for (const name of THRIVE_DERIVATION_FIELDS) {
        if (!has(name)) problems.push(`${field(name)}: is required for a thrive token without tokenUrl (the token URL is ${THRIVE_TOKEN_URL_SHAPE})`);
      }
      const baseUrl = validValue(thriveBaseUrlSchema, token.baseUrl);
      const tenantId = validValue(tenantIdSchema, token.tenantId);
      if (baseUrl !== undefined && tenantId !== undefined && !fitsTagValue(thriveTokenUrl(baseUrl, tenantId))) {
        problems.push(
          `${field('baseUrl')}: with tenantId it derives a token URL longer than 256 characters or with characters other than letters, digits and _.:/=+-@, but the token URL is stored in the token secret's ${TOKEN_TAG.tokenUrl} tag`,
        );
      }
    }
  } else if (provider !== undefined) {
    for (const name of THRIVE_DERIVATION_FIELDS) {
      if (has(name)) problems.push(`${field(name)}: is only for thrive tokens (to derive tokenUrl); give tokenUrl instead`);
    }
    if (!has('tokenUrl')) {
      problems.push(`${field('tokenUrl')}: is required for ${provider} tokens: keyrotor takes the OAuth token URL of your instance from config`);
    }
  }
  return problems;
}

function imburseHmacProblems(token: Record<string, unknown>, credentials: readonly unknown[], field: FieldPath): string[] {
  const problems: string[] = [];
  for (const name of CLIENT_CREDENTIALS_FIELDS) {
    if (token[name] !== undefined) problems.push(`${field(name)}: is only for client-credentials tokens (an imburse-hmac token is minted from its credential's tenant key)`);
  }
  const credentialId = token.credential;
  if (credentialId === undefined) {
    problems.push(`${field('credential')}: is required for imburse-hmac tokens: the id of the imburse entry in credentials whose tenant key mints the token`);
    return problems;
  }
  if (typeof credentialId !== 'string' || credentialId.length === 0) return problems;
  const index = credentials.findIndex((entry) => isRecord(entry) && entry.id === credentialId);
  const credential = credentials[index];
  if (!isRecord(credential)) {
    problems.push(`${field('credential')}: no entry in credentials has the id ${JSON.stringify(credentialId)}; name the imburse credential that mints the token`);
    return problems;
  }
  const where = `credentials[${index}] (${JSON.stringify(credentialId)})`;
  if (typeof credential.provider === 'string' && credential.provider !== 'imburse') {
    problems.push(`${field('credential')}: ${where} is a ${JSON.stringify(credential.provider)} credential; an imburse-hmac token is minted from an imburse one`);
    return problems;
  }
  const environment = validValue(environmentSchema, token.environment);
  const credentialEnvironment = validValue(environmentSchema, credential.environment);
  if (environment !== undefined && credentialEnvironment !== undefined && environment !== credentialEnvironment) {
    problems.push(`${field('environment')}: must be "${credentialEnvironment}", the environment of ${where}, which mints the token`);
  }
  return problems;
}

/**
 * A field of an optional section, as the cross-field rules see it: the default when the section
 * or the field is left out, the value when `valid`, and `undefined` (no opinion: the schema
 * reports it) otherwise.
 */
function fieldOrDefault(section: unknown, field: string, fallback: number, valid: z.ZodType<number>): number | undefined {
  if (section === undefined) return fallback;
  if (!isRecord(section)) return undefined;
  if (section[field] === undefined) return fallback;
  const result = valid.safeParse(section[field]);
  return result.success ? result.data : undefined;
}

/**
 * An old key is revoked when its grace period ends, so a reader must have dropped it from its
 * cache by then. Like {@link duplicateProblems} this runs beside the schema, on the raw input,
 * and judges only values the schema accepts (or their defaults).
 */
function gracePeriodProblems(input: unknown): string[] {
  if (!isRecord(input)) return [];
  const hours = fieldOrDefault(input.defaults, 'gracePeriodHours', DEFAULT_GRACE_PERIOD_HOURS, gracePeriodHoursSchema);
  const ttl = fieldOrDefault(input.reader, 'cacheTtlSeconds', DEFAULT_READER_CACHE_TTL_SECONDS, cacheTtlSecondsSchema);
  if (hours === undefined || ttl === undefined || hours * 3600 > ttl) return [];
  const defaulted = !isRecord(input.defaults) || input.defaults.gracePeriodHours === undefined;
  const grace = `${hours} ${hours === 1 ? 'hour' : 'hours'} (${hours * 3600} s${defaulted ? ', the default' : ''})`;
  return [
    `defaults.gracePeriodHours: ${grace} must be longer than reader.cacheTtlSeconds (${ttl} s), or a reader may still use an old key from its cache after it is revoked; raise defaults.gracePeriodHours or lower reader.cacheTtlSeconds`,
  ];
}

/**
 * A token is planned for renewal at renewAtFraction of its lifetime plus up to jitterFraction
 * of it, so the two together must stay below the whole lifetime. Judges only values the schema
 * accepts (or their defaults), like {@link gracePeriodProblems}.
 */
function renewalWindowProblems(input: unknown): string[] {
  if (!isRecord(input)) return [];
  const section = input.tokenRefresh;
  const renewAt = fieldOrDefault(section, 'renewAtFraction', DEFAULT_RENEW_AT_FRACTION, renewAtFractionSchema);
  const jitter = fieldOrDefault(section, 'jitterFraction', DEFAULT_RENEW_JITTER_FRACTION, jitterFractionSchema);
  if (renewAt === undefined || jitter === undefined || renewAt + jitter < 1) return [];
  const defaulted = (field: string) => (!isRecord(section) || section[field] === undefined ? ', the default' : '');
  return [
    `tokenRefresh.jitterFraction: renewAtFraction (${renewAt}${defaulted('renewAtFraction')}) + jitterFraction (${jitter}${defaulted('jitterFraction')}) must be less than 1, or a token could be planned for renewal after it expires; lower one of them`,
  ];
}

/** A parsed token with its defaults applied and, for Thrive, its token URL derived. */
function resolveToken(token: NonNullable<ParsedConfig['tokens']>[number]): TokenConfig {
  const { id, environment } = token;
  const description = token.description === undefined ? {} : { description: token.description };
  if (token.grant === 'imburse-hmac') {
    // tokenProblems has made sure the provider is imburse and the credential names one.
    return { id, provider: 'imburse', environment, grant: token.grant, credential: token.credential as string, ...description };
  }
  return {
    id,
    provider: token.provider as ClientCredentialsTokenConfig['provider'],
    environment,
    grant: token.grant,
    // Without tokenUrl, tokenProblems has made sure baseUrl and tenantId are both there.
    tokenUrl: token.tokenUrl ?? thriveTokenUrl(token.baseUrl as string, token.tenantId as string),
    ...(token.scopes === undefined ? {} : { scopes: token.scopes }),
    clientAuth: token.clientAuth ?? DEFAULT_CLIENT_AUTH,
    ...description,
  };
}

function resolveDefaults(parsed: ParsedConfig): KeyrotorConfig {
  const rotationIntervalDays = parsed.defaults?.rotationIntervalDays ?? DEFAULT_ROTATION_INTERVAL_DAYS;
  return {
    alerts: {
      emails: parsed.alerts?.emails ?? [],
      ...(parsed.alerts?.runbookBaseUrl === undefined ? {} : { runbookBaseUrl: normaliseBaseUrl(parsed.alerts.runbookBaseUrl) }),
    },
    defaults: {
      rotationIntervalDays,
      gracePeriodHours: parsed.defaults?.gracePeriodHours ?? DEFAULT_GRACE_PERIOD_HOURS,
    },
    reader: { cacheTtlSeconds: parsed.reader?.cacheTtlSeconds ?? DEFAULT_READER_CACHE_TTL_SECONDS },
    credentials: parsed.credentials.map((credential) => ({
      id: credential.id,
      provider: credential.provider as SupportedProviderId,
      environment: credential.environment,
      baseUrl: normaliseBaseUrl(credential.baseUrl),
      rotationIntervalDays: credential.rotationIntervalDays ?? rotationIntervalDays,
      ...(credential.description === undefined ? {} : { description: credential.description }),
    })),
    tokens: (parsed.tokens ?? []).map(resolveToken),
    // Field by field: a field given as `undefined` takes its default too.
    tokenRefresh: {
      rateMinutes: parsed.tokenRefresh?.rateMinutes ?? DEFAULT_TOKEN_REFRESH.rateMinutes,
      renewAtFraction: parsed.tokenRefresh?.renewAtFraction ?? DEFAULT_TOKEN_REFRESH.renewAtFraction,
      jitterFraction: parsed.tokenRefresh?.jitterFraction ?? DEFAULT_TOKEN_REFRESH.jitterFraction,
      concurrency: parsed.tokenRefresh?.concurrency ?? DEFAULT_TOKEN_REFRESH.concurrency,
    },
    events: { archiveRetentionDays: parsed.events?.archiveRetentionDays ?? DEFAULT_EVENTS.archiveRetentionDays },
    sweep: {
      scheduleExpression: parsed.sweep?.scheduleExpression ?? DEFAULT_SWEEP.scheduleExpression,
      warningDays: parsed.sweep?.warningDays ?? DEFAULT_SWEEP.warningDays,
      stuckAfterHours: parsed.sweep?.stuckAfterHours ?? DEFAULT_SWEEP.stuckAfterHours,
      concurrency: parsed.sweep?.concurrency ?? DEFAULT_SWEEP.concurrency,
    },
  };
}

/**
 * Validates a config object (already parsed from JSON) and applies defaults.
 *
 * @param input - anything; typically the result of `JSON.parse`
 * @param source - names the config in the error message, e.g. its file path
 * @throws ConfigError listing every problem, each prefixed with its field path
 * @example parseConfig(JSON.parse(text), 'keyrotor.config.json')
 */
export function parseConfig(input: unknown, source = 'keyrotor config'): KeyrotorConfig {
  const result = configSchema.safeParse(input, { error: genericMessages });
  const issues = [
    ...(result.success ? [] : formatIssues(result.error.issues)),
    ...duplicateProblems(input),
    ...tokenProblems(input),
    ...gracePeriodProblems(input),
    ...renewalWindowProblems(input),
  ];
  if (issues.length > 0 || !result.success) throw new ConfigError(issues, source);
  return resolveDefaults(result.data);
}

/**
 * Why `settings` are not valid token refresher settings, by the config file's own rules, each
 * problem naming its field (`tokenRefresh.rateMinutes: …`); empty when they are valid. For
 * constructs that take the settings from a caller rather than from {@link parseConfig}.
 */
export function tokenRefreshProblems(settings: TokenRefreshConfig): string[] {
  const result = z.strictObject({ tokenRefresh: tokenRefreshSchema }).safeParse({ tokenRefresh: settings }, { error: genericMessages });
  return [...(result.success ? [] : formatIssues(result.error.issues)), ...renewalWindowProblems({ tokenRefresh: settings })];
}

/**
 * Why `settings` are not valid daily sweep settings, by the config file's own rules, each problem
 * naming its field (`sweep.warningDays[2]: …`); empty when they are valid. For constructs that
 * take the settings from a caller rather than from {@link parseConfig}.
 */
export function sweepProblems(settings: SweepConfig): string[] {
  const result = z.strictObject({ sweep: sweepSchema }).safeParse({ sweep: settings }, { error: genericMessages });
  return result.success ? [] : formatIssues(result.error.issues);
}

/**
 * Why `settings` are not valid event bus settings, by the config file's own rules, each problem
 * naming its field (`events.archiveRetentionDays: …`); empty when they are valid. For constructs
 * that take the settings from a caller rather than from {@link parseConfig}.
 */
export function eventsProblems(settings: EventsConfig): string[] {
  const result = z.strictObject({ events: eventsSchema }).safeParse({ events: settings }, { error: genericMessages });
  return result.success ? [] : formatIssues(result.error.issues);
}

/**
 * Reads, parses and validates a JSON config file.
 *
 * @param path - the file to read, relative to the working directory or absolute
 * @throws ConfigError when the file cannot be read, is not JSON, or is invalid
 */
export function loadConfig(path: string): KeyrotorConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
    throw new ConfigError([`${reason}; pass another file with -c ${CONFIG_CONTEXT_KEY}=<path>`], path);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`is not valid JSON: ${(error as Error).message}`], path);
  }
  return parseConfig(json, path);
}

/** The Secrets Manager name of a credential's secret. */
export function secretNameFor(credentialId: string): string {
  return `${SECRET_NAME_PREFIX}${credentialId}`;
}

/** The Secrets Manager name of the secret that holds a token's current access token. */
export function tokenSecretNameFor(tokenId: string): string {
  return `${SECRET_NAME_PREFIX}${tokenId}/token`;
}

/** The Secrets Manager name of the secret a person fills with a token's OAuth client (`{clientId, clientSecret}`). */
export function oauthClientSecretNameFor(tokenId: string): string {
  return `${SECRET_NAME_PREFIX}${tokenId}/client`;
}
