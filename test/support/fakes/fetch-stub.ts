/**
 * Shared `fetch` scaffolding for provider unit tests (no network): reply helpers, a recording fetch that
 * answers from a list of responders, and helpers that capture what a call threw.
 * Platform-specific stand-ins (answers, error bodies, garbage arbitraries) stay in each test file.
 */
import { ValidationError } from '../../../lambdas/core/errors';

/** What a stubbed `fetch` was asked: URL, method (GET when none was given), lower-cased headers and a string body. */
export interface RecordedCall {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/** Produces one response; a fresh one per call, since a Response body can be read only once. */
export type Responder = () => Response | Promise<Response>;

/** A JSON response with `content-type: application/json` (and any extra `headers`). */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
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

/** Records a `fetch` call the way every stub here does. */
export function recordCall(input: string | URL | Request, init?: RequestInit): RecordedCall {
  return {
    url: String(input),
    method: init?.method ?? 'GET',
    headers: Object.fromEntries(new Headers(init?.headers).entries()),
    body: typeof init?.body === 'string' ? init.body : undefined,
  };
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

/** Runs `fn` and returns the ValidationError it threw. */
export function validationErrorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

/** Runs `fn` and returns what it threw or rejected with. */
export async function thrownBy(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** Statuses a platform may answer with, for garbage-response properties. */
export const PLATFORM_STATUSES = [200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503] as const;
