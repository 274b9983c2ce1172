import {
  KeyrotorError,
  ProviderAuthError,
  ProviderError,
  ProviderPermissionError,
  ProviderRateLimitError,
  ProviderResponseError,
  ProviderUnavailableError,
} from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import {
  platformMessage,
  ProviderHttpClient,
  retryAfterMs,
  type ProviderHttpClientOptions,
  type ProviderRequest,
} from '../../../../lambdas/providers/http';
import { json, UNAUTHORIZED_BODY } from '../../../support/fakes/platform-fetch';

/** A credential that matches none of redaction's credential patterns: only the `secrets` list can hide it. */
const SECRET = 'sk-PlainSecretValue9f8e7d6c';
const BASE = 'https://acme.thoughtindustries.com';
const URL_GET = `${BASE}/incoming/v2/users?limit=1`;
const NOW = Date.parse('2026-11-23T10:00:00Z');

type Responder = (url: string, init: RequestInit) => Response | Promise<Response>;

interface FetchStub {
  readonly fetch: typeof fetch;
  readonly calls: { url: string; init: RequestInit }[];
}

/** A fetch that answers with `responders` in order and repeats the last one when they run out. */
function stubFetch(...responders: Responder[]): FetchStub {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const index = Math.min(calls.length, responders.length - 1);
    calls.push({ url: String(input), init: init ?? {} });
    return responders[index](String(input), init ?? {});
  }) as typeof fetch;
  return { fetch: fetchImpl, calls };
}

const reply =
  (status: number, body: unknown, headers: Record<string, string> = {}): Responder =>
  () =>
    json(status, body, headers);

const replyText =
  (status: number, text: string, headers: Record<string, string> = {}): Responder =>
  () =>
    new Response(text, { status, headers });

const reject =
  (error: unknown): Responder =>
  () => {
    throw error;
  };

/** A client whose sleeps are recorded instead of waited for. */
function client(stub: FetchStub, options: Partial<ProviderHttpClientOptions> = {}) {
  const sleeps: number[] = [];
  const http = new ProviderHttpClient({
    provider: 'thought-industries',
    fetch: stub.fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    now: () => NOW,
    ...options,
  });
  return { http, sleeps };
}

const get = (overrides: Partial<ProviderRequest> = {}): ProviderRequest => ({ method: 'GET', url: URL_GET, secrets: [SECRET], ...overrides });

/** Runs the request and returns what it threw (fails the test when it did not throw). */
async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error('expected the request to fail');
}

/** A response whose body is a stream of `chunks`, without a content-length header. */
function streamed(status: number, chunks: Uint8Array[], then: 'close' | 'error' | 'endless' = 'close'): Response {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (then === 'endless') {
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
        return;
      }
      if (sent < chunks.length) {
        controller.enqueue(chunks[sent]);
        sent += 1;
        return;
      }
      if (then === 'error') controller.error(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      else controller.close();
    },
  });
  return new Response(stream, { status });
}

