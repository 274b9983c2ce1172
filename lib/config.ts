/**
 * Deploy-time configuration of keyrotor: which credentials it manages, who hears about problems,
 * and how long a replaced key stays alive.
 *
 * The file is JSON (see `keyrotor.config.json`). {@link parseConfig} reports every problem at
 * once, each naming the field path (`credentials[1].baseUrl: must use https:// …`), so a person
 * fixes the file in one pass instead of one error per `cdk synth`.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { baseUrlProblem, normaliseBaseUrl } from '../lambdas/core/base-url';
import { ENVIRONMENTS, PROVIDER_IDS, type Environment, type ProviderId } from '../lambdas/core/contracts';
import { ConfigError } from '../lambdas/core/errors';

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

/** The validated configuration the CDK app is built from. */
export interface KeyrotorConfig {
  readonly alerts: {
    /** Addresses subscribed to the alerts topic (each must confirm the subscription). */
    readonly emails: readonly string[];
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

/** Why `provider` is not usable in this release, or `undefined` when it is. */
function providerProblem(value: string): string | undefined {
  if ((SUPPORTED_PROVIDER_IDS as readonly string[]).includes(value)) return undefined;
  return `unknown provider ${JSON.stringify(value)}; must be one of ${SUPPORTED_PROVIDER_IDS.map((id) => `"${id}"`).join(', ')}`;
}

/** Why `value` cannot be a managed base URL, or `undefined` when it can. */
function managedBaseUrlProblem(value: string): string | undefined {
  const problem = baseUrlProblem(value);
  if (problem) return problem;
  if (!TAG_VALUE_PATTERN.test(normaliseBaseUrl(value))) {
    return 'must be at most 256 characters of letters, digits and _.:/=+-@ because it is stored in the secret\'s keyrotor:base-url tag';
  }
  return undefined;
}

const credentialSchema = z.strictObject({
  id: z.string().regex(CREDENTIAL_ID_PATTERN, {
    error: 'must be 1 to 63 lowercase letters, digits or hyphens, starting with a letter or digit (it names the secret keyrotor/<id>)',
  }),
  provider: z.string().superRefine((value, ctx) => {
    const problem = providerProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  environment: z.enum(ENVIRONMENTS, {
    error: (issue) =>
      issue.input === undefined ? 'is required' : `must be one of ${ENVIRONMENTS.map((e) => `"${e}"`).join(', ')}`,
  }),
  baseUrl: z.string().superRefine((value, ctx) => {
    const problem = managedBaseUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  rotationIntervalDays: rotationIntervalDaysSchema.optional(),
  description: z
    .string()
    .min(1, { error: 'must not be empty (leave the field out instead)' })
    .max(256, { error: 'must be at most 256 characters' })
    .optional(),
});

const configSchema = z.strictObject({
  alerts: z
    .strictObject({
      emails: z.array(z.email({ error: 'is not a valid e-mail address' })),
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
 */
function duplicateProblems(input: unknown): string[] {
  if (!isRecord(input)) return [];
  const problems: string[] = [];
  const report = (path: string, values: unknown, key: (entry: unknown) => string | undefined, what: string) => {
    if (!Array.isArray(values)) return;
    const firstIndex = new Map<string, number>();
    values.forEach((entry, index) => {
      const value = key(entry);
      if (value === undefined) return;
      const first = firstIndex.get(value);
      if (first === undefined) firstIndex.set(value, index);
      else problems.push(`${path}[${index}]${what}: duplicates ${path}[${first}]${what} (${JSON.stringify(value)})`);
    });
  };
  report('credentials', input.credentials, (c) => (isRecord(c) && typeof c.id === 'string' ? c.id : undefined), '.id');
  const alerts = input.alerts;
  if (isRecord(alerts)) {
    report('alerts.emails', alerts.emails, (e) => (typeof e === 'string' ? e.toLowerCase() : undefined), '');
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

function resolveDefaults(parsed: ParsedConfig): KeyrotorConfig {
  const rotationIntervalDays = parsed.defaults?.rotationIntervalDays ?? DEFAULT_ROTATION_INTERVAL_DAYS;
  return {
    alerts: { emails: parsed.alerts?.emails ?? [] },
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
    ...gracePeriodProblems(input),
  ];
  if (issues.length > 0 || !result.success) throw new ConfigError(issues, source);
  return resolveDefaults(result.data);
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
