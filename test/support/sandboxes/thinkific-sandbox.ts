/**
 * A local stand-in for Thinkific's public REST API, served over real HTTP on loopback.
 *
 * It follows what Thinkific documents (see DESIGN.md §1 and §6):
 * - the REST API lives under `/api/public/v1/...` and is authenticated with `Authorization: Bearer <token>`;
 * - API access tokens are made by a person with an expiry date; a removed or expired token (or none) answers
 *   `401` with `{"error":"Authentication Error"}`, and removal takes effect at once;
 * - 120 requests per minute are allowed per site; `429` responses carry `Retry-After` (seconds).
 *
 * Only `GET /api/public/v1/users` is implemented: `{"items":[…],"meta":{"pagination":{…}}}` over a fixed list
 * of fake users, with `page` and `limit`.
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
  sendReply,
  startLoopbackServer,
  toEpochMs,
  tooManyRequests,
  type JsonReply,
} from './sandbox-http';

/** One request as the sandbox saw it. Never holds a token. */
export interface ThinkificRecordedRequest {
  /** HTTP method, e.g. `GET`. */
  method: string;
  /** URL path without the query string, e.g. `/api/public/v1/users`. */
  path: string;
  /** Query parameters (last value wins); a value that is a known token is redacted. */
  query: Record<string, string>;
  /** The scheme of the `Authorization` header (`Bearer`), or `undefined` without one; its value is never recorded. */
  authScheme: string | undefined;
  /** Status code the sandbox answered with. */
  status: number;
  /** When the request arrived, in epoch milliseconds of the sandbox clock. */
  at: number;
}

/** Options of {@link startThinkificSandbox}. */
export interface ThinkificSandboxOptions {
  /**
   * Requests allowed per minute (all requests count, authenticated or not), in fixed windows that start with the
   * first request after the previous window ended.
   * @default 120
   */
  rateLimitPerMinute?: number;
  /**
   * Clock for token expiry, the rate window and {@link ThinkificRecordedRequest.at}.
   * @default Date.now
   */
  now?: () => number;
}

/** A running sandbox. */
export interface ThinkificSandbox {
  /** Base URL, e.g. `http://127.0.0.1:54321` (no trailing slash); the API is under `/api/public/v1`. */
  readonly baseUrl: string;
  /** Snapshot of the requests received so far, oldest first. Never contains a token. */
  readonly requests: readonly ThinkificRecordedRequest[];
  /**
   * Makes `token` valid (adding a token again, even a removed one, resets it).
   * @param options.expiresAt - when the token stops working (ISO 8601 string, `Date` or epoch ms). @default never
   * @throws TypeError when the token has spaces or is shorter than 16 characters.
   */
  addToken(token: string, options?: { expiresAt?: string | Date | number }): void;
  /** "Remove" in the dashboard: later requests with `token` get `401`. Removing an unknown token is allowed. */
  removeToken(token: string): void;
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

const TOKEN_PATTERN = /^[\x21-\x7e]{16,4096}$/;
const API_PREFIX = '/api/public/v1';
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 250;
const WINDOW_MS = 60_000;
const UNAUTHORIZED = { error: 'Authentication Error' } as const;

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Frances', 'John'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Allen', 'Backus'];

/** 60 deterministic fake users. */
const USERS = Array.from({ length: 60 }, (_, index) => ({
  id: 1000 + index,
  first_name: FIRST_NAMES[index % FIRST_NAMES.length],
  last_name: LAST_NAMES[Math.floor(index / FIRST_NAMES.length) % LAST_NAMES.length],
  email: `student${String(index + 1).padStart(3, '0')}@example.com`,
  created_at: '2026-01-01T00:00:00.000Z',
}));

/** Generates a plausible token: 40 random letters and digits. */
export function makeThinkificToken(): string {
  const token = randomAlphanumeric(40);
  recordSecret(token);
  return token;
}

