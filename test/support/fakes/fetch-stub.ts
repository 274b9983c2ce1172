/**
 * Shared `fetch` scaffolding for provider unit tests (no network): reply helpers, a recording fetch that
 * answers from a list of responders, and helpers that capture what a call threw.
 * Platform-specific stand-ins (answers, error bodies, garbage arbitraries) stay in each test file.
 */
import { ValidationError } from '../../../lambdas/core/errors';
import { capturedText, recordCapture, recordSecret } from '../secret-scan';

/** What a stubbed `fetch` was asked: URL, method (GET when none was given), lower-cased headers and a string body. */
export interface RecordedCall {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/** Produces one response; a fresh one per call, since a Response body can be read only once. */
export type Responder = () => Response | Promise<Response>;

/**
 * Fields that hold key material in the platforms' answers (Imburse `privateKey`/`accessToken`, Boss Insights `key`,
 * Thrive `apiKey`, OAuth `access_token`) and requests. Ids beside them (`publicKey`, `id`, `client_id`) are public.
 */
const SECRET_FIELDS = new Set(['privateKey', 'accessToken', 'access_token', 'refresh_token', 'apiKey', 'key', 'clientSecret', 'client_secret']);

/** Records, for the suite-wide secret scan, the values of {@link SECRET_FIELDS} anywhere in a stubbed body. */
function recordSecretFields(value: unknown): void {
  if (Array.isArray(value)) value.forEach(recordSecretFields);
  else if (typeof value === 'object' && value !== null) {
    for (const [name, field] of Object.entries(value)) {
      if (SECRET_FIELDS.has(name)) recordSecret(field);
      recordSecretFields(field);
    }
  }
}

/**
 * Records, for the suite-wide secret scan, the credential a request authenticated with: a Bearer token, the secret
 * half of Basic credentials (the password, or the user name when the password is empty, as Boss Insights sends its
 * key), an `Account-Key` header and a form-encoded `client_secret`. Not a tenant id or client id (public), nor an
 * Imburse HMAC signature (derived, and short-lived).
 */
export function recordCredentialsOf(call: RecordedCall): void {
  const authorization = call.headers.authorization ?? '';
  const bearer = /^Bearer +(\S+)/i.exec(authorization);
  if (bearer) recordSecret(bearer[1]);
  const basic = /^Basic +([A-Za-z0-9+/=]+)/i.exec(authorization);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) {
      const password = decoded.slice(colon + 1);
      const secretHalf = password === '' ? decoded.slice(0, colon) : password;
      recordSecret(secretHalf, safeFormDecode(secretHalf));
    }
  }
  recordSecret(call.headers['account-key']);
  if (call.body !== undefined && call.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
    recordSecret(new URLSearchParams(call.body).get('client_secret') ?? undefined);
  }
}

/** OAuth form-encodes Basic credentials (RFC 6749 §2.3.1); other platforms send them as they are, so both are recorded. */
function safeFormDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/** A JSON response with `content-type: application/json` (and any extra `headers`); key material in it is recorded for the secret scan. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  recordSecretFields(body);
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** A responder that answers with {@link json}. */
export const reply =
  (status: number, body: unknown, headers: Record<string, string> = {}): Responder =>
  () =>
    json(status, body, headers);

/** A responder that answers with a raw text body and only the given headers. */
export const textReply =
  (status: number, body: string, headers: Record<string, string> = {}): Responder =>
  () =>
    new Response(body, { status, headers });

/** Records a `fetch` call the way every stub here does (and the credential it carried, for the secret scan). */
export function recordCall(input: string | URL | Request, init?: RequestInit): RecordedCall {
  const call = {
    url: String(input),
    method: init?.method ?? 'GET',
    headers: Object.fromEntries(new Headers(init?.headers).entries()),
    body: typeof init?.body === 'string' ? init.body : undefined,
  };
  recordCredentialsOf(call);
  return call;
}

export interface StubbedFetch {
  readonly fetch: typeof fetch;
  readonly calls: RecordedCall[];
}

/**
 * A fetch that answers with `responders` in order and records every call. When they run out it answers with
 * `afterwards` if given, otherwise it repeats the last responder.
 */
export function fetchAnswering(responders: readonly Responder[], afterwards?: Responder): StubbedFetch {
  const calls: RecordedCall[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push(recordCall(input, init));
    const index = calls.length - 1;
    const responder = index < responders.length ? responders[index] : (afterwards ?? responders[responders.length - 1]);
    return responder();
  }) as typeof fetch;
  return { fetch: fetchImpl, calls };
}

/** A fetch that answers with `responders` in order and repeats the last one when they run out. */
export function stubFetch(...responders: Responder[]): StubbedFetch {
  return fetchAnswering(responders);
}

/** Runs `fn` and returns the ValidationError it threw (recorded, message and cause, for the suite-wide secret scan). */
export function validationErrorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    recordCapture('exception', capturedText(error));
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

/** Runs `fn` and returns what it threw or rejected with (recorded, message and cause, for the suite-wide secret scan). */
export async function thrownBy(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    recordCapture('exception', capturedText(error));
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** Statuses a platform may answer with, for garbage-response properties. */
export const PLATFORM_STATUSES = [200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503] as const;
