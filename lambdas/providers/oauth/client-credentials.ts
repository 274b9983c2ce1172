import { baseUrlProblem } from '../../core/base-url';
import {
  ProviderAuthError,
  ProviderError,
  ProviderResponseError,
  ProviderUnavailableError,
  ValidationError,
} from '../../core/errors';
import { redactText, registerSecret } from '../../core/redaction';
import { ProviderHttpClient, type ProviderHttpClientOptions, type ProviderResponse } from '../http';

/**
 * An OAuth 2.0 client-credentials token client (RFC 6749 §4.4, errors §5.2): Thought Industries
 * enterprise instances (token URL from config) and Thrive (`{baseUrl}/oauth2/token/{tenantId}`).
 *
 * What a caller can tell apart, by class:
 *
 * ```
 * ProviderError
 * ├─ ProviderAuthError
 * │   └─ OAuthClientAuthError    the token endpoint refused the client itself (HTTP 401, or `invalid_client`):
 * │                              wrong id or secret, deleted or disabled client. A person must fix the source secret.
 * ├─ OAuthError                  any other RFC 6749 §5.2 refusal (`invalid_scope`, `unauthorized_client`,
 * │                              `unsupported_grant_type`, `invalid_request`, `invalid_grant`, `unknown`):
 * │                              the credentials may be fine, the client's setup or keyrotor's config is not.
 * │                              A person must act; retrying changes nothing.
 * ├─ ProviderRateLimitError      429 after the HTTP helper's retries         } try later
 * ├─ ProviderUnavailableError    5xx, timeout, network, `temporarily_unavailable` }
 * └─ ProviderResponseError       the endpoint answered something that is not OAuth (HTML, no `expires_in`, …)
 * ```
 *
 * `OAuthClientAuthError` is a `ProviderAuthError` so that code branching on "the credential was rejected"
 * (the token refresher's alert, the CLI) treats it as such without knowing OAuth; both OAuth classes carry
 * the RFC `code` (see {@link isOAuthRefusal}).
 */

/** The grant this client sends. */
export const CLIENT_CREDENTIALS_GRANT = 'client_credentials';

/** The error codes RFC 6749 §5.2 defines for the token endpoint. */
export const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
] as const;

/** An RFC 6749 §5.2 error code, or `unknown` for a code the RFC does not define. */
export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number] | 'unknown';

/** An OAuth client's id and secret, as the client secret in Secrets Manager holds them. */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** A bearer access token, in the shape a token secret stores it. */
export interface AccessToken {
  readonly accessToken: string;
  /** Always `Bearer`. */
  readonly tokenType: string;
  /** When the token stops working, ISO 8601: the moment the request was sent plus `expires_in`. */
  readonly expiresAt: string;
  /** When the request that minted the token was sent, ISO 8601. */
  readonly issuedAt: string;
}

/** One token request. */
export interface ClientCredentialsRequest {
  /** The token endpoint: https:// (http:// only on loopback), no query string, fragment or credentials. */
  readonly tokenUrl: string;
  readonly credentials: ClientCredentials;
  /** Scopes to ask for (RFC 6749 §3.3 scope tokens); none sends no `scope` parameter. @default [] */
  readonly scopes?: readonly string[];
  /**
   * How the client authenticates: `basic` (`client_secret_basic`, the `Authorization` header RFC 6749
   * §2.3.1 says servers must support) or `body` (`client_secret_post`, `client_id`/`client_secret` form fields).
   * @default 'basic'
   */
  readonly clientAuth?: 'basic' | 'body';
}

/** Options of {@link ClientCredentialsTokenSource} beyond its HTTP client's. */
export interface ClientCredentialsTokenSourceOptions {
  /**
   * Clock for `issuedAt`/`expiresAt`, in epoch milliseconds.
   * @default the HTTP options' `now`, else Date.now
   */
  readonly now?: () => number;
}