describe('Class: ProviderHttpClient', () => {
  beforeEach(() => {
    clearRegisteredSecrets();
  });

  describe('Method: request', () => {
    describe('headers built per attempt', () => {
      it('builds the headers afresh for each attempt, so a signed retry carries a new nonce', async () => {
        const stub = stubFetch(reply(503, {}), reply(200, {}));
        const { http } = client(stub);
        await http.request({ method: 'POST', url: URL_GET, idempotent: true, headers: (attempt) => ({ authorization: `Hmac pk:nonce-${attempt}:1:sig` }) });
        expect(stub.calls.map((c) => new Headers(c.init.headers).get('authorization'))).toEqual(['Hmac pk:nonce-1:1:sig', 'Hmac pk:nonce-2:1:sig']);
      });
    });

    describe('a 2xx answer', () => {
      it('returns the status, headers, body text and parsed JSON', async () => {
        // Prepare
        const body = { pageInfo: { total: 1 }, users: [{ id: 'u1' }] };
        const stub = stubFetch(reply(200, body, { 'x-request-id': 'req-1' }));
        const { http } = client(stub);

        // Act
        const response = await http.request(get());

        // Assess
        expect(response.status).toBe(200);
        expect(response.headers.get('x-request-id')).toBe('req-1');
        expect(response.text).toBe(JSON.stringify(body));
        expect(response.json()).toEqual(body);
        expect(stub.calls).toHaveLength(1);
      });

      it('returns any 2xx status, including 204 with an empty body', async () => {
        const stub = stubFetch(() => new Response(null, { status: 204 }));
        const { http } = client(stub);

        const response = await http.request(get({ method: 'DELETE' }));

        expect(response.status).toBe(204);
        expect(response.text).toBe('');
      });

      it('throws ProviderResponseError from json() when the body is not JSON, without quoting the body', async () => {
        // Prepare
        const stub = stubFetch(replyText(200, `<html>login page for ${SECRET}</html>`));
        const { http } = client(stub);
        const response = await http.request(get());

        // Act
        let thrown: unknown;
        try {
          response.json();
        } catch (error) {
          thrown = error;
        }

        // Assess
        expect(thrown).toBeInstanceOf(ProviderResponseError);
        const error = thrown as ProviderResponseError;
        expect(error.status).toBe(200);
        expect(error.provider).toBe('thought-industries');
        expect(error.message).toBe(`GET ${BASE}/incoming/v2/users answered 200 with a body that is not JSON`);
        expect(error.message).not.toContain('html');
      });

      it('decodes the body as UTF-8 and drops a byte order mark', async () => {
        const bytes = new TextEncoder().encode('\uFEFF{"name":"Zoë"}');
        const stub = stubFetch(() => new Response(bytes, { status: 200 }));
        const { http } = client(stub);

        const response = await http.request(get());

        expect(response.json()).toEqual({ name: 'Zoë' });
      });
    });

    describe('what is sent to fetch', () => {
      it('passes method, URL, body, headers with accept: application/json, redirect: error and an AbortSignal', async () => {
        // Prepare
        const stub = stubFetch(reply(201, { id: 'k1' }));
        const { http } = client(stub);

        // Act
        await http.request({
          method: 'POST',
          url: `${BASE}/keys`,
          headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
          body: '{"name":"keyrotor"}',
        });

        // Assess
        expect(stub.calls).toHaveLength(1);
        const { url, init } = stub.calls[0];
        expect(url).toBe(`${BASE}/keys`);
        expect(init.method).toBe('POST');
        expect(init.body).toBe('{"name":"keyrotor"}');
        expect(init.redirect).toBe('error');
        expect(init.headers).toEqual({ accept: 'application/json', authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' });
        expect(init.signal).toBeInstanceOf(AbortSignal);
        expect(init.signal?.aborted).toBe(false);
      });

      it('gives each attempt its own timeout signal', async () => {
        const stub = stubFetch(reply(503, {}), reply(200, {}));
        const { http } = client(stub);

        await http.request(get());

        expect(stub.calls).toHaveLength(2);
        expect(stub.calls[0].init.signal).not.toBe(stub.calls[1].init.signal);
      });

      it('aborts a request that takes longer than timeoutMs through the signal it passes', async () => {
        // Prepare: a fetch that only ever settles when its signal fires, like the real one
        const hanging: Responder = (_url, init) =>
          new Promise<Response>((_resolve, rejectPromise) => {
            init.signal?.addEventListener('abort', () => rejectPromise(init.signal?.reason));
          });
        const stub = stubFetch(hanging);
        const { http } = client(stub, { timeoutMs: 20, maxAttempts: 1 });

        // Act
        const error = await failure(http.request(get()));

        // Assess
        expect(error).toBeInstanceOf(ProviderUnavailableError);
        expect(error.message).toBe(`GET ${BASE}/incoming/v2/users timed out after 20 ms`);
      });

      it('uses the global fetch when none is injected', async () => {
        // Prepare
        const spy = jest.spyOn(globalThis, 'fetch').mockResolvedValue(json(200, { ok: true }));
        try {
          const http = new ProviderHttpClient({ provider: 'thought-industries' });

          // Act
          const response = await http.request(get());

          // Assess
          expect(response.json()).toEqual({ ok: true });
          expect(spy).toHaveBeenCalledWith(URL_GET, expect.objectContaining({ method: 'GET', redirect: 'error' }));
        } finally {
          spy.mockRestore();
        }
      });

      it('uses the defaults for options passed as undefined', async () => {
        // Prepare: a caller that builds options from optional config
        const stub = stubFetch(reply(503, {}), reply(503, {}), reply(200, { ok: true }));
        const sleeps: number[] = [];
        const http = new ProviderHttpClient({
          provider: 'thought-industries',
          fetch: stub.fetch,
          sleep: async (ms) => {
            sleeps.push(ms);
          },
          random: () => 1,
          timeoutMs: undefined,
          maxAttempts: undefined,
          baseBackoffMs: undefined,
        });

        // Act
        const response = await http.request(get());

        // Assess: default attempts (4) and back-off (500 ms, doubled)
        expect(response.status).toBe(200);
        expect(stub.calls).toHaveLength(3);
        expect(sleeps).toEqual([500, 1000]);
      });
    });

    describe('HTTP 401', () => {
      it('throws ProviderAuthError carrying the platform message, without retrying', async () => {
        // Prepare
        const stub = stubFetch(reply(401, UNAUTHORIZED_BODY));
        const { http, sleeps } = client(stub);

        // Act
        const error = await failure(http.request(get()));

        // Assess
        expect(error).toBeInstanceOf(ProviderAuthError);
        expect(error).toBeInstanceOf(KeyrotorError);
        expect((error as ProviderAuthError).platformMessage).toBe('Invalid or expired API key.');
        expect(error.status).toBe(401);
        expect(error.provider).toBe('thought-industries');
        expect(error.message).toBe('thought-industries rejected the credential (HTTP 401: Invalid or expired API key.)');
        expect(stub.calls).toHaveLength(1);
        expect(sleeps).toEqual([]);
      });

      it('is not retried for an idempotent request either', async () => {
        const stub = stubFetch(reply(401, UNAUTHORIZED_BODY), reply(200, {}));
        const { http } = client(stub);

        await expect(http.request(get({ method: 'PUT', idempotent: true }))).rejects.toThrow(ProviderAuthError);
        expect(stub.calls).toHaveLength(1);
      });

      it('leaves platformMessage undefined when the body is not JSON', async () => {
        const stub = stubFetch(replyText(401, 'Unauthorized'));
        const { http } = client(stub);

        const error = (await failure(http.request(get()))) as ProviderAuthError;

        expect(error).toBeInstanceOf(ProviderAuthError);
        expect(error.platformMessage).toBeUndefined();
        expect(error.message).toBe('thought-industries rejected the credential (HTTP 401)');
      });
    });

    describe('HTTP 403', () => {
      it('throws ProviderPermissionError with the platform detail, without retrying', async () => {
        const stub = stubFetch(reply(403, { error: 'forbidden', message: 'Key lacks the users:read scope.' }));
        const { http, sleeps } = client(stub);

        const error = await failure(http.request(get()));

        expect(error).toBeInstanceOf(ProviderPermissionError);
        expect(error.status).toBe(403);
        expect(error.message).toContain('HTTP 403: Key lacks the users:read scope.');
        expect(error.message).toContain('give the key the role it needs');
        expect(stub.calls).toHaveLength(1);
        expect(sleeps).toEqual([]);
      });
    });

    describe('HTTP 429', () => {
      it('waits the Retry-After seconds, then returns the next answer', async () => {
        // Prepare
        const stub = stubFetch(reply(429, {}, { 'retry-after': '3' }), reply(200, { ok: true }));
        const { http, sleeps } = client(stub);

        // Act
        const response = await http.request(get());

        // Assess
        expect(response.json()).toEqual({ ok: true });
        expect(sleeps).toEqual([3000]);
        expect(stub.calls).toHaveLength(2);
      });

      it('waits until a Retry-After HTTP date, measured with the injected clock', async () => {
        const at = new Date(NOW + 7000).toUTCString();
        const stub = stubFetch(reply(429, {}, { 'Retry-After': at }), reply(200, {}));
        const { http, sleeps } = client(stub);

        await http.request(get());

        expect(sleeps).toEqual([7000]);
      });

      it('waits until X-RateLimit-Reset given in epoch seconds', async () => {
        const reset = String(NOW / 1000 + 42);
        const stub = stubFetch(reply(429, {}, { 'X-RateLimit-Reset': reset }), reply(200, {}));
        const { http, sleeps } = client(stub);

        await http.request(get());

        expect(sleeps).toEqual([42_000]);
      });

      it('waits X-RateLimit-Reset seconds when it is a delay, and reads RateLimit-Reset too', async () => {
        const stub = stubFetch(reply(429, {}, { 'x-ratelimit-reset': '5' }), reply(429, {}, { 'ratelimit-reset': '2' }), reply(200, {}));
        const { http, sleeps } = client(stub);

        await http.request(get());

        expect(sleeps).toEqual([5000, 2000]);
      });

      it('retries a non-idempotent POST, because the platform did not process it', async () => {
        const stub = stubFetch(reply(429, {}, { 'retry-after': '1' }), reply(201, { id: 'k2' }));
        const { http, sleeps } = client(stub);

        const response = await http.request({ method: 'POST', url: `${BASE}/keys`, body: '{}' });

        expect(response.status).toBe(201);
        expect(stub.calls).toHaveLength(2);
        expect(sleeps).toEqual([1000]);
      });

      it('fails fast with ProviderRateLimitError when Retry-After is longer than maxRetryAfterMs', async () => {
        // Prepare
        const stub = stubFetch(reply(429, {}, { 'retry-after': '120' }), reply(200, {}));
        const { http, sleeps } = client(stub, { maxRetryAfterMs: 60_000 });

        // Act
        const error = await failure(http.request(get()));

        // Assess
        expect(error).toBeInstanceOf(ProviderRateLimitError);
        expect((error as ProviderRateLimitError).retryAfterMs).toBe(120_000);
        expect(error.status).toBe(429);
        expect(error.message).toBe('thought-industries is rate limiting keyrotor (HTTP 429); it asks to retry after 120 s');
        expect(stub.calls).toHaveLength(1);
        expect(sleeps).toEqual([]);
      });

      it('waits exactly maxRetryAfterMs when asked to', async () => {
        const stub = stubFetch(reply(429, {}, { 'retry-after': '60' }), reply(200, {}));
        const { http, sleeps } = client(stub, { maxRetryAfterMs: 60_000 });

        await http.request(get());

        expect(sleeps).toEqual([60_000]);
      });

      it('throws ProviderRateLimitError after maxAttempts answers of 429', async () => {
        // Prepare
        const stub = stubFetch(reply(429, {}, { 'retry-after': '2' }));
        const { http, sleeps } = client(stub, { maxAttempts: 3 });

        // Act
        const error = await failure(http.request(get()));

        // Assess
        expect(error).toBeInstanceOf(ProviderRateLimitError);
        expect((error as ProviderRateLimitError).retryAfterMs).toBe(2000);
        expect(stub.calls).toHaveLength(3);
        expect(sleeps).toEqual([2000, 2000]);
      });

      it('backs off with jitter when the platform gives no wait', async () => {
        const stub = stubFetch(reply(429, {}), reply(429, {}), reply(200, {}));
        const { http, sleeps } = client(stub, { baseBackoffMs: 100, random: () => 0.25 });

        await http.request(get());

        expect(sleeps).toEqual([25, 50]);
      });
    });

    describe('HTTP 5xx', () => {
      it('retries an idempotent request with exponential full-jitter back-off and then throws ProviderUnavailableError', async () => {
        // Prepare
        const stub = stubFetch(reply(503, { message: 'Service Unavailable' }));
        const randoms = [0.5, 0.1, 0.9];
        const { http, sleeps } = client(stub, { maxAttempts: 4, baseBackoffMs: 500, random: () => randoms.shift() ?? 0 });

        // Act
        const error = await failure(http.request(get()));

        // Assess: random × base × 2^(attempt-1)
        expect(error).toBeInstanceOf(ProviderUnavailableError);
        expect(error.status).toBe(503);
        expect(error.message).toBe(`GET ${BASE}/incoming/v2/users answered HTTP 503: Service Unavailable`);
        expect(stub.calls).toHaveLength(4);
        expect(sleeps).toEqual([250, 100, 1800]);
      });

      it('never waits longer than the exponential bound (full jitter: between 0 and base × 2^n)', async () => {
        const stub = stubFetch(reply(500, {}));
        const { http, sleeps } = client(stub, { maxAttempts: 4, baseBackoffMs: 500, random: () => 0.999999 });

        await expect(http.request(get())).rejects.toThrow(ProviderUnavailableError);

        expect(sleeps).toEqual([500, 1000, 2000]);
      });

      it('returns the answer that follows a 5xx', async () => {
        const stub = stubFetch(reply(502, {}), reply(200, { ok: true }));
        const { http } = client(stub);

        const response = await http.request(get());

        expect(response.json()).toEqual({ ok: true });
        expect(stub.calls).toHaveLength(2);
      });

      it('does not retry a POST, which may have been processed', async () => {
        const stub = stubFetch(reply(500, {}), reply(201, {}));
        const { http, sleeps } = client(stub);

        const error = await failure(http.request({ method: 'POST', url: `${BASE}/keys`, body: '{}' }));

        expect(error).toBeInstanceOf(ProviderUnavailableError);
        expect(error.status).toBe(500);
        expect(stub.calls).toHaveLength(1);
        expect(sleeps).toEqual([]);
      });

      it('does not retry a PATCH by default', async () => {
        const stub = stubFetch(reply(500, {}), reply(200, {}));
        const { http } = client(stub);

        await expect(http.request({ method: 'PATCH', url: `${BASE}/keys/1` })).rejects.toThrow(ProviderUnavailableError);
        expect(stub.calls).toHaveLength(1);
      });

      it('retries a POST the caller marks idempotent', async () => {
        const stub = stubFetch(reply(500, {}), reply(200, {}));
        const { http } = client(stub);

        await http.request({ method: 'POST', url: `${BASE}/graphql`, body: '{}', idempotent: true });

        expect(stub.calls).toHaveLength(2);
      });

      it('does not retry a GET the caller marks non-idempotent', async () => {
        const stub = stubFetch(reply(500, {}), reply(200, {}));
        const { http } = client(stub);

        await expect(http.request(get({ idempotent: false }))).rejects.toThrow(ProviderUnavailableError);
        expect(stub.calls).toHaveLength(1);
      });

      it('honours Retry-After on a 5xx', async () => {
        const stub = stubFetch(reply(503, {}, { 'retry-after': '4' }), reply(200, {}));
        const { http, sleeps } = client(stub);

        await http.request(get());

        expect(sleeps).toEqual([4000]);
      });

      it('does not retry a 5xx whose Retry-After is longer than maxRetryAfterMs', async () => {
        const stub = stubFetch(reply(503, {}, { 'retry-after': '3600' }), reply(200, {}));
        const { http, sleeps } = client(stub);

        await expect(http.request(get())).rejects.toThrow(ProviderUnavailableError);
        expect(stub.calls).toHaveLength(1);
        expect(sleeps).toEqual([]);
      });
    });

    describe('network errors and timeouts', () => {
      it('retries a GET that could not reach the platform, then throws ProviderUnavailableError', async () => {
        // Prepare: what undici throws for a refused connection
        const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }) });
        const stub = stubFetch(reject(refused));
        const { http, sleeps } = client(stub, { maxAttempts: 3, baseBackoffMs: 100, random: () => 0.5 });

        // Act
        const error = await failure(http.request(get()));

        // Assess
        expect(error).toBeInstanceOf(ProviderUnavailableError);
        expect(error.status).toBeUndefined();
        expect(error.message).toBe(`GET ${BASE}/incoming/v2/users could not be reached`);
        expect(stub.calls).toHaveLength(3);
        expect(sleeps).toEqual([50, 100]);
      });

      it('keeps the cause as a plain error with only name and message', async () => {
        const refused = Object.assign(new TypeError('fetch failed'), { request: { headers: { authorization: `Bearer ${SECRET}` } } });
        const stub = stubFetch(reject(refused));
        const { http } = client(stub, { maxAttempts: 1 });

        const error = await failure(http.request(get()));

        const cause = error.cause as Error;
        expect(cause).toBeInstanceOf(Error);
        expect(cause.name).toBe('TypeError');
        expect(cause.message).toBe('fetch failed');
        expect(cause).not.toHaveProperty('request');
        expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(SECRET);
      });

      it('does not let the secrets into the cause when fetch echoes a header value', async () => {
        // Prepare: undici's message for a header value with a newline quotes the value
        const invalidHeader = new TypeError(`Headers.append: "${SECRET}\n" is an invalid header value.`);
        const stub = stubFetch(reject(invalidHeader));
        const { http } = client(stub, { maxAttempts: 1 });

        // Act
        const error = await failure(http.request(get({ headers: { 'x-auth-api-key': `${SECRET}\n` } })));

        // Assess
        expect(error.message).not.toContain(SECRET);
        expect((error.cause as Error).message).not.toContain(SECRET);
        expect((error.cause as Error).message).toContain('is an invalid header value');
      });

      it('does not retry a POST whose connection failed, because it may have been sent', async () => {
        const stub = stubFetch(reject(new TypeError('fetch failed')), reply(201, {}));
        const { http, sleeps } = client(stub);

        await expect(http.request({ method: 'POST', url: `${BASE}/keys`, body: '{}' })).rejects.toThrow(ProviderUnavailableError);
        expect(stub.calls).toHaveLength(1);
        expect(sleeps).toEqual([]);
      });

      it.each([
        ['TimeoutError', new DOMException('The operation was aborted due to timeout', 'TimeoutError')],
        ['AbortError', new DOMException('This operation was aborted', 'AbortError')],
      ])('says the request timed out when fetch rejects with a %s', async (_name, rejection) => {
        const stub = stubFetch(reject(rejection));
        const { http } = client(stub, { timeoutMs: 2500, maxAttempts: 2 });

        const error = await failure(http.request(get()));

        expect(error).toBeInstanceOf(ProviderUnavailableError);
        expect(error.message).toBe(`GET ${BASE}/incoming/v2/users timed out after 2500 ms`);
        expect((error.cause as Error).name).toBe(_name);
        expect(stub.calls).toHaveLength(2);
      });

      it('retries a timed-out GET and returns the answer that follows', async () => {
        const stub = stubFetch(reject(new DOMException('timeout', 'TimeoutError')), reply(200, { ok: true }));
        const { http } = client(stub);

        const response = await http.request(get());

        expect(response.json()).toEqual({ ok: true });
      });

      it('throws ProviderUnavailableError when the body fails while being read', async () => {
        // Prepare: headers arrived, then the timeout fired while the body streamed
        const stub = stubFetch(() => streamed(200, [new TextEncoder().encode('{"users":[')], 'error'));
        const { http } = client(stub, { maxAttempts: 1, timeoutMs: 1234 });

        // Act
        const error = await failure(http.request(get()));

        // Assess
        expect(error).toBeInstanceOf(ProviderUnavailableError);
        expect(error.message).toBe(`GET ${BASE}/incoming/v2/users timed out after 1234 ms`);
      });

      it('says the response was cut off when the connection drops in the body', async () => {
        const reset = Object.assign(new TypeError('terminated'), { cause: { code: 'ECONNRESET' } });
        const stub = stubFetch(
          () =>
            new Response(
              new ReadableStream({
                pull(controller) {
                  controller.error(reset);
                },
              }),
              { status: 200 },
            ),
        );
        const { http } = client(stub, { maxAttempts: 1 });

        const error = await failure(http.request(get()));

        expect(error).toBeInstanceOf(ProviderUnavailableError);
        expect(error.message).toBe(`GET ${BASE}/incoming/v2/users was cut off while its response was being read`);
        expect((error.cause as Error).message).toBe('terminated');
      });

      it('retries a GET whose body failed while being read', async () => {
        const stub = stubFetch(() => streamed(200, [], 'error'), reply(200, { ok: true }));
        const { http } = client(stub);

        const response = await http.request(get());

        expect(response.json()).toEqual({ ok: true });
        expect(stub.calls).toHaveLength(2);
      });
    });

    describe('other answers', () => {
      it.each([400, 404, 409, 422])('throws ProviderResponseError for HTTP %i without retrying', async (status) => {
        const stub = stubFetch(reply(status, { errors: [{ message: 'Something about the request' }] }), reply(200, {}));
        const { http, sleeps } = client(stub);

        const error = await failure(http.request(get()));

        expect(error).toBeInstanceOf(ProviderResponseError);
        expect(error.status).toBe(status);
        expect(error.message).toBe(`GET ${BASE}/incoming/v2/users answered HTTP ${status}: Something about the request`);
        expect(stub.calls).toHaveLength(1);
        expect(sleeps).toEqual([]);
      });

      it('throws ProviderResponseError for a 3xx, which fetch did not follow', async () => {
        const stub = stubFetch(() => new Response(null, { status: 304 }));
        const { http } = client(stub);

        const error = await failure(http.request(get()));

        expect(error).toBeInstanceOf(ProviderResponseError);
        expect(error.message).toBe(`GET ${BASE}/incoming/v2/users answered HTTP 304`);
      });
    });

    describe('body size', () => {
      it('rejects a body whose declared length is larger than maxBodyBytes, without reading it', async () => {
        // Prepare
        let cancelled = false;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            controller.enqueue(new Uint8Array(10));
          },
          cancel() {
            cancelled = true;
          },
        });
        const stub = stubFetch(() => new Response(body, { status: 200, headers: { 'content-length': '2048' } }));
        const { http } = client(stub, { maxBodyBytes: 1024 });

        // Act
        const error = await failure(http.request(get()));

        // Assess
        expect(error).toBeInstanceOf(ProviderResponseError);
        expect(error.status).toBe(200);
        expect(error.message).toBe(`GET ${BASE}/incoming/v2/users answered a body larger than 1024 bytes`);
        expect(cancelled).toBe(true);
        expect(stub.calls).toHaveLength(1);
      });

      it('rejects a body that turns out larger than maxBodyBytes without declaring its length', async () => {
        const stub = stubFetch(() => streamed(200, [new Uint8Array(600), new Uint8Array(600)]));
        const { http } = client(stub, { maxBodyBytes: 1024 });

        const error = await failure(http.request(get()));

        expect(error).toBeInstanceOf(ProviderResponseError);
        expect(error.message).toContain('larger than 1024 bytes');
      });

      it('accepts a body of exactly maxBodyBytes', async () => {
        const text = JSON.stringify({ pad: 'x'.repeat(100) });
        const stub = stubFetch(replyText(200, text));
        const { http } = client(stub, { maxBodyBytes: Buffer.byteLength(text) });

        const response = await http.request(get());

        expect(response.text).toBe(text);
      });

      it('stops reading an endless body once it passes maxBodyBytes', async () => {
        const stub = stubFetch(() => streamed(200, [], 'endless'));
        const { http } = client(stub, { maxBodyBytes: 256 * 1024 });

        const error = await failure(http.request(get()));

        expect(error).toBeInstanceOf(ProviderResponseError);
        expect(error.message).toContain('larger than 262144 bytes');
      });

      it('applies the limit to error bodies too', async () => {
        const stub = stubFetch(replyText(401, JSON.stringify({ message: 'x'.repeat(5000) })));
        const { http } = client(stub, { maxBodyBytes: 1000 });

        const error = await failure(http.request(get()));

        expect(error).toBeInstanceOf(ProviderResponseError);
        expect(error.status).toBe(401);
      });
    });

    describe('what error messages reveal', () => {
      it.each([
        [401, ProviderAuthError],
        [403, ProviderPermissionError],
        [404, ProviderResponseError],
        [500, ProviderUnavailableError],
      ])('never contains the request secrets when the platform echoes them (HTTP %i)', async (status, ErrorClass) => {
        // Prepare
        const stub = stubFetch(reply(status, { error: 'bad', message: `Key ${SECRET} is not valid for ${SECRET.toUpperCase()}` }));
        const { http } = client(stub, { maxAttempts: 1 });

        // Act
        const error = await failure(http.request(get({ secrets: [SECRET] })));

        // Assess
        expect(error).toBeInstanceOf(ErrorClass);
        expect(error.message).not.toContain(SECRET);
        expect(error.message).toContain('[REDACTED]');
        expect(JSON.stringify({ ...error, message: error.message })).not.toContain(SECRET);
      });

      it('redacts every secret passed in, from every message field the platform uses', async () => {
        const other = 'tenantPrivate-77aa88bb99cc';
        const stub = stubFetch(reply(400, { errors: [{ message: `${other} / ${SECRET}` }] }));
        const { http } = client(stub);

        const error = await failure(http.request(get({ secrets: [SECRET, other] })));

        expect(error.message).toContain('answered HTTP 400: [REDACTED] / [REDACTED]');
      });

      it('redacts credential-shaped text the platform echoes even when it was not passed as a secret', async () => {
        const stub = stubFetch(reply(401, { message: 'Token ti_live_AbCdEf123456 revoked' }));
        const { http } = client(stub);

        const error = await failure(http.request(get({ secrets: [] })));

        expect(error.message).toContain('ti_live_[REDACTED]');
        expect(error.message).not.toContain('AbCdEf123456');
      });

      it('leaves the query string out of messages', async () => {
        // Prepare
        const url = `${BASE}/incoming/v2/users?api_key=${SECRET}&limit=1`;
        const stub = stubFetch(reply(404, {}), reply(500, {}), reject(new TypeError('fetch failed')));

        // Act
        const notFound = await failure(client(stub, { maxAttempts: 1 }).http.request({ method: 'GET', url }));
        const serverError = await failure(client(stub, { maxAttempts: 1 }).http.request({ method: 'GET', url }));
        const unreachable = await failure(client(stub, { maxAttempts: 1 }).http.request({ method: 'GET', url }));

        // Assess
        for (const error of [notFound, serverError, unreachable]) {
          expect(error.message).toContain(`GET ${BASE}/incoming/v2/users `);
          expect(error.message).not.toContain('?');
          expect(error.message).not.toContain('api_key');
          expect(error.message).not.toContain(SECRET);
        }
      });

      it('leaves credentials in the URL out of messages', async () => {
        const stub = stubFetch(reply(404, {}));
        const { http } = client(stub);

        const error = await failure(http.request({ method: 'GET', url: `https://admin:${SECRET}@acme.example.com/api/v1/keys` }));

        expect(error.message).toBe('GET https://acme.example.com/api/v1/keys answered HTTP 404');
      });

      it('names an unparseable URL without quoting it', async () => {
        const stub = stubFetch(reject(new TypeError('Failed to parse URL')));
        const { http } = client(stub, { maxAttempts: 1 });

        const error = await failure(http.request({ method: 'GET', url: `not a url ${SECRET}` }));

        expect(error.message).toBe('GET (invalid URL) could not be reached');
      });
    });
  });
});

