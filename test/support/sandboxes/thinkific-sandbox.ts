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
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
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

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface InjectedFailure {
  status: 500 | 502 | 503 | 429;
  retryAfterSeconds: number | undefined;
}

/** Generates a plausible token: 40 random letters and digits. */
export function makeThinkificToken(): string {
  let token = '';
  for (let i = 0; i < 40; i += 1) token += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return token;
}

function toEpochMs(value: string | Date | number): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : value.getTime();
  if (Number.isNaN(ms)) throw new TypeError('addToken: expiresAt is not a valid date');
  return ms;
}

/** Starts a sandbox on `127.0.0.1` with a free port. Close it with {@link ThinkificSandbox.close}. */
export async function startThinkificSandbox(options: ThinkificSandboxOptions = {}): Promise<ThinkificSandbox> {
  const rateLimit = options.rateLimitPerMinute ?? 120;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(rateLimit) || rateLimit < 1) throw new RangeError('rateLimitPerMinute must be a positive integer');

  /** token → expiry (epoch ms; Infinity for none, -Infinity once removed). */
  const tokens = new Map<string, number>();
  const injected: InjectedFailure[] = [];
  const recorded: ThinkificRecordedRequest[] = [];
  let windowStart: number | undefined;
  let windowCount = 0;

  const countRequest = (at: number): { exceeded: boolean; retryAfterSeconds: number } => {
    if (windowStart === undefined || at >= windowStart + WINDOW_MS) {
      windowStart = at;
      windowCount = 0;
    }
    windowCount += 1;
    return { exceeded: windowCount > rateLimit, retryAfterSeconds: Math.max(1, Math.ceil((windowStart + WINDOW_MS - at) / 1000)) };
  };

  const rateLimited = (retryAfterSeconds: number): Reply => ({
    status: 429,
    headers: { 'Retry-After': String(retryAfterSeconds) },
    body: { error: 'Too Many Requests' },
  });

  const authenticate = (authorization: string | undefined, at: number): boolean => {
    const match = /^Bearer (\S+)$/.exec(authorization ?? '');
    if (!match) return false;
    const expiry = tokens.get(match[1]);
    return expiry !== undefined && at < expiry;
  };

  const route = (method: string, path: string, query: URLSearchParams, authorization: string | undefined, at: number): Reply => {
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
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const method = req.method ?? 'GET';
    const rate = countRequest(at);

    let reply: Reply;
    const failure = injected.shift();
    if (failure?.status === 429) reply = rateLimited(failure.retryAfterSeconds ?? 1);
    else if (failure) {
      reply = { status: failure.status, body: { error: 'Service Unavailable' } };
      if (failure.retryAfterSeconds !== undefined) reply.headers = { 'Retry-After': String(failure.retryAfterSeconds) };
    } else if (rate.exceeded) reply = rateLimited(rate.retryAfterSeconds);
    else reply = route(method, url.pathname, url.searchParams, req.headers.authorization, at);

    recorded.push({
      method,
      path: url.pathname,
      query: Object.fromEntries([...url.searchParams].map(([name, value]) => [name, tokens.has(value) ? '[REDACTED]' : value])),
      authScheme: req.headers.authorization?.split(' ')[0],
      status: reply.status,
      at,
    });
    const payload = JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)), ...reply.headers });
    res.end(payload);
  };

  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'Internal Server Error' }));
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
    get requests(): readonly ThinkificRecordedRequest[] {
      return recorded.map((request) => ({ ...request, query: { ...request.query } }));
    },
    addToken(token, addOptions = {}) {
      if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) {
        throw new TypeError('addToken: malformed Thinkific token (expected 16 to 4096 printable characters without spaces)');
      }
      tokens.set(token, addOptions.expiresAt === undefined ? Number.POSITIVE_INFINITY : toEpochMs(addOptions.expiresAt));
    },
    removeToken(token) {
      tokens.set(token, Number.NEGATIVE_INFINITY);
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
