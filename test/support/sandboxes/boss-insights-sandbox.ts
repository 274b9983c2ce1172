/**
 * A local stand-in for a Boss Insights account's admin API, served over real HTTP on loopback.
 *
 * It follows what the platform documents (see DESIGN.md §1 and the "Generating API Keys" page):
 * - API keys have a name, one or more scopes and an Active flag; a key is shown once, when it is created;
 *   an inactive key stops working at once;
 * - the admin API is authenticated with HTTP Basic, the API key as user name and an empty password,
 *   plus an `Account-Key` header;
 * - `GET /api/admin/api-keys` lists the keys (never key material), `POST /api/admin/api-keys` creates one
 *   (`201`, the only answer that holds the key), `PATCH /api/admin/api-keys/{id}` updates `active`, `name` or `scopes`;
 *   creating and updating need the caller's key to have the `admin` scope;
 * - errors are `{"error":{"code","message"}}`: `401 unauthorized` (missing, unknown or inactive key, wrong
 *   Account-Key), `403 forbidden` (scope missing), `404 not_found`, `429 rate_limited` (with `Retry-After`),
 *   and `400 bad_request` / `405 method_not_allowed` for requests the API does not accept.
 *
 * Not simulated: pagination of the list, scope names beyond non-empty strings, key deletion.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { recordSecret } from '../secret-scan';
import {
  checkFailNextArguments,
  FailureQueue,
  FixedWindowRateLimiter,
  randomAlphanumeric,
  readBody,
  replyToFailure,
  requestTarget,
  sendReply,
  startLoopbackServer,
  type InjectedFailure as BaseInjectedFailure,
  type JsonReply,
} from './sandbox-http';

/** One request as the sandbox saw it. Never holds an API key or the account key. */
export interface BossInsightsRecordedRequest {
  /** HTTP method, e.g. `POST`. */
  method: string;
  /** URL path without the query string, e.g. `/api/admin/api-keys`. */
  path: string;
  /** Whether the request carried an `Authorization` header (its value is never recorded). */
  hasAuthorization: boolean;
  /** Whether the request carried an `Account-Key` header (its value is never recorded). */
  hasAccountKey: boolean;
  /** `name`, `scopes` and `active` of a JSON request body (other fields are dropped; any credential is redacted). */
  body?: { name?: unknown; scopes?: unknown; active?: unknown };
  /** Status code the sandbox answered with. */
  status: number;
  /** When the request arrived, in epoch milliseconds of the sandbox clock. */
  at: number;
}

/** A key as the admin API lists it. */
export interface BossInsightsSandboxKey {
  id: string;
  name: string;
  scopes: string[];
  active: boolean;
  createdAt: string;
}

/** Options of {@link startBossInsightsSandbox}. */
export interface BossInsightsSandboxOptions {
  /**
   * The account's `Account-Key`.
   * @default 24 random letters and digits
   */
  accountKey?: string;
  /**
   * Requests allowed per rate window (all requests count, authenticated or not).
   * @default 600
   */
  rateLimit?: number;
  /**
   * Length of the fixed rate window in milliseconds; it starts with the first request after a reset.
   * @default 60_000
   */
  rateWindowMs?: number;
  /**
   * Clock for the rate window, `createdAt` and {@link BossInsightsRecordedRequest.at}.
   * @default Date.now
   */
  now?: () => number;
}

/** Which requests {@link BossInsightsSandbox.failNext} hits, and how. */
export interface FailNextOptions {
  method?: 'GET' | 'POST' | 'PATCH';
  afterProcessing?: boolean;
}