/** A refusal RFC 6749 §5.2 describes, other than of the client's authentication. See the module comment. */
export class OAuthError extends ProviderError {
  /** The RFC code the endpoint answered, or `unknown`. */
  public readonly code: OAuthErrorCode;
  /** The endpoint's `error_description`, redacted and cut short. */
  public readonly description: string | undefined;
  public constructor(provider: string, code: OAuthErrorCode, message: string, options?: { status?: number; description?: string; cause?: unknown }) {
    super(provider, message, options);
    this.name = 'OAuthError';
    this.code = code;
    this.description = options?.description;
  }
}

/**
 * The token endpoint refused the OAuth client itself: HTTP 401 (whatever the code) or `invalid_client` (some
 * servers answer it with 400). A `ProviderAuthError`: the client id or secret is wrong, or the client was
 * deleted or disabled. `status` is the status actually answered.
 */
export class OAuthClientAuthError extends ProviderAuthError {
  /** The RFC code the endpoint answered; `invalid_client` for a 401 without one (§5.2 reserves 401 for it). */
  public readonly code: OAuthErrorCode;
  /** The endpoint's `error_description`, redacted and cut short. */
  public readonly description: string | undefined;
  public constructor(provider: string, code: OAuthErrorCode, message: string, options?: { status?: number; description?: string; cause?: unknown }) {
    super(provider, options?.description, { cause: options?.cause });
    this.name = 'OAuthClientAuthError';
    this.message = message;
    this.code = code;
    this.description = options?.description;
    // ProviderAuthError assumes 401; an RFC 6749 server may refuse a client with 400.
    (this as { status: number | undefined }).status = options?.status ?? 401;
  }
}

/** True for either OAuth refusal class, so a caller can read `code` without caring which one it is. */
export function isOAuthRefusal(error: unknown): error is OAuthError | OAuthClientAuthError {
  return error instanceof OAuthError || error instanceof OAuthClientAuthError;
}

/** RFC 6749 Appendix A VSCHAR: what a client id, a client secret and an error description may contain. */
const VSCHAR = /^[\x20-\x7e]+$/;
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** RFC 6749 §5.2 `error` characters. */
const ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
/** What travels after `Bearer ` in a header: printable ASCII without spaces. */
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;
const MAX_CLIENT_ID = 1024;
const MAX_CLIENT_SECRET = 4096;
const MAX_SCOPE = 256;
const MAX_ACCESS_TOKEN = 16_384;
/** Ten years: a longer lifetime is a broken response, not a token. */
const MAX_EXPIRES_IN_SECONDS = 315_360_000;
const MAX_DESCRIPTION = 200;
/** An OAuth error body is a few hundred bytes; a larger one is not read for its code. */
const MAX_ERROR_BODY = 65_536;
const DEFAULT_MAX_BODY = 1_048_576;
/** Statuses at which RFC 6749 §5.2 (and servers in the field) answer an error body worth reading. */
const REFUSAL_STATUSES: ReadonlySet<number> = new Set([400, 401, 403]);
/**
 * Authorization-endpoint codes (RFC 6749 §4.1.2.1) some token endpoints answer with 400: the server says
 * it cannot issue tokens now, which is "try later", not a refusal.
 */
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['temporarily_unavailable', 'server_error']);
const CLIENT_SECRET_SHAPE = '{"clientId":"…","clientSecret":"…"}';

/**
 * Mints access tokens with the client-credentials grant. One instance per provider; safe to share across
 * concurrent `mint` calls. Nothing is cached: each call asks the endpoint for a new token.
 *
 * @example
 * const source = new ClientCredentialsTokenSource('thrive');
 * const token = await source.mint({
 *   tokenUrl: `${baseUrl}/oauth2/token/${tenantId}`,
 *   credentials: parseClientCredentials(secretString),
 *   scopes: ['api/read'],
 * });
 */
