/**
 * keyrotor's runtime reader (DESIGN §4): reads `AWSCURRENT` of keyrotor's secrets, caches each
 * for less than the grace period, shares one `GetSecretValue` between concurrent readers, and
 * on the platform's 401 refetches once and retries — so a scheduled rotation costs an
 * application no failed call and a compromise revocation at most one, absorbed by the retry.
 */
import { GetSecretValueCommand, SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { InvalidSecretValueError, ReaderOptionsError, SecretFetchError, TokenExpiredError } from './errors';
import {
  credentialFingerprint,
  parseSecretValue,
  parseTokenValue,
  tokenFingerprint,
  type KeyrotorSecretValue,
  type KeyrotorToken,
} from './secret-values';
import { SingleFlightCache, type CacheEntry, type Loaded } from './single-flight-cache';
import { isUnauthorized as defaultIsUnauthorized } from './unauthorized';

/** The reader's default cache TTL: 5 minutes, the same as keyrotor's `reader.cacheTtlSeconds` default. */
export const DEFAULT_CACHE_TTL_SECONDS = 300;
/** How often a token whose `refreshAt` has passed is read again while the refresher catches up. */
export const DEFAULT_TOKEN_RECHECK_SECONDS = 30;
/** The longest TTL accepted, as for keyrotor's `reader.cacheTtlSeconds` (one day). */
export const MAX_CACHE_TTL_SECONDS = 86_400;

/** Options of {@link createKeyrotorReader}. */
export interface KeyrotorReaderOptions {
  /**
   * A Secrets Manager client to use (instrumented, shared, or pointed at an emulator).
   * @default a new `SecretsManagerClient(clientConfig)`
   */
  readonly client?: SecretsManagerClient;

  /**
   * Configuration for the client the reader creates when none is given. The SDK's standard
   * configuration applies on top: `AWS_REGION`, the credential chain, `AWS_ENDPOINT_URL`.
   * @default {}
   */
  readonly clientConfig?: SecretsManagerClientConfig;

  /**
   * How long a secret value is cached. **It must be shorter than keyrotor's grace period**
   * (`defaults.gracePeriodHours`, 24 h by default): an old key is revoked when its grace period
   * ends, and a reader must have dropped it from its cache by then. Use the value of
   * `reader.cacheTtlSeconds` from keyrotor's config, which keyrotor checks against the grace period.
   * A token is never cached past its `refreshAt` or `expiresAt`, whatever this says.
   * @default 300
   */
  readonly cacheTtlSeconds?: number;

  /**
   * When a token secret is read after its `refreshAt` (the refresher has not written the new
   * token yet), the old token is cached for at most this long before it is read again.
   * @default 30
   */
  readonly tokenRecheckSeconds?: number;

  /**
   * Tells the platform's "credential rejected" from other failures of your callback.
   * @default {@link isUnauthorized} (a number 401 in `status`, `statusCode`, `response.status` or `response.statusCode`)
   */
  readonly isUnauthorized?: (error: unknown) => boolean;

  /**
   * The clock, in epoch milliseconds (tests inject a fake one).
   * @default Date.now
   */
  readonly now?: () => number;
}

const OPTION_NAMES: readonly (keyof KeyrotorReaderOptions)[] = ['client', 'clientConfig', 'cacheTtlSeconds', 'tokenRecheckSeconds', 'isUnauthorized', 'now'];

/** What the reader tells an application about each failed `GetSecretValue`, by the SDK error's name. */
const FETCH_HINTS: Readonly<Record<string, string>> = {
  ResourceNotFoundException:
    'there is no such secret or it has no AWSCURRENT version; check the name (keyrotor/<id>, tokens keyrotor/<id>/token), the region and the account',
  AccessDeniedException:
    "the application's role may not read it; grant secretsmanager:GetSecretValue on the secret and kms:Decrypt on keyrotor's KMS key via Secrets Manager",
  DecryptionFailure:
    "Secrets Manager could not decrypt it; grant kms:Decrypt on keyrotor's KMS key via Secrets Manager (kms:ViaService) and check the key is enabled",
  InvalidRequestException: 'Secrets Manager refused the request; the secret may be scheduled for deletion (restore it) or disabled',
  ThrottlingException: 'Secrets Manager throttled the read; the next read retries (keep the cache: it bounds reads to one per secret per TTL)',
};
const DEFAULT_FETCH_HINT = 'the request failed; the next read retries';

function validateOptions(options: KeyrotorReaderOptions): string[] {
  const issues: string[] = [];
  for (const name of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(name)) issues.push(`${name}: unknown option (known: ${OPTION_NAMES.join(', ')})`);
  }
  if (options.client !== undefined && options.clientConfig !== undefined) {
    issues.push('client, clientConfig: give one of them; clientConfig only configures a client the reader creates itself');
  }
  const seconds = (name: 'cacheTtlSeconds' | 'tokenRecheckSeconds') => {
    const value = options[name];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_CACHE_TTL_SECONDS)) {
      issues.push(`${name}: must be a number of seconds greater than 0 and at most ${MAX_CACHE_TTL_SECONDS} (one day)`);
    }
  };
  seconds('cacheTtlSeconds');
  seconds('tokenRecheckSeconds');
  for (const name of ['isUnauthorized', 'now'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') issues.push(`${name}: must be a function`);
  }
  return issues;
}