/** A running sandbox. */
export interface BossInsightsSandbox {
  /** Base URL of the account, e.g. `http://127.0.0.1:54321` (no trailing slash). */
  readonly baseUrl: string;
  /** The account's `Account-Key`. */
  readonly accountKey: string;
  /** Snapshot of the requests received so far, oldest first. Never contains a credential. */
  readonly requests: readonly BossInsightsRecordedRequest[];
  /**
   * Creates a key as a person would in the Administration Portal and returns its id and the key (shown once).
   * @param options.active - @default true
   * @param options.name - @default `key-<n>`
   * @throws RangeError when `scopes` is empty or holds an empty string.
   */
  addKey(options: { scopes: string[]; active?: boolean; name?: string }): { id: string; key: string };
  /** Snapshot of every key (active and inactive), oldest first, without key material. */
  keys(): BossInsightsSandboxKey[];
  /**
   * Answers the next `count` requests with `status` instead of their normal response (calls queue up). A `429` always
   * carries `Retry-After` (`retryAfterSeconds`, default 1); other statuses carry it only when given.
   * @param options.method - only requests with this method fail (others pass untouched). @default every method
   * @param options.afterProcessing - the request is carried out and only its answer is replaced: the ambiguous
   *   failure where a key was created but the caller never saw it. Ignored for `429`, which is never processed. @default false
   */
  failNext(count: number, status: 500 | 502 | 503 | 429, retryAfterSeconds?: number, options?: FailNextOptions): void;
  /** Forgets the requests counted in the current rate window. */
  resetRateLimit(): void;
  /** Stops the server and closes every connection, keep-alive ones included. Safe to call twice. */
  close(): Promise<void>;
}

const API_KEYS_PATH = '/api/admin/api-keys';
const ADMIN_SCOPE = 'admin';
const MAX_BODY_BYTES = 64 * 1024;

interface StoredKey extends BossInsightsSandboxKey {
  key: string;
}

interface InjectedFailure extends BaseInjectedFailure {
  method: string | undefined;
  afterProcessing: boolean;
}

const INJECTED: Record<500 | 502 | 503, { code: string; message: string }> = {
  500: { code: 'internal_error', message: 'An unexpected error occurred.' },
  502: { code: 'bad_gateway', message: 'Bad gateway.' },
  503: { code: 'service_unavailable', message: 'Service temporarily unavailable.' },
};

function errorReply(status: number, code: string, message: string, headers?: Record<string, string>): JsonReply {
  return { status, body: { error: { code, message } }, ...(headers ? { headers } : {}) };
}

const UNAUTHORIZED = (): JsonReply => errorReply(401, 'unauthorized', 'Invalid API key or account key.');
const FORBIDDEN = (): JsonReply => errorReply(403, 'forbidden', `This API key does not have the "${ADMIN_SCOPE}" scope.`);

function publicRecord(stored: StoredKey): BossInsightsSandboxKey {
  return { id: stored.id, name: stored.name, scopes: [...stored.scopes], active: stored.active, createdAt: stored.createdAt };
}

function isScopeList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((scope) => typeof scope === 'string' && scope.trim().length > 0);
}