/** Starts a sandbox on `127.0.0.1` with a free port. Close it with {@link ThinkificSandbox.close}. */
export async function startThinkificSandbox(options: ThinkificSandboxOptions = {}): Promise<ThinkificSandbox> {
  const rateLimit = options.rateLimitPerMinute ?? 120;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(rateLimit) || rateLimit < 1) throw new RangeError('rateLimitPerMinute must be a positive integer');

  /** token → expiry (epoch ms; Infinity for none, -Infinity once removed). */
  const tokens = new Map<string, number>();
  const failures = new FailureQueue();
  const recorded: ThinkificRecordedRequest[] = [];
  const limiter = new FixedWindowRateLimiter(rateLimit, WINDOW_MS);

  const rateLimited = (retryAfterSeconds: number): JsonReply => tooManyRequests(retryAfterSeconds, { error: 'Too Many Requests' });

  const authenticate = (authorization: string | undefined, at: number): boolean => {
    const match = /^Bearer (\S+)$/.exec(authorization ?? '');
    if (!match) return false;
    const expiry = tokens.get(match[1]);
    return expiry !== undefined && at < expiry;
  };

  const route = (method: string, path: string, query: URLSearchParams, authorization: string | undefined, at: number): JsonReply => {
    if (!path.startsWith(`${API_PREFIX}/`)) return { status: 404, body: { error: 'Not Found' } };
    if (!authenticate(authorization, at)) return { status: 401, body: UNAUTHORIZED };
    if (path !== `${API_PREFIX}/users`) return { status: 404, body: { error: 'Not Found' } };
    if (method !== 'GET') return { status: 405, headers: { Allow: 'GET' }, body: { error: 'Method Not Allowed' } };
    const limitText = query.get('limit') ?? String(DEFAULT_LIMIT);
    const pageText = query.get('page') ?? '1';
    if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || !/^\d+$/.test(pageText) || Number(pageText) < 1) {
      return { status: 400, body: { error: 'page and limit must be positive integers' } };
    }
    const limit = Math.min(MAX_LIMIT, Number(limitText));
    const page = Number(pageText);
    const totalPages = Math.max(1, Math.ceil(USERS.length / limit));
    const items = USERS.slice((page - 1) * limit, page * limit);
    const first = (page - 1) * limit + 1;
    return {
      status: 200,
      body: {
        items,
        meta: {
          pagination: {
            current_page: page,
            next_page: page < totalPages ? page + 1 : null,
            prev_page: page > 1 ? page - 1 : null,
            total_pages: totalPages,
            total_items: USERS.length,
            entries_info: items.length === 0 ? `0 of ${USERS.length}` : `${first}-${first + items.length - 1} of ${USERS.length}`,
          },
        },
      },
    };
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    req.resume(); // drain any request body
    const at = now();
    const { method, url } = requestTarget(req);
    const rate = limiter.count(at);

    const failure = failures.take();
    const reply = failure
      ? replyToFailure(failure, rateLimited, (status) => ({ status, body: { error: 'Service Unavailable' } }))
      : rate.exceeded
        ? rateLimited(rate.retryAfterSeconds)
        : route(method, url.pathname, url.searchParams, req.headers.authorization, at);

    recorded.push({
      method,
      path: url.pathname,
      query: recordedQuery(url.searchParams, (value) => tokens.has(value)),
      authScheme: req.headers.authorization?.split(' ')[0],
      status: reply.status,
      at,
    });
    sendReply(res, reply);
  };

  const server = await startLoopbackServer(handle, () => ({ error: 'Internal Server Error' }));

  return {
    baseUrl: server.baseUrl,
    get requests(): readonly ThinkificRecordedRequest[] {
      return recorded.map((request) => ({ ...request, query: { ...request.query } }));
    },
    addToken(token, addOptions = {}) {
      if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) {
        throw new TypeError('addToken: malformed Thinkific token (expected 16 to 4096 printable characters without spaces)');
      }
      recordSecret(token);
      tokens.set(token, addOptions.expiresAt === undefined ? Number.POSITIVE_INFINITY : toEpochMs(addOptions.expiresAt, 'addToken: expiresAt'));
    },
    removeToken(token) {
      tokens.set(token, Number.NEGATIVE_INFINITY);
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
