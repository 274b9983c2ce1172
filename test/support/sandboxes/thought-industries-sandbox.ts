/**
 * A local stand-in for a Thought Industries instance's REST API, served over real HTTP on loopback.
 *
 * It follows what the platform documents (see DESIGN.md §1 and §6):
 * - the REST API lives under `/incoming/v2/...` and is authenticated with `Authorization: Bearer <apiKey>`;
 * - keys start with `ti_live_` (production) or `ti_test_` (sandbox); both are accepted by any instance;
 * - any authentication failure answers `401` with `{"error":"unauthorized","message":"Invalid or expired API key."}`;
 * - about 250 requests per 15 minutes are allowed per instance; every response carries `X-RateLimit-*` headers and
 *   `429` responses carry `Retry-After`.
 *
 * Only `GET /incoming/v2/users` is implemented (a fixed list of fake learners); pagination is not simulated
 * (`pageInfo.cursor` is always `null`).
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the sandbox saw it. Never holds the API key. */
export interface RecordedRequest {
  /** HTTP method, e.g. `GET`. */
  method: string;
  /** URL path without the query string, e.g. `/incoming/v2/users`. */
  path: string;
  /** Query parameters (last value wins); values that look like an API key are redacted. */
  query: Record<string, string>;
  /** Whether the request carried an `Authorization` header (its value is never recorded). */
  hasAuthorization: boolean;
  /** Status code the sandbox answered with. */
  status: number;
  /** When the request arrived, in epoch milliseconds of the sandbox clock. */
  at: number;
}

/** Options of {@link startThoughtIndustriesSandbox}. */
export interface ThoughtIndustriesSandboxOptions {
  /**
   * Requests allowed per rate window (all requests count, authenticated or not).
   * @default 250
   */
  rateLimit?: number;
  /**
   * Length of the fixed rate window in milliseconds; it starts with the first request after a reset.
   * @default 900_000 (15 minutes)
   */
  rateWindowMs?: number;
  /**
   * Clock for the rate window and for {@link RecordedRequest.at}.
   * @default Date.now
   */
  now?: () => number;
}

/** A running sandbox. */
export interface ThoughtIndustriesSandbox {
  /** Base URL of the instance, e.g. `http://127.0.0.1:54321` (no trailing slash). */
  readonly baseUrl: string;
  /** Snapshot of the requests received so far, oldest first. Never contains an API key. */
  readonly requests: readonly RecordedRequest[];
  /**
   * Makes `apiKey` valid (adding a key again, even a revoked one, resets its state).
   * @param options.propagationFailures - the first N requests that authenticate with this key still get `401`,
   *   as a freshly created key does until it has propagated. @default 0
   * @throws TypeError when the key is not well formed (`ti_live_`/`ti_test_` + at least 16 letters or digits).
   */
  addKey(apiKey: string, options?: { propagationFailures?: number }): void;
  /** Revokes `apiKey`: later requests with it get `401`. Revoking an unknown key is allowed. */
  revokeKey(apiKey: string): void;
  /**
   * Answers the next `count` requests with `status` instead of their normal response (calls queue up).
   * A `429` always carries `Retry-After` (`retryAfterSeconds`, default 1); other statuses carry it only when given.
   */
  failNext(count: number, status: 500 | 502 | 503 | 429, retryAfterSeconds?: number): void;
  /** Forgets the requests counted in the current rate window. */
  resetRateLimit(): void;
  /** Stops the server and closes every connection, keep-alive ones included. Safe to call twice. */
  close(): Promise<void>;
}

const KEY_PATTERN = /^ti_(live|test)_[A-Za-z0-9]{16,}$/;
const KEY_LIKE = /ti_(live|test)_/;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const API_PREFIX = '/incoming/v2';
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 100;
const UNAUTHORIZED = { error: 'unauthorized', message: 'Invalid or expired API key.' } as const;

interface FakeUser {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
}

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Frances', 'John'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Allen', 'Backus'];