/** Starts a sandbox on `127.0.0.1` with a free port. Close it with {@link BossInsightsSandbox.close}. */
export async function startBossInsightsSandbox(options: BossInsightsSandboxOptions = {}): Promise<BossInsightsSandbox> {
  const accountKey = options.accountKey ?? randomAlphanumeric(24);
  const rateLimit = options.rateLimit ?? 600;
  const rateWindowMs = options.rateWindowMs ?? 60_000;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(rateLimit) || rateLimit < 1) throw new RangeError('rateLimit must be a positive integer');
  if (!Number.isFinite(rateWindowMs) || rateWindowMs <= 0) throw new RangeError('rateWindowMs must be a positive number');
  if (accountKey.length === 0) throw new RangeError('accountKey must not be empty');
  recordSecret(accountKey); // the Account-Key header is a credential too

  const keys: StoredKey[] = [];
  const failures = new FailureQueue<InjectedFailure>();
  const recorded: BossInsightsRecordedRequest[] = [];
  const limiter = new FixedWindowRateLimiter(rateLimit, rateWindowMs);

  const createKey = (name: string, scopes: string[], active: boolean): StoredKey => {
    const stored: StoredKey = {
      id: `key_${randomBytes(8).toString('hex')}`,
      name,
      scopes: [...scopes],
      active,
      createdAt: new Date(now()).toISOString(),
      key: randomAlphanumeric(40),
    };
    recordSecret(stored.key); // its id is public
    keys.push(stored);
    return stored;
  };

  const rateLimited = (retryAfterSeconds: number): JsonReply =>
    errorReply(429, 'rate_limited', `Too many requests. Retry after ${retryAfterSeconds} seconds.`, { 'Retry-After': String(retryAfterSeconds) });

  /** The live key that Basic credentials (key as user name, empty password) and the Account-Key header name, if any. */
  const authenticate = (authorization: string | undefined, accountKeyHeader: string | undefined): StoredKey | undefined => {
    if (authorization === undefined || accountKeyHeader !== accountKey) return undefined;
    const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
    if (!match) return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0 || colon !== decoded.length - 1) return undefined;
    const apiKey = decoded.slice(0, colon);
    const stored = keys.find((candidate) => candidate.key === apiKey);
    return stored?.active ? stored : undefined;
  };

  const route = (method: string, path: string, caller: StoredKey | undefined, body: unknown, bodyError: string | undefined): JsonReply => {
    const idMatch = path.startsWith(`${API_KEYS_PATH}/`) ? /^\/api\/admin\/api-keys\/([^/]+)\/?$/.exec(path) : null;
    const isCollection = path === API_KEYS_PATH || path === `${API_KEYS_PATH}/`;
    if (!isCollection && !idMatch) return errorReply(404, 'not_found', `No route for ${path}.`);
    if (!caller) return UNAUTHORIZED();

    if (isCollection && method === 'GET') {
      return { status: 200, body: { data: keys.map(publicRecord) } };
    }
    if (isCollection && method === 'POST') {
      if (!caller.scopes.includes(ADMIN_SCOPE)) return FORBIDDEN();
      if (bodyError) return errorReply(400, 'bad_request', bodyError);
      const fields = body as Record<string, unknown>;
      if (typeof fields.name !== 'string' || fields.name.trim().length === 0) return errorReply(400, 'bad_request', 'name is required.');
      if (!isScopeList(fields.scopes)) return errorReply(400, 'bad_request', 'scopes must be a non-empty list of scope names.');
      if (fields.active !== undefined && typeof fields.active !== 'boolean') return errorReply(400, 'bad_request', 'active must be true or false.');
      const stored = createKey(fields.name, fields.scopes, fields.active ?? true);
      return { status: 201, body: { ...publicRecord(stored), key: stored.key } };
    }
    if (idMatch && method === 'PATCH') {
      if (!caller.scopes.includes(ADMIN_SCOPE)) return FORBIDDEN();
      const stored = keys.find((candidate) => candidate.id === decodeURIComponent(idMatch[1]));
      if (!stored) return errorReply(404, 'not_found', 'API key not found.');
      if (bodyError) return errorReply(400, 'bad_request', bodyError);
      const fields = body as Record<string, unknown>;
      if (fields.active !== undefined && typeof fields.active !== 'boolean') return errorReply(400, 'bad_request', 'active must be true or false.');
      if (fields.name !== undefined && (typeof fields.name !== 'string' || fields.name.trim().length === 0)) return errorReply(400, 'bad_request', 'name must not be empty.');
      if (fields.scopes !== undefined && !isScopeList(fields.scopes)) return errorReply(400, 'bad_request', 'scopes must be a non-empty list of scope names.');
      if (typeof fields.active === 'boolean') stored.active = fields.active;
      if (typeof fields.name === 'string') stored.name = fields.name;
      if (isScopeList(fields.scopes)) stored.scopes = [...fields.scopes];
      return { status: 200, body: publicRecord(stored) };
    }
    return errorReply(405, 'method_not_allowed', `Method ${method} is not allowed on ${path}.`, { Allow: isCollection ? 'GET, POST' : 'PATCH' });
  };

  /** The `name`, `scopes` and `active` of a JSON body, with any credential replaced. */
  const recordableBody = (body: unknown): BossInsightsRecordedRequest['body'] => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    const secrets = new Set([accountKey, ...keys.map((stored) => stored.key)]);
    const scrub = (value: unknown): unknown => {
      if (typeof value === 'string') return secrets.has(value) ? '[REDACTED]' : value;
      if (Array.isArray(value)) return value.map(scrub);
      return typeof value === 'object' && value !== null ? '[object]' : value;
    };
    const fields = body as Record<string, unknown>;
    const out: NonNullable<BossInsightsRecordedRequest['body']> = {};
    for (const name of ['name', 'scopes', 'active'] as const) if (name in fields) out[name] = scrub(fields[name]);
    return out;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string | undefined): void => {
    const at = now();
    const { method, url } = requestTarget(req);
    const rate = limiter.count(at);

    let body: unknown;
    let bodyError: string | undefined;
    if (raw === undefined) bodyError = 'Request body is too large.';
    else if (method === 'POST' || method === 'PATCH') {
      try {
        body = JSON.parse(raw);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) bodyError = 'Request body must be a JSON object.';
      } catch {
        bodyError = 'Request body must be JSON.';
      }
    }

    const carryOut = (): JsonReply => {
      const accountKeyHeader = req.headers['account-key'];
      const caller = authenticate(req.headers.authorization, typeof accountKeyHeader === 'string' ? accountKeyHeader : undefined);
      return route(method, url.pathname, caller, body, bodyError);
    };
    let reply: JsonReply;
    const failure = failures.take((candidate) => candidate.method === undefined || candidate.method === method);
    if (failure) {
      // afterProcessing: the request is carried out and only its answer replaced (a 429 is never processed).
      if (failure.afterProcessing && failure.status !== 429) carryOut();
      reply = replyToFailure(failure, rateLimited, (status) => errorReply(status, INJECTED[status].code, INJECTED[status].message));
    } else if (rate.exceeded) {
      reply = rateLimited(rate.retryAfterSeconds);
    } else {
      reply = carryOut();
    }

    const recordedBody = recordableBody(body);
    recorded.push({
      method,
      path: url.pathname,
      hasAuthorization: req.headers.authorization !== undefined,
      hasAccountKey: req.headers['account-key'] !== undefined,
      ...(recordedBody ? { body: recordedBody } : {}),
      status: reply.status,
      at,
    });

    sendReply(res, reply);
  };

  const server = await startLoopbackServer(
    async (req, res) => handle(req, res, (await readBody(req, MAX_BODY_BYTES))?.toString('utf8')),
    (error) => ({ error: { code: 'internal_error', message: `Sandbox failure: ${(error as Error).message}` } }),
  );

  return {
    baseUrl: server.baseUrl,
    accountKey,
    get requests(): readonly BossInsightsRecordedRequest[] {
      return recorded.map((request) => ({ ...request, ...(request.body ? { body: { ...request.body } } : {}) }));
    },
    addKey({ scopes, active = true, name }) {
      if (!isScopeList(scopes)) throw new RangeError('addKey: scopes must be a non-empty list of non-empty scope names');
      const stored = createKey(name ?? `key-${keys.length + 1}`, scopes, active);
      return { id: stored.id, key: stored.key };
    },
    keys() {
      return keys.map(publicRecord);
    },
    failNext(count, status, retryAfterSeconds, failOptions = {}) {
      checkFailNextArguments(count, status, retryAfterSeconds);
      if (failOptions.method !== undefined && !['GET', 'POST', 'PATCH'].includes(failOptions.method)) {
        throw new RangeError('failNext: method must be GET, POST or PATCH');
      }
      failures.add(count, { status, retryAfterSeconds, method: failOptions.method, afterProcessing: failOptions.afterProcessing ?? false });
    },
    resetRateLimit() {
      limiter.reset();
    },
    close: () => server.close(),
  };
}
