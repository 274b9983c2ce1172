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
import type { IncomingMessage, ServerResponse } from 'node:http';
import { recordSecret } from '../secret-scan';
import {
  FailureQueue,
  FixedWindowRateLimiter,
  randomAlphanumeric,
  recordedQuery,
  replyToFailure,
  requestTarget,
  sendJson,
  startLoopbackServer,
  tooManyRequests,
  type JsonReply,
} from './sandbox-http';

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

const INJECTED_BODIES: Record<500 | 502 | 503, { error: string; message: string }> = {
  500: { error: 'internal_error', message: 'An unexpected error occurred.' },
  502: { error: 'bad_gateway', message: 'Bad gateway.' },
  503: { error: 'service_unavailable', message: 'Service temporarily unavailable.' },
};

/** Generates a well-formed key, e.g. `makeThoughtIndustriesKey('production')` → `'ti_live_'` + 24 random alphanumerics. */
export function makeThoughtIndustriesKey(environment: 'production' | 'sandbox'): string {
  const key = (environment === 'production' ? 'ti_live_' : 'ti_test_') + randomAlphanumeric(24);
  recordSecret(key);
  return key;
}

/** Starts a sandbox on `127.0.0.1` with a free port. Close it with {@link ThoughtIndustriesSandbox.close}. */
export async function startThoughtIndustriesSandbox(options: ThoughtIndustriesSandboxOptions = {}): Promise<ThoughtIndustriesSandbox> {
  const rateLimit = options.rateLimit ?? 250;
  const rateWindowMs = options.rateWindowMs ?? 900_000;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(rateLimit) || rateLimit < 1) throw new RangeError('rateLimit must be a positive integer');
  if (!Number.isFinite(rateWindowMs) || rateWindowMs <= 0) throw new RangeError('rateWindowMs must be a positive number');

  const keys = new Map<string, KeyState>();
  const failures = new FailureQueue();
  const recorded: RecordedRequest[] = [];
  const limiter = new FixedWindowRateLimiter(rateLimit, rateWindowMs);

  const rateLimited = (retryAfterSeconds: number): JsonReply =>
    tooManyRequests(retryAfterSeconds, { error: 'rate_limited', message: `Too many requests. Retry after ${retryAfterSeconds} seconds.` });

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

  const route = (method: string, path: string, query: URLSearchParams, authorization: string | undefined): JsonReply => {
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
    const { method, url } = requestTarget(req);
    const rate = limiter.count(at);

    // An injected failure comes first, then the rate limit, then routing (which checks the path before the key).
    const failure = failures.take();
    const reply: JsonReply = failure
      ? replyToFailure(failure, rateLimited, (status) => ({ status, body: INJECTED_BODIES[status] }))
      : rate.exceeded
        ? rateLimited(rate.retryAfterSeconds)
        : route(method, url.pathname, url.searchParams, req.headers.authorization);

    recorded.push({
      method,
      path: url.pathname,
      query: recordedQuery(url.searchParams, (value) => KEY_LIKE.test(value)),
      hasAuthorization: req.headers.authorization !== undefined,
      status: reply.status,
      at,
    });

    // Every response carries the documented X-RateLimit-* headers.
    sendJson(res, reply.status, reply.body, {
      'X-RateLimit-Limit': String(rateLimit),
      'X-RateLimit-Remaining': String(rate.remaining),
      'X-RateLimit-Reset': String(Math.ceil(rate.windowEndMs / 1000)),
      ...reply.headers,
    });
  };

  const server = await startLoopbackServer(handle, (error) => ({
    error: 'internal_error',
    message: `Sandbox failure: ${(error as Error).message}`,
  }));

  return {
    baseUrl: server.baseUrl,
    get requests(): readonly RecordedRequest[] {
      return recorded.map((request) => ({ ...request, query: { ...request.query } }));
    },
    addKey(apiKey, addOptions = {}) {
      if (typeof apiKey !== 'string' || !KEY_PATTERN.test(apiKey)) {
        throw new TypeError('addKey: malformed Thought Industries API key (expected ti_live_ or ti_test_ followed by at least 16 letters or digits)');
      }
      recordSecret(apiKey);
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
      failures.add(count, { status, retryAfterSeconds });
    },
    resetRateLimit() {
      limiter.reset();
    },
    close: () => server.close(),
  };
}
