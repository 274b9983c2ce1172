import {
  ProviderAuthError,
  ProviderPermissionError,
  ProviderRateLimitError,
  ProviderResponseError,
  ProviderUnavailableError,
} from '../core/errors';
import { isSecretField, redactText, registerSecret } from '../core/redaction';

/**
 * The one place providers talk HTTP: timeouts, retries that honour `Retry-After` and
 * rate-limit headers, mapping of statuses to typed errors, and redaction of anything a
 * platform echoes back. Providers describe requests; they never call `fetch` themselves.
 */

export interface ProviderRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  /**
   * Request headers, or a function building them per attempt (1, 2, …) for signed requests
   * whose signature carries a single-use nonce: each attempt is then signed afresh, so a retry
   * is not refused as a replay.
   */
  readonly headers?: Readonly<Record<string, string>> | ((attempt: number) => Readonly<Record<string, string>>);
  readonly body?: string;
  /** Values that must not appear in any error text (the credential used for this call). */
  readonly secrets?: readonly string[];
  /**
   * Whether repeating the request is harmless. A non-idempotent request (creating a key) is
   * retried only on 429, which means the platform did not process it.
   * @default true for GET, PUT and DELETE; false for POST and PATCH
   */
  readonly idempotent?: boolean;
}

export interface ProviderResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body as JSON. @throws ProviderResponseError when it is not JSON. */
  json(): unknown;
}

export interface ProviderHttpClientOptions {
  /** Provider id, used in error messages. */
  readonly provider: string;
  /** Per-attempt timeout. @default 10_000 */
  readonly timeoutMs?: number;
  /** Attempts in all, including the first. @default 4 */
  readonly maxAttempts?: number;
  /** The longest `Retry-After` keyrotor waits for; a longer one fails fast with ProviderRateLimitError. @default 60_000 */
  readonly maxRetryAfterMs?: number;
  /** First back-off for 5xx and network errors, doubled each attempt, with full jitter. @default 500 */
  readonly baseBackoffMs?: number;
  /** Largest accepted response body. @default 1_048_576 */
  readonly maxBodyBytes?: number;
  /** Injected for tests. @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injected for tests. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Injected for tests (jitter). @default Math.random */
  readonly random?: () => number;
  /** Injected for tests (HTTP-date Retry-After). @default Date.now */
  readonly now?: () => number;
}

const DEFAULTS = {
  timeoutMs: 10_000,
  maxAttempts: 4,
  maxRetryAfterMs: 60_000,
  baseBackoffMs: 500,
  maxBodyBytes: 1_048_576,
} as const;

const MAX_EXCERPT = 200;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Milliseconds a response asks the caller to wait: `Retry-After` (seconds or an HTTP date),
 * else `X-RateLimit-Reset`/`RateLimit-Reset` (epoch seconds or seconds from now). `undefined` when absent.
 */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const trimmed = retryAfter.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
    const date = Date.parse(trimmed);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = headers.get('x-ratelimit-reset') ?? headers.get('ratelimit-reset');
  if (reset !== null && /^\d+$/.test(reset.trim())) {
    const value = Number(reset.trim());
    // Values this large are epoch seconds; small ones are seconds from now.
    return value > 1_000_000_000 ? Math.max(0, value * 1000 - now) : value * 1000;
  }
  return undefined;
}

/** The platform's own message from an error body (`message`, `error_description`, `error`, or `errors[0].message`), redacted and cut short. */
export function platformMessage(text: string, secrets: readonly string[] = []): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const errors = Array.isArray(record.errors) ? (record.errors[0] as Record<string, unknown> | undefined) : undefined;
  // Some platforms nest it: {"error":{"code":"…","message":"…"}}.
  const nested = typeof record.error === 'object' && record.error !== null ? (record.error as Record<string, unknown>).message : undefined;
  const candidate = [record.message, record.error_description, errors?.message, nested, record.error].find(
    (value): value is string => typeof value === 'string' && value.length > 0,
  );
  return candidate === undefined ? undefined : excerpt(candidate, secrets);
}

function withoutSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('[REDACTED]');
  return out;
}

function excerpt(text: string, secrets: readonly string[]): string {
  const out = redactText(withoutSecrets(text, secrets)).replace(/\s+/g, ' ').trim();
  return out.length > MAX_EXCERPT ? `${out.slice(0, MAX_EXCERPT)}…` : out;
}

class Attempt {
  public constructor(
    public readonly retryable: boolean,
    public readonly error: Error,
    public readonly waitMs?: number,
  ) {}
}

/** HTTP client for provider modules. One instance per provider; safe to share across calls. */
export class ProviderHttpClient {
  readonly #options: Required<Omit<ProviderHttpClientOptions, 'fetch'>> & { fetch: typeof fetch | undefined };