export class ClientCredentialsTokenSource {
  readonly #provider: string;
  readonly #httpOptions: Omit<ProviderHttpClientOptions, 'provider'>;
  readonly #now: () => number;

  /**
   * @param provider - provider id, used in error messages (e.g. `thrive`).
   * @param httpOptions - options of the shared HTTP helper (timeouts, retries, injected `fetch` for tests).
   */
  public constructor(provider: string, httpOptions: Omit<ProviderHttpClientOptions, 'provider'> = {}, options: ClientCredentialsTokenSourceOptions = {}) {
    this.#provider = provider;
    this.#httpOptions = httpOptions;
    this.#now = options.now ?? httpOptions.now ?? Date.now;
  }

  /**
   * Sends `POST tokenUrl` with `grant_type=client_credentials` and returns the token. 429, 5xx and network
   * failures are retried by the HTTP helper (a token request is safe to repeat).
   * @throws ValidationError when the request is malformed (never quoting the credentials); nothing is sent.
   * @throws OAuthClientAuthError when the endpoint refuses the client (wrong id or secret, disabled client).
   * @throws OAuthError for any other RFC 6749 §5.2 refusal.
   * @throws ProviderRateLimitError, ProviderUnavailableError when the endpoint cannot answer now.
   * @throws ProviderResponseError when the answer is not a usable bearer token response (e.g. without `expires_in`).
   */
  public async mint(request: ClientCredentialsRequest): Promise<AccessToken> {
    const secret = request?.credentials?.clientSecret;
    // Before anything can fail: no later message or log line may carry it.
    if (typeof secret === 'string') registerSecret(secret);
    const problems = requestProblems(request);
    if (problems.length > 0) throw new ValidationError('client-credentials token request', problems);

    const { tokenUrl, credentials } = request;
    const { clientId, clientSecret } = credentials;
    const scopes = request.scopes ?? [];
    const clientAuth = request.clientAuth ?? 'basic';
    const encodedSecret = formEncode(clientSecret);
    const basic = clientAuth === 'basic' ? Buffer.from(`${formEncode(clientId)}:${encodedSecret}`, 'utf8').toString('base64') : undefined;
    registerSecret(encodedSecret, basic);

    const params: [string, string][] = [['grant_type', CLIENT_CREDENTIALS_GRANT]];
    if (scopes.length > 0) params.push(['scope', scopes.join(' ')]);
    if (clientAuth === 'body') params.push(['client_id', clientId], ['client_secret', clientSecret]);
    const context: ExchangeContext = {
      where: `POST ${displayUrl(tokenUrl)}`,
      clientId,
      scopes,
      secrets: [clientSecret, encodedSecret, ...(basic === undefined ? [] : [basic])],
    };

    const exchange: Exchange = { sentAt: this.#now(), errorBody: undefined };
    const http = new ProviderHttpClient({ ...this.#httpOptions, provider: this.#provider, fetch: this.#observingFetch(exchange) });
    let response: ProviderResponse;
    try {
      response = await http.request({
        method: 'POST',
        url: tokenUrl,
        headers: {
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
          ...(basic === undefined ? {} : { authorization: `Basic ${basic}` }),
        },
        body: params.map(([name, value]) => `${name}=${formEncode(value)}`).join('&'),
        secrets: context.secrets,
        // Minting another token is harmless, so 5xx and dropped connections are retried too.
        idempotent: true,
      });
    } catch (error) {
      const status = error instanceof ProviderError ? error.status : undefined;
      if (status === undefined || !REFUSAL_STATUSES.has(status)) throw error;
      const captured = exchange.errorBody?.status === status ? exchange.errorBody : undefined;
      throw this.#refusal(status, captured === undefined ? undefined : parseErrorBody(captured.text), context, error) ?? error;
    }
    return this.#token(response, exchange.sentAt, context);
  }

  /**
   * The configured `fetch`, observed: it notes when each attempt is sent (the token's lifetime starts no
   * earlier) and keeps a copy of a 400/401/403 body. The HTTP helper's errors keep only a redacted excerpt
   * of the platform's text, and the RFC `error` code in it is what tells a wrong secret from a wrong scope.
   * Requests are still made by the helper, with its timeouts, retries and redirect policy.
   */
  #observingFetch(exchange: Exchange): typeof fetch {
    const configured = this.#httpOptions.fetch;
    const maxBytes = Math.min(this.#httpOptions.maxBodyBytes ?? DEFAULT_MAX_BODY, MAX_ERROR_BODY);
    return (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      exchange.sentAt = this.#now();
      exchange.errorBody = undefined;
      const response = await (configured ?? globalThis.fetch)(input, init);
      if (REFUSAL_STATUSES.has(response.status)) {
        const text = await readCopy(response, maxBytes);
        if (text !== undefined) exchange.errorBody = { status: response.status, text };
      }
      return response;
    }) as typeof fetch;
  }

  /** The typed error for an RFC 6749 §5.2 error response, or `undefined` when the body is not one (the helper's error stands). */
  #refusal(status: number, body: OAuthErrorBody | undefined, context: ExchangeContext, cause?: unknown): ProviderError | undefined {
    const provider = this.#provider;
    if (body === undefined && status !== 401) return undefined;
    const rawCode = body?.error;
    if (rawCode !== undefined && TRANSIENT_CODES.has(rawCode)) {
      return new ProviderUnavailableError(
        provider,
        `${context.where} answered HTTP ${status} with ${rawCode}: the platform cannot issue tokens right now; try again later`,
        { status, cause },
      );
    }
    const known = (OAUTH_ERROR_CODES as readonly string[]).includes(rawCode ?? '') ? (rawCode as OAuthErrorCode) : undefined;
    const description = body?.description === undefined ? undefined : shorten(scrub(body.description, context.secrets));
    const clientId = `"${shorten(scrub(context.clientId, context.secrets), 100)}"`;
    const what =
      known ??
      (rawCode === undefined ? 'no OAuth error code' : ERROR_CODE.test(rawCode) ? `"${shorten(scrub(rawCode, context.secrets), 64)}", not an RFC 6749 code` : 'an unreadable error code');
    const answered = `${context.where} answered HTTP ${status} (${what}${description ? `: ${description}` : ''})`;

    if (status === 401 || known === 'invalid_client') {
      const code: OAuthErrorCode = known ?? (rawCode === undefined ? 'invalid_client' : 'unknown');
      return new OAuthClientAuthError(
        provider,
        code,
        `${provider} refused the OAuth client ${clientId}: ${answered}. The client id or secret is wrong, the client was deleted or disabled, ` +
          `or it expects the other client authentication (clientAuth "basic" or "body"); put the client's current id and secret in the source secret`,
        { status, description, cause },
      );
    }
    const code: OAuthErrorCode = known ?? 'unknown';
    const requested = context.scopes.length > 0 ? `"${shorten(scrub(context.scopes.join(' '), context.secrets))}"` : '(none requested)';
    const next: Record<Exclude<OAuthErrorCode, 'invalid_client'>, string> = {
      invalid_scope: `a requested scope ${requested} is unknown or not allowed for client ${clientId}; allow it for the client at the platform or change the requested scopes`,
      unauthorized_client: `client ${clientId} may not use the client_credentials grant; enable that grant for it at the platform`,
      unsupported_grant_type: 'this endpoint does not offer the client_credentials grant; check the token URL',
      invalid_grant: `the platform refused the client_credentials grant for client ${clientId}; check that the client is enabled for it at the platform`,
      invalid_request: 'the endpoint found the request malformed; check the token URL and the client authentication (clientAuth "basic" or "body")',
      unknown: "check the token URL and the platform's OAuth documentation",
    };
    return new OAuthError(provider, code, `${provider} refused the token request: ${answered}; ${next[code as Exclude<OAuthErrorCode, 'invalid_client'>]}`, {
      status,
      description,
      cause,
    });
  }

  /** Reads a successful token response (RFC 6749 §5.1). */
  #token(response: ProviderResponse, sentAt: number, context: ExchangeContext): AccessToken {
    const { status } = response;
    const body = asObject(response.json());
    const accessToken = body?.access_token;
    // Registered before anything else can fail, so no later message or log line can carry it.
    if (typeof accessToken === 'string') registerSecret(accessToken);
    const unusable = (what: string): ProviderResponseError =>
      new ProviderResponseError(this.#provider, `${context.where} answered ${status} ${what}; check the token URL`, { status });

    if (body === undefined) throw unusable('with JSON that is not a token response object');
    if (accessToken === undefined && body.error !== undefined) {
      // A server that answers an error with a 2xx still means the error.
      throw this.#refusal(status, parseErrorBody(response.text), context) ?? unusable('with an error body');
    }
    if (typeof accessToken !== 'string' || accessToken.length > MAX_ACCESS_TOKEN || !TOKEN_SHAPE.test(accessToken)) {
      throw unusable(`without a usable access_token (1 to ${MAX_ACCESS_TOKEN} printable characters)`);
    }
    const secrets = [...context.secrets, accessToken];

    const tokenType = body.token_type;
    if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') {
      const shown = typeof tokenType === 'string' && /^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(tokenType) ? ` "${scrub(tokenType, secrets)}"` : '';
      throw new ProviderResponseError(
        this.#provider,
        `${context.where} answered ${status} with token_type${shown} instead of Bearer; keyrotor stores only bearer tokens`,
        { status },
      );
    }

    const expiresIn = expiresInSeconds(body.expires_in);
    if (expiresIn === undefined) {
      throw new ProviderResponseError(
        this.#provider,
        body.expires_in === undefined || body.expires_in === null
          ? `${context.where} answered ${status} without expires_in; keyrotor cannot schedule the token's renewal without its lifetime`
          : `${context.where} answered ${status} with an expires_in that is not a whole number of seconds between 1 and ${MAX_EXPIRES_IN_SECONDS}`,
        { status },
      );
    }
    return {
      accessToken,
      tokenType: 'Bearer',
      issuedAt: new Date(sentAt).toISOString(),
      expiresAt: new Date(sentAt + expiresIn * 1000).toISOString(),
    };
  }
}