describe('Function: retryAfterMs', () => {
  const headers = (init: Record<string, string>) => new Headers(init);

  it('returns undefined when no header asks for a wait', () => {
    expect(retryAfterMs(headers({}), NOW)).toBeUndefined();
  });

  it.each([
    ['0', 0],
    ['1', 1000],
    [' 30 ', 30_000],
    ['1.5', 1500],
  ])('reads Retry-After "%s" as seconds', (value, expected) => {
    expect(retryAfterMs(headers({ 'retry-after': value }), NOW)).toBe(expected);
  });

  it('reads Retry-After as an HTTP date relative to now', () => {
    expect(retryAfterMs(headers({ 'retry-after': 'Mon, 23 Nov 2026 10:01:30 GMT' }), NOW)).toBe(90_000);
  });

  it('returns 0 for a Retry-After date in the past', () => {
    expect(retryAfterMs(headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }), NOW)).toBe(0);
  });

  it('prefers Retry-After over the rate-limit reset headers', () => {
    expect(retryAfterMs(headers({ 'retry-after': '2', 'x-ratelimit-reset': '50' }), NOW)).toBe(2000);
  });

  it('falls back to X-RateLimit-Reset when Retry-After cannot be read', () => {
    expect(retryAfterMs(headers({ 'retry-after': 'soon', 'x-ratelimit-reset': '9' }), NOW)).toBe(9000);
  });

  it('reads an epoch-seconds reset relative to now, and 0 once it has passed', () => {
    expect(retryAfterMs(headers({ 'x-ratelimit-reset': String(NOW / 1000 + 15) }), NOW)).toBe(15_000);
    expect(retryAfterMs(headers({ 'x-ratelimit-reset': String(NOW / 1000 - 15) }), NOW)).toBe(0);
  });

  it('reads RateLimit-Reset (IETF draft) as seconds from now', () => {
    expect(retryAfterMs(headers({ 'ratelimit-reset': '12' }), NOW)).toBe(12_000);
  });

  it('ignores a reset header that is not a whole number', () => {
    expect(retryAfterMs(headers({ 'x-ratelimit-reset': '12.5s' }), NOW)).toBeUndefined();
  });
});