/** The SDK error, wrapped: its name and a hint in the message, the error itself only as `cause`. */
function fetchError(secretId: string, error: unknown): SecretFetchError {
  const code = error instanceof Error ? error.name : 'UnknownError';
  return new SecretFetchError(secretId, code, FETCH_HINTS[code] ?? DEFAULT_FETCH_HINT, { cause: error });
}

/**
 * Reads keyrotor's secrets at runtime. Create one per process (module scope) and share it:
 * its cache and its single flight work across every caller and, in Lambda, across invocations.
 */
export class KeyrotorReader {
  readonly #client: () => SecretsManagerClient;
  readonly #ownsClient: boolean;
  #createdClient: SecretsManagerClient | undefined;
  readonly #ttlMs: number;
  readonly #tokenRecheckMs: number;
  readonly #isUnauthorized: (error: unknown) => boolean;
  readonly #now: () => number;
  readonly #apiKeys: SingleFlightCache<KeyrotorSecretValue>;
  readonly #tokens: SingleFlightCache<KeyrotorToken>;

  /** @throws ReaderOptionsError listing every problem with `options`. */
  public constructor(options: KeyrotorReaderOptions = {}) {
    const issues = validateOptions(options);
    if (issues.length > 0) throw new ReaderOptionsError('keyrotor reader options', issues);

    const injected = options.client;
    this.#ownsClient = injected === undefined;
    // Created on first use, so that building a reader at module scope costs nothing at cold start.
    this.#client = () => injected ?? (this.#createdClient ??= new SecretsManagerClient({ ...(options.clientConfig ?? {}) }));
    this.#ttlMs = (options.cacheTtlSeconds ?? DEFAULT_CACHE_TTL_SECONDS) * 1000;
    this.#tokenRecheckMs = (options.tokenRecheckSeconds ?? DEFAULT_TOKEN_RECHECK_SECONDS) * 1000;
    this.#isUnauthorized = options.isUnauthorized ?? defaultIsUnauthorized;
    this.#now = options.now ?? Date.now;
    this.#apiKeys = new SingleFlightCache((secretId) => this.#loadApiKey(secretId), this.#now);
    this.#tokens = new SingleFlightCache((secretId) => this.#loadToken(secretId), this.#now);
  }