/**
 * Parses a client secret's value, `{"clientId":"…","clientSecret":"…"}`; other fields are ignored.
 * @throws ValidationError listing every malformed field, never quoting a value.
 */
export function parseClientCredentials(secretString: string): ClientCredentials {
  let parsed: unknown;
  try {
    parsed = typeof secretString === 'string' ? JSON.parse(secretString) : undefined;
  } catch {
    // JSON.parse's message quotes the input: neither used nor kept.
    parsed = undefined;
  }
  const fields = asObject(parsed);
  if (fields === undefined) throw new ValidationError('OAuth client secret', [`must be the JSON object ${CLIENT_SECRET_SHAPE}`]);
  if (typeof fields.clientSecret === 'string') registerSecret(fields.clientSecret);
  const issues = credentialProblems(fields);
  if (issues.length > 0) throw new ValidationError('OAuth client secret', issues);
  return { clientId: fields.clientId as string, clientSecret: fields.clientSecret as string };
}

interface ExchangeContext {
  /** `POST {origin}{path}` for messages. */
  readonly where: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** Everything that must not appear in a message: the secret in each form it was sent. */
  readonly secrets: readonly string[];
}

/** What the observing fetch noted about the latest attempt. */
interface Exchange {
  sentAt: number;
  errorBody: { status: number; text: string } | undefined;
}