describe('Function: platformMessage', () => {
  it.each([
    ['message', { message: 'Invalid or expired API key.' }, 'Invalid or expired API key.'],
    ['error_description', { error: 'invalid_client', error_description: 'Client authentication failed' }, 'Client authentication failed'],
    ['errors[0].message', { errors: [{ message: 'Field "limit" is invalid' }, { message: 'second' }] }, 'Field "limit" is invalid'],
    ['error', { error: 'Authentication Error' }, 'Authentication Error'],
    ['error.message', { error: { code: 'unauthorized', message: 'Invalid API key' } }, 'Invalid API key'],
  ])('reads the platform text from %s', (_field, body, expected) => {
    expect(platformMessage(JSON.stringify(body))).toBe(expected);
  });

  it('prefers message over error', () => {
    expect(platformMessage(JSON.stringify(UNAUTHORIZED_BODY))).toBe('Invalid or expired API key.');
  });

  it('skips empty and non-string candidates', () => {
    expect(platformMessage(JSON.stringify({ message: '', error_description: 42, errors: ['x'], error: 'fallback' }))).toBe('fallback');
  });

  it.each([
    ['text that is not JSON', '<html>502 Bad Gateway</html>'],
    ['a JSON string', '"Invalid key"'],
    ['JSON null', 'null'],
    ['an object without a message', '{"code":17}'],
    ['an empty body', ''],
  ])('returns undefined for %s', (_what, text) => {
    expect(platformMessage(text)).toBeUndefined();
  });

  it('replaces each secret and collapses whitespace', () => {
    expect(platformMessage(JSON.stringify({ message: `key\n\t ${SECRET}   is\nrevoked` }), [SECRET])).toBe('key [REDACTED] is revoked');
  });

  it('ignores empty strings in the secrets list', () => {
    expect(platformMessage(JSON.stringify({ message: 'fine' }), [''])).toBe('fine');
  });

  it('cuts a long message to 200 characters after redacting', () => {
    const long = `${SECRET} ${'a'.repeat(400)}`;

    const message = platformMessage(JSON.stringify({ message: long }), [SECRET]) as string;

    expect(message.startsWith('[REDACTED] aaa')).toBe(true);
    expect(message).toHaveLength(201);
    expect(message.endsWith('…')).toBe(true);
  });
});

describe('Class: ProviderHttpClient (secret fields in any body)', () => {
  beforeEach(() => clearRegisteredSecrets());

  it('never repeats a credential that a platform put in a secret-named field, even of an error body', async () => {
    // Prepare: a 500 that carries a token, then an error that echoes it
    const token = 'opaque-token-Z9y8X7w6V5u4T3s2';
    const stub = stubFetch(reply(500, { accessToken: token, expires: 1 }), reply(409, { message: `token ${token} already used` }));
    const { http } = client(stub, { maxAttempts: 2 });
    // Act
    const error = (await http.request({ method: 'POST', url: URL_GET, idempotent: true }).catch((e: unknown) => e)) as Error;
    // Assess
    expect(error.message).toContain('409');
    expect(error.message).not.toContain(token);
    expect(error.message).toContain('[REDACTED]');
  });
});