  /**
   * The managed secret's current value (`AWSCURRENT`), from the cache while it is fresh.
   * @example
   * const { apiKey, baseUrl } = await reader.getApiKey('keyrotor/acme-prod');
   * @throws AwaitingFirstKeyError when no key has been handed over yet (`npx keyrotor submit`).
   * @throws InvalidSecretValueError when the value is not a keyrotor-managed credential.
   * @throws SecretFetchError when `GetSecretValue` fails (not cached: the next read tries again).
   */
  public async getApiKey(secretId: string): Promise<KeyrotorSecretValue> {
    return (await this.#apiKeys.get(secretId)).value;
  }

  /**
   * The access token in a token secret `keyrotor/<id>/token`. Cached until the earliest of the
   * TTL, the token's `refreshAt` and its `expiresAt`, so an expired token is never served.
   * @example
   * const { accessToken, tokenType } = await reader.getToken('keyrotor/acme-oauth/token');
   * @throws TokenExpiredError when even a fresh read finds an expired token (the refresher is failing).
   * @throws AwaitingFirstKeyError, InvalidSecretValueError, SecretFetchError as {@link getApiKey}.
   */
  public async getToken(secretId: string): Promise<KeyrotorToken> {
    return (await this.#tokens.get(secretId)).value;
  }

  /**
   * Calls `fn` with the managed secret's current value. When `fn` fails with the platform's
   * 401 (see {@link KeyrotorReaderOptions.isUnauthorized}), the cached value is dropped and the
   * secret read again — once, shared with every other caller that saw the same 401 — and, if
   * it now holds a different key, `fn` is called once more with it. Its second failure, a 401
   * with an unchanged key (not a rotation: the key was revoked or lacks a permission), and
   * every other error reach you unchanged; a failed re-read throws its {@link SecretFetchError}.
   * `fn` may thus run twice: make it safe to repeat (a 401 means the platform did nothing).
   * @example
   * const users = await reader.withFreshCredential('keyrotor/acme-prod', async ({ apiKey, baseUrl }) => {
   *   const response = await fetch(`${baseUrl}/incoming/v2/users`, { headers: { Authorization: `Bearer ${apiKey}` } });
   *   if (!response.ok) throw response; // a 401 Response is recognised by the default isUnauthorized
   *   return response.json();
   * });
   */
  public withFreshCredential<R>(secretId: string, fn: (credential: KeyrotorSecretValue) => Promise<R> | R): Promise<R> {
    return this.#withFresh(this.#apiKeys, secretId, fn);
  }

  /** {@link withFreshCredential} for a token secret: on a 401, reads the token again and retries once with a new one. */
  public withFreshToken<R>(secretId: string, fn: (token: KeyrotorToken) => Promise<R> | R): Promise<R> {
    return this.#withFresh(this.#tokens, secretId, fn);
  }

  /** Drops a secret (or every secret) from the cache; the next read fetches it afresh. */
  public invalidate(secretId?: string): void {
    this.#apiKeys.invalidate(secretId);
    this.#tokens.invalidate(secretId);
  }

  /** Whether `error` is the platform's 401, by the predicate this reader was built with. */
  public isUnauthorized(error: unknown): boolean {
    return this.#isUnauthorized(error);
  }

  /** Closes the Secrets Manager client's connections if the reader created it (an injected client is yours to close). */
  public destroy(): void {
    if (this.#ownsClient) this.#createdClient?.destroy();
    this.#createdClient = undefined;
  }

  async #withFresh<T, R>(cache: SingleFlightCache<T>, secretId: string, fn: (credential: T) => Promise<R> | R): Promise<R> {
    const first = await cache.get(secretId);
    try {
      return await fn(first.value);
    } catch (error) {
      if (!this.#isUnauthorized(error)) throw error;
      const fresh: CacheEntry<T> = await cache.refresh(secretId, first);
      if (fresh.fingerprint === first.fingerprint) throw error;
      return await fn(fresh.value);
    }
  }

  async #readSecretString(secretId: string, what: string): Promise<string> {
    let secretString: string | undefined;
    try {
      // AWSCURRENT explicitly: it is the documented default, and it is what keyrotor promotes.
      ({ SecretString: secretString } = await this.#client().send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' })));
    } catch (error) {
      throw fetchError(secretId, error);
    }
    if (secretString === undefined) throw new InvalidSecretValueError(secretId, what, ['the secret has no SecretString (a binary secret is not a keyrotor secret)']);
    return secretString;
  }

  async #loadApiKey(secretId: string): Promise<Loaded<KeyrotorSecretValue>> {
    const value = parseSecretValue(secretId, await this.#readSecretString(secretId, 'a keyrotor-managed credential'));
    return { value, fingerprint: credentialFingerprint(value), expiresAtMs: this.#now() + this.#ttlMs };
  }

  async #loadToken(secretId: string): Promise<Loaded<KeyrotorToken>> {
    const parsed = parseTokenValue(secretId, await this.#readSecretString(secretId, 'a keyrotor access token'));
    const now = this.#now();
    if (parsed.expiresAtMs <= now) throw new TokenExpiredError(secretId, parsed.token.expiresAt);
    // Past refreshAt the refresher is about to write a new token; until it has, re-read every
    // tokenRecheckSeconds instead of on every call.
    const renewal = parsed.refreshAtMs === undefined ? Infinity : parsed.refreshAtMs > now ? parsed.refreshAtMs : now + this.#tokenRecheckMs;
    return {
      value: parsed.token,
      fingerprint: tokenFingerprint(parsed.token),
      expiresAtMs: Math.min(now + this.#ttlMs, renewal, parsed.expiresAtMs),
    };
  }
}

/**
 * Creates a reader for keyrotor's secrets. Build it once, at module scope, and share it.
 * @example
 * import { createKeyrotorReader } from './client';
 * const reader = createKeyrotorReader(); // region, credentials, AWS_ENDPOINT_URL from the environment
 * const { apiKey, baseUrl } = await reader.getApiKey('keyrotor/acme-prod');
 * @throws ReaderOptionsError listing every problem with `options`.
 */
export function createKeyrotorReader(options: KeyrotorReaderOptions = {}): KeyrotorReader {
  return new KeyrotorReader(options);
}
