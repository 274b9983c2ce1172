/**
 * Parsers for the two values an application reads: a managed API-key secret `keyrotor/<id>`
 * and a token secret `keyrotor/<id>/token`. Hand-written rather than zod so the reader stays
 * small (only node built-ins and the Secrets Manager client at runtime); the contract they
 * check is README "Secret schema" and DESIGN §7. Problems name fields, never their values.
 */
import { BOOTSTRAP_SECRET_MARKER, ENVIRONMENTS, PROVIDER_IDS, type Environment, type ProviderId } from '../lambdas/core/contracts';
import { fingerprintOf } from '../lambdas/core/fingerprint';
import { AwaitingFirstKeyError, InvalidSecretValueError } from './errors';

/**
 * A managed secret's value (`AWSCURRENT`), as keyrotor writes it. The credential fields a
 * provider needs are checked when the value is read, so for a `thought-industries` or
 * `thinkific` secret `apiKey` is always there; Thrive: `tenantId` + `apiKey`; Boss Insights:
 * `apiKey` + `accountKey`; Imburse: `tenantId` + `publicKey` + `privateKey`. Fields the
 * reader does not know (your own extras) are kept. The object is frozen: it is shared by
 * every caller until the cache entry expires.
 */
export interface KeyrotorSecretValue {
  readonly provider: ProviderId;
  readonly environment: Environment;
  /** The instance or API root, e.g. `https://acme.thoughtindustries.com`. */
  readonly baseUrl: string;
  readonly apiKey?: string;
  readonly tenantId?: string;
  readonly accountKey?: string;
  readonly publicKey?: string;
  readonly privateKey?: string;
  /** Thrive only: where the GraphQL tenants endpoint is, when not the environment's default. */
  readonly tenantsUrl?: string;
  /** When keyrotor received the key (ISO 8601). */
  readonly issuedAt?: string;
  /** The key's declared expiry (ISO 8601), where the platform has one. */
  readonly expiresAt?: string;
  /** `…XXXX#hhhhhhhh`: safe to log. */
  readonly fingerprint?: string;
  /** The platform's id for the key, where it has one. */
  readonly providerKeyId?: string;
  readonly [field: string]: unknown;
}

/** What an application needs from a token secret. */
export interface KeyrotorToken {
  readonly accessToken: string;
  /** Usually `Bearer`: send `Authorization: ${tokenType} ${accessToken}`. */
  readonly tokenType: string;
  /** When the token stops working (ISO 8601). */
  readonly expiresAt: string;
}

/** A token as parsed, with the times the cache needs. */
export interface ParsedToken {
  readonly token: KeyrotorToken;
  readonly expiresAtMs: number;
  /** When keyrotor plans to renew it (the cache never keeps it past this); absent in hand-made values. */
  readonly refreshAtMs: number | undefined;
}

/** The credential fields each provider's secret must hold (README "Secret schema"). */
const CREDENTIAL_FIELDS: Readonly<Record<ProviderId, readonly string[]>> = {
  'thought-industries': ['apiKey'],
  thinkific: ['apiKey'],
  thrive: ['tenantId', 'apiKey'],
  'boss-insights': ['apiKey', 'accountKey'],
  imburse: ['tenantId', 'publicKey', 'privateKey'],
};

const OPTIONAL_STRING_FIELDS = ['tenantsUrl', 'issuedAt', 'expiresAt', 'fingerprint', 'providerKeyId'] as const;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/** Milliseconds since the epoch of an ISO 8601 date-time with a zone, or undefined. */
function isoMillis(value: unknown): number | undefined {
  // Date.parse alone accepts "1" or "March 7"; keyrotor always writes full ISO 8601 with a zone.
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const millis = Date.parse(value);
  return Number.isFinite(millis) ? millis : undefined;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * JSON.parse, then the bootstrap check. JSON.parse's own message quotes the input, so it is
 * neither used nor kept as `cause`.
 */
function parseJsonObject(secretId: string, secretString: string, kind: 'api-key' | 'token', what: string): JsonObject {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new InvalidSecretValueError(secretId, what, ['the value is not valid JSON']);
  }
  if (!isObject(json)) throw new InvalidSecretValueError(secretId, what, ['the value is not a JSON object']);
  if (json.keyrotor === BOOTSTRAP_SECRET_MARKER.keyrotor) throw new AwaitingFirstKeyError(secretId, kind);
  return json;
}