/** 150 deterministic fake learners: more than the maximum page size. */
const USERS: readonly FakeUser[] = Array.from({ length: 150 }, (_, index) => {
  const n = index + 1;
  const firstName = FIRST_NAMES[index % FIRST_NAMES.length];
  const lastName = LAST_NAMES[Math.floor(index / FIRST_NAMES.length) % LAST_NAMES.length];
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    email: `learner${String(n).padStart(3, '0')}@example.com`,
    firstName,
    lastName,
  };
});

interface KeyState {
  revoked: boolean;
  propagationFailuresLeft: number;
}

interface InjectedFailure {
  status: 500 | 502 | 503 | 429;
  retryAfterSeconds: number | undefined;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const INJECTED_BODIES: Record<500 | 502 | 503, { error: string; message: string }> = {
  500: { error: 'internal_error', message: 'An unexpected error occurred.' },
  502: { error: 'bad_gateway', message: 'Bad gateway.' },
  503: { error: 'service_unavailable', message: 'Service temporarily unavailable.' },
};

/** Generates a well-formed key, e.g. `makeThoughtIndustriesKey('production')` → `'ti_live_'` + 24 random alphanumerics. */
export function makeThoughtIndustriesKey(environment: 'production' | 'sandbox'): string {
  const prefix = environment === 'production' ? 'ti_live_' : 'ti_test_';
  let suffix = '';
  for (let i = 0; i < 24; i += 1) suffix += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return prefix + suffix;
}

/** Starts a sandbox on `127.0.0.1` with a free port. Close it with {@link ThoughtIndustriesSandbox.close}. */
export async function startThoughtIndustriesSandbox(options: ThoughtIndustriesSandboxOptions = {}): Promise<ThoughtIndustriesSandbox> {
  const rateLimit = options.rateLimit ?? 250;
  const rateWindowMs = options.rateWindowMs ?? 900_000;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(rateLimit) || rateLimit < 1) throw new RangeError('rateLimit must be a positive integer');
  if (!Number.isFinite(rateWindowMs) || rateWindowMs <= 0) throw new RangeError('rateWindowMs must be a positive number');

  const keys = new Map<string, KeyState>();
  const injected: InjectedFailure[] = [];
  const recorded: RecordedRequest[] = [];
  let windowStart: number | undefined;
  let windowCount = 0;

  /** Counts the request in the current fixed window and returns the rate-limit view of it. */
  const countRequest = (at: number) => {
    if (windowStart === undefined || at >= windowStart + rateWindowMs) {
      windowStart = at;
      windowCount = 0;
    }
    windowCount += 1;
    const windowEnd = windowStart + rateWindowMs;
    return {
      exceeded: windowCount > rateLimit,
      retryAfterSeconds: Math.max(1, Math.ceil((windowEnd - at) / 1000)),
      headers: {
        'X-RateLimit-Limit': String(rateLimit),
        'X-RateLimit-Remaining': String(Math.max(0, rateLimit - windowCount)),
        'X-RateLimit-Reset': String(Math.ceil(windowEnd / 1000)),
      },
    };
  };

  const rateLimited = (retryAfterSeconds: number): Reply => ({
    status: 429,
    headers: { 'Retry-After': String(retryAfterSeconds) },
    body: { error: 'rate_limited', message: `Too many requests. Retry after ${retryAfterSeconds} seconds.` },
  });