interface OAuthErrorBody {
  readonly error: string | undefined;
  readonly description: string | undefined;
}

function requestProblems(request: ClientCredentialsRequest | undefined): string[] {
  if (asObject(request) === undefined) return ['must be an object with tokenUrl and credentials'];
  const problems: string[] = [];
  const { tokenUrl, credentials, scopes, clientAuth } = request as ClientCredentialsRequest;
  if (typeof tokenUrl !== 'string' || tokenUrl.length === 0) problems.push('tokenUrl: is missing');
  else {
    const problem = baseUrlProblem(tokenUrl);
    if (problem !== undefined) problems.push(`tokenUrl: ${problem}`);
  }
  const fields = asObject(credentials);
  if (fields === undefined) problems.push(`credentials: must be ${CLIENT_SECRET_SHAPE}`);
  else problems.push(...credentialProblems(fields).map((issue) => `credentials.${issue}`));
  if (scopes !== undefined) {
    if (!Array.isArray(scopes)) problems.push('scopes: must be a list of scope names');
    else {
      scopes.forEach((scope: unknown, index) => {
        if (typeof scope !== 'string' || scope.length === 0 || scope.length > MAX_SCOPE || !SCOPE_TOKEN.test(scope)) {
          problems.push(`scopes[${index}]: must be 1 to ${MAX_SCOPE} printable ASCII characters without spaces, quotes or backslashes (RFC 6749 §3.3)`);
        }
      });
    }
  }
  if (clientAuth !== undefined && clientAuth !== 'basic' && clientAuth !== 'body') problems.push('clientAuth: must be "basic" or "body"');
  return problems;
}