/**
 * Parses a managed secret's `SecretString`.
 * @throws AwaitingFirstKeyError for the placeholder `cdk deploy` writes.
 * @throws InvalidSecretValueError naming every wrong field.
 */
export function parseSecretValue(secretId: string, secretString: string): KeyrotorSecretValue {
  const what = 'a keyrotor-managed credential';
  const json = parseJsonObject(secretId, secretString, 'api-key', what);
  const issues: string[] = [];

  const provider = json.provider;
  const knownProvider = typeof provider === 'string' && (PROVIDER_IDS as readonly string[]).includes(provider);
  if (!knownProvider) issues.push(`provider: must be one of ${PROVIDER_IDS.join(', ')}`);
  if (typeof json.environment !== 'string' || !(ENVIRONMENTS as readonly string[]).includes(json.environment)) {
    issues.push(`environment: must be one of ${ENVIRONMENTS.join(', ')}`);
  }
  if (!isNonEmptyString(json.baseUrl) || !isHttpUrl(json.baseUrl)) issues.push('baseUrl: must be an http(s) URL');
  if (knownProvider) {
    for (const field of CREDENTIAL_FIELDS[provider as ProviderId]) {
      if (!isNonEmptyString(json[field])) issues.push(`${field}: must be a non-empty string (required for ${provider})`);
    }
  }
  for (const field of OPTIONAL_STRING_FIELDS) {
    if (json[field] !== undefined && typeof json[field] !== 'string') issues.push(`${field}: must be a string when present`);
  }

  if (issues.length > 0) throw new InvalidSecretValueError(secretId, what, issues);
  return deepFreeze(json) as KeyrotorSecretValue;
}

/**
 * Parses a token secret's `SecretString` (`{accessToken, tokenType, expiresAt, issuedAt, refreshAt?}`).
 * @throws AwaitingFirstKeyError for the placeholder `cdk deploy` writes.
 * @throws InvalidSecretValueError naming every wrong field.
 */
export function parseTokenValue(secretId: string, secretString: string): ParsedToken {
  const what = 'a keyrotor access token';
  const json = parseJsonObject(secretId, secretString, 'token', what);
  const issues: string[] = [];

  if (!isNonEmptyString(json.accessToken)) issues.push('accessToken: must be a non-empty string');
  if (!isNonEmptyString(json.tokenType)) issues.push('tokenType: must be a non-empty string');
  const expiresAtMs = isoMillis(json.expiresAt);
  if (expiresAtMs === undefined) issues.push('expiresAt: must be an ISO 8601 date-time with a zone');
  const refreshAtMs = json.refreshAt === undefined ? undefined : isoMillis(json.refreshAt);
  if (json.refreshAt !== undefined && refreshAtMs === undefined) issues.push('refreshAt: must be an ISO 8601 date-time with a zone when present');

  if (issues.length > 0 || expiresAtMs === undefined) throw new InvalidSecretValueError(secretId, what, issues);
  const token: KeyrotorToken = Object.freeze({
    accessToken: json.accessToken as string,
    tokenType: json.tokenType as string,
    expiresAt: json.expiresAt as string,
  });
  return { token, expiresAtMs, refreshAtMs };
}

/**
 * A label of the credential a value holds, safe to log (`…XXXX#hhhhhhhh`, see
 * lambdas/core/fingerprint.ts): two reads hold the same key exactly when their labels match.
 * Only credential fields count, so a value whose metadata changed still holds "the same key".
 */
export function credentialFingerprint(value: KeyrotorSecretValue): string {
  const material = CREDENTIAL_FIELDS[value.provider].map((field) => String(value[field]));
  return fingerprintOf(material.join('\u0000'));
}

/** The label of a token (see {@link credentialFingerprint}). */
export function tokenFingerprint(token: KeyrotorToken): string {
  return fingerprintOf(token.accessToken);
}