  /** True when the Authorization header carries a known, live key that has propagated. */
  const authenticate = (authorization: string | undefined): boolean => {
    if (authorization === undefined) return false;
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match) return false;
    const token = match[1];
    if (!KEY_PATTERN.test(token)) return false;
    const state = keys.get(token);
    if (!state || state.revoked) return false;
    if (state.propagationFailuresLeft > 0) {
      state.propagationFailuresLeft -= 1;
      return false;
    }
    return true;
  };

  const route = (method: string, path: string, query: URLSearchParams, authorization: string | undefined): Reply => {
    if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) {
      return { status: 404, body: { error: 'not_found', message: `No route for ${path}.` } };
    }
    if (!authenticate(authorization)) return { status: 401, body: UNAUTHORIZED };
    if (path !== `${API_PREFIX}/users` && path !== `${API_PREFIX}/users/`) {
      return { status: 404, body: { error: 'not_found', message: `Resource ${path} not found.` } };
    }
    if (method !== 'GET') {
      return {
        status: 405,
        headers: { Allow: 'GET' },
        body: { error: 'method_not_allowed', message: `Method ${method} is not allowed on ${path}.` },
      };
    }
    const rawLimit = query.get('limit');
    let limit = DEFAULT_LIMIT;
    if (rawLimit !== null) {
      if (!/^\d+$/.test(rawLimit) || Number(rawLimit) < 1) {
        return { status: 400, body: { error: 'bad_request', message: 'limit must be a positive integer.' } };
      }
      limit = Math.min(MAX_LIMIT, Number(rawLimit));
    }
    return {
      status: 200,
      body: { pageInfo: { total: USERS.length, limit, cursor: null }, users: USERS.slice(0, limit) },
    };
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    req.resume(); // drain any request body
    const at = now();
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const method = req.method ?? 'GET';
    const rate = countRequest(at);

    let reply: Reply;
    const failure = injected.shift();
    if (failure?.status === 429) {
      reply = rateLimited(failure.retryAfterSeconds ?? 1);
    } else if (failure) {
      reply = { status: failure.status, body: INJECTED_BODIES[failure.status] };
      if (failure.retryAfterSeconds !== undefined) reply.headers = { 'Retry-After': String(failure.retryAfterSeconds) };
    } else if (rate.exceeded) {
      reply = rateLimited(rate.retryAfterSeconds);
    } else {
      reply = route(method, url.pathname, url.searchParams, req.headers.authorization);
    }

    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = KEY_LIKE.test(value) ? '[REDACTED]' : value;
    recorded.push({
      method,
      path: url.pathname,
      query,
      hasAuthorization: req.headers.authorization !== undefined,
      status: reply.status,
      at,
    });

    const payload = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(payload)),
      ...rate.headers,
      ...reply.headers,
    });
    res.end(payload);
  };

  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal_error', message: `Sandbox failure: ${(error as Error).message}` }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    get requests(): readonly RecordedRequest[] {
      return recorded.map((request) => ({ ...request, query: { ...request.query } }));
    },
    addKey(apiKey, addOptions = {}) {
      if (typeof apiKey !== 'string' || !KEY_PATTERN.test(apiKey)) {
        throw new TypeError('addKey: malformed Thought Industries API key (expected ti_live_ or ti_test_ followed by at least 16 letters or digits)');
      }
      const propagationFailures = addOptions.propagationFailures ?? 0;
      if (!Number.isInteger(propagationFailures) || propagationFailures < 0) {
        throw new RangeError('addKey: propagationFailures must be a non-negative integer');
      }
      keys.set(apiKey, { revoked: false, propagationFailuresLeft: propagationFailures });
    },
    revokeKey(apiKey) {
      const state = keys.get(apiKey);
      if (state) state.revoked = true;
      else keys.set(apiKey, { revoked: true, propagationFailuresLeft: 0 });
    },
    failNext(count, status, retryAfterSeconds) {
      if (!Number.isInteger(count) || count < 0) throw new RangeError('failNext: count must be a non-negative integer');
      if (![500, 502, 503, 429].includes(status)) throw new RangeError('failNext: status must be 500, 502, 503 or 429');
      if (retryAfterSeconds !== undefined && (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0)) {
        throw new RangeError('failNext: retryAfterSeconds must be a non-negative integer');
      }
      for (let i = 0; i < count; i += 1) injected.push({ status, retryAfterSeconds });
    },
    resetRateLimit() {
      windowStart = undefined;
      windowCount = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