  public constructor(options: ProviderHttpClientOptions) {
    // An option passed as `undefined` (built from optional config) keeps its default.
    const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as ProviderHttpClientOptions;
    this.#options = {
      ...DEFAULTS,
      sleep: defaultSleep,
      random: Math.random,
      now: Date.now,
      ...given,
      fetch: options.fetch,
    };
  }

  /**
   * Sends the request, retrying as the options allow, and returns a 2xx response.
   * @throws ProviderAuthError (401), ProviderPermissionError (403), ProviderRateLimitError (429),
   *   ProviderUnavailableError (5xx, timeout, network), ProviderResponseError (anything else)
   */
  public async request(request: ProviderRequest): Promise<ProviderResponse> {
    const { maxAttempts, baseBackoffMs, sleep, random } = this.#options;
    const idempotent = request.idempotent ?? !['POST', 'PATCH'].includes(request.method);
    let last: Attempt | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const outcome = await this.#attempt(request, idempotent, attempt);
      if (!(outcome instanceof Attempt)) return outcome;
      last = outcome;
      if (!outcome.retryable || attempt === maxAttempts) break;
      const backoff = outcome.waitMs ?? Math.round(random() * baseBackoffMs * 2 ** (attempt - 1));
      await sleep(backoff);
    }
    throw (last as Attempt).error;
  }

  async #attempt(request: ProviderRequest, idempotent: boolean, attempt: number): Promise<ProviderResponse | Attempt> {
    const { provider, timeoutMs, maxRetryAfterMs, maxBodyBytes, now } = this.#options;
    const secrets = request.secrets ?? [];
    const where = `${request.method} ${safeUrl(request.url)}`;
    const unavailable = (error: unknown, otherwise: string): Attempt => {
      // Duck-typed: fetch's DOMException may come from another realm (and is not always an Error subclass).
      const name = errorName(error);
      const reason = name === 'TimeoutError' || name === 'AbortError' ? `timed out after ${timeoutMs} ms` : otherwise;
      // A request that may have reached the platform is repeated only when that is harmless.
      return new Attempt(idempotent, new ProviderUnavailableError(provider, `${where} ${reason}`, { cause: sanitizeCause(error, secrets) }));
    };
    let response: Response;
    try {
      const doFetch = this.#options.fetch ?? globalThis.fetch;
      response = await doFetch(request.url, {
        method: request.method,
        headers: { accept: 'application/json', ...(typeof request.headers === 'function' ? request.headers(attempt) : request.headers) },
        body: request.body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      return unavailable(error, 'could not be reached');
    }

    let text: string | undefined;
    try {
      text = await readBody(response, maxBodyBytes);
    } catch (error) {
      // The timeout signal also covers the body, and a connection can drop half-way through it.
      return unavailable(error, 'was cut off while its response was being read');
    }
    if (text === undefined) {
      return new Attempt(false, new ProviderResponseError(provider, `${where} answered a body larger than ${maxBodyBytes} bytes`, { status: response.status }));
    }
    registerSecretFields(text);
    if (response.status >= 200 && response.status < 300) {
      return {
        status: response.status,
        headers: response.headers,
        text,
        json: () => {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            throw new ProviderResponseError(provider, `${where} answered ${response.status} with a body that is not JSON`, { status: response.status });
          }
        },
      };
    }

    const message = platformMessage(text, secrets);
    switch (true) {
      case response.status === 401:
        return new Attempt(false, new ProviderAuthError(provider, message));
      case response.status === 403:
        return new Attempt(false, new ProviderPermissionError(provider, message));
      case response.status === 429: {
        const wait = retryAfterMs(response.headers, now());
        const error = new ProviderRateLimitError(provider, wait);
        if (wait !== undefined && wait > maxRetryAfterMs) return new Attempt(false, error);
        return new Attempt(true, error, wait);
      }
      case response.status >= 500: {
        const wait = retryAfterMs(response.headers, now());
        const error = new ProviderUnavailableError(provider, `${where} answered HTTP ${response.status}${message ? `: ${message}` : ''}`, {
          status: response.status,
        });
        return new Attempt(idempotent && (wait === undefined || wait <= maxRetryAfterMs), error, wait);
      }
      default:
        return new Attempt(
          false,
          new ProviderResponseError(provider, `${where} answered HTTP ${response.status}${message ? `: ${message}` : ''}`, {
            status: response.status,
          }),
        );
    }
  }
}

/**
 * Registers the string values of secret-named fields (accessToken, apiKey, privateKey, …) in
 * any JSON body, error bodies included, so a platform that hands out or echoes a credential can
 * never get it into a message of keyrotor's, whatever the status.
 */
function registerSecretFields(text: string): void {
  if (!text.includes('"')) return;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return;
  }
  const visit = (node: unknown, depth: number): void => {
    if (depth > 4 || typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (typeof value === 'string' && isSecretField(key)) registerSecret(value);
      else visit(value, depth + 1);
    }
  };
  visit(body, 0);
}

/** The URL without query string or credentials, for messages. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Keeps an error's name and message as `cause` but drops anything attached to it (undici errors can carry
 * request details) and scrubs the request's secrets (undici quotes an invalid header value in its message).
 */
function sanitizeCause(error: unknown, secrets: readonly string[]): Error | undefined {
  const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
  if (typeof message !== 'string') return undefined;
  const plain = new Error(redactText(withoutSecrets(message, secrets)));
  plain.name = errorName(error) ?? 'Error';
  return plain;
}

/** The body as text, or `undefined` when it is larger than `maxBytes`; read in chunks so an endless body cannot exhaust memory. */
async function readBody(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await response.body?.cancel();
    return undefined;
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