function credentialProblems(fields: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const check = (name: 'clientId' | 'clientSecret', max: number): void => {
    const value = fields[name];
    if (typeof value !== 'string' || value.length === 0) problems.push(`${name}: is missing`);
    else if (value.length > max || !VSCHAR.test(value)) problems.push(`${name}: must be 1 to ${max} printable ASCII characters (RFC 6749 VSCHAR)`);
  };
  check('clientId', MAX_CLIENT_ID);
  check('clientSecret', MAX_CLIENT_SECRET);
  return problems;
}

/**
 * application/x-www-form-urlencoded serialisation of one value (RFC 6749 §2.3.1, Appendix B). A space becomes
 * `%20` rather than `+`: both decode to a space in a form decoder, and `%20` also survives a server that only
 * percent-decodes the Basic credentials (where `+` would stay a plus).
 */
function formEncode(value: string): string {
  return encodeURIComponent(value);
}

/** `expires_in` as whole seconds; a string of digits is accepted too (some servers quote it). */
function expiresInSeconds(value: unknown): number | undefined {
  const seconds = typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_EXPIRES_IN_SECONDS) return undefined;
  return seconds;
}

function parseErrorBody(text: string): OAuthErrorBody | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const body = asObject(parsed);
  if (body === undefined || typeof body.error !== 'string' || body.error.length === 0) return undefined;
  const description = body.error_description;
  return { error: body.error, description: typeof description === 'string' && description.length > 0 ? description : undefined };
}

/** A copy of the body read up to `maxBytes`, leaving the response itself unread; `undefined` when larger or cut off. */
async function readCopy(response: Response, maxBytes: number): Promise<string | undefined> {
  if (Number(response.headers.get('content-length') ?? '0') > maxBytes) return undefined;
  if (response.body === null) return '';
  try {
    const reader = (response.clone().body as ReadableStream<Uint8Array>).getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        // Not awaited: a tee branch's cancel settles only once the other branch (the helper's) is done too.
        reader.cancel().catch(() => undefined);
        return undefined;
      }
      chunks.push(value);
    }
    return new TextDecoder().decode(Buffer.concat(chunks));
  } catch {
    // The helper reads the original and reports the failure its own way.
    return undefined;
  }
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('[REDACTED]');
  return redactText(out);
}

function shorten(text: string, max = MAX_DESCRIPTION): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The URL without query string or credentials, for messages. */
function displayUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
