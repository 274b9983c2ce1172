/**
 * A local stand-in for a Thrive Learning tenant, served over real HTTP on loopback: its REST API and the
 * GraphQL tenants endpoint that issues API keys, on one server.
 *
 * It follows what Thrive documents (see DESIGN.md §1):
 * - REST calls authorise with HTTP Basic `tenantId:apiKey`; a wrong tenant, an unknown, revoked or expired key
 *   (or none) answers `401` with `{"message":"Unauthorized"}`. Only `GET /rest/v1/users?page=&perPage=` exists.
 * - `POST /tenants` runs the GraphQL mutation
 *   `generateApiKey(tokenType: "permanent", services: ["api-service"]) { validUntil, apiKey }`, authorised by an
 *   admin's browser session token (`Authorization: Bearer …`, valid 60 minutes) and the session's `correlation-id`
 *   header. It answers `{"data":{"generateApiKey":{"validUntil":"<iso>","apiKey":"…"}}}` with a new key valid for
 *   REST at once and for one year. An expired or unknown admin token, or a correlation id that is not the token's,
 *   answers `200` with a GraphQL `UNAUTHENTICATED` error (or `401`, see {@link ThriveSandboxOptions.rejectAdminTokensWith});
 *   a missing or non-Bearer `Authorization` header always answers `401`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { recordSecret } from '../secret-scan';
import {
  FailureQueue,
  randomAlphanumeric,
  readBody,
  recordedQuery,
  replyToFailure,
  requestTarget,
  sendReply,
  startLoopbackServer,
  toEpochMs,
  tooManyRequests,
  type InjectedFailure,
  type JsonReply,
} from './sandbox-http';

/** One request as the sandbox saw it. Never holds a key, an admin token or a request body. */
export interface ThriveRecordedRequest {
  /** HTTP method, e.g. `POST`. */
  method: string;
  /** URL path without the query string, e.g. `/tenants`. */
  path: string;
  /** Query parameters (last value wins). */
  query: Record<string, string>;
  /** The scheme of the `Authorization` header (`Basic`, `Bearer`), or `undefined` without one; its value is never recorded. */
  authScheme: string | undefined;
  /** Whether a `correlation-id` header was sent (its value is not recorded). */
  hasCorrelationId: boolean;
  /** The request's `content-type` header. */
  contentType: string | undefined;
  /** Status code the sandbox answered with. */
  status: number;
  /** `extensions.code` of the GraphQL error answered, if any. */
  graphqlErrorCode?: string;
  /** When the request arrived, in epoch milliseconds of the sandbox clock. */
  at: number;
}

/** Options of {@link startThriveSandbox}. */
export interface ThriveSandboxOptions {
  /** The tenant's id (the Basic-auth user name). @default 'eu-west-2_SandboxTenant1' */
  tenantId?: string;
  /**
   * How a well-formed but expired, unknown or mismatched admin token is refused: a GraphQL `UNAUTHENTICATED`
   * error in a `200` (`'graphql'`) or an HTTP `401` (`'http-401'`).
   * @default 'graphql'
   */
  rejectAdminTokensWith?: 'graphql' | 'http-401';
  /** Clock for admin-token and key expiry and {@link ThriveRecordedRequest.at}. @default Date.now */
  now?: () => number;
}

/** An admin session as a person copies it from DevTools. */
export interface ThriveAdminSession {
  /** The admin's bearer token, without `Bearer `. */
  readonly token: string;
  /** The session's correlation id. */
  readonly correlationId: string;
}

/** A running sandbox. */
export interface ThriveSandbox {
  /** REST base URL, e.g. `http://127.0.0.1:54321` (no trailing slash); the API is under `/rest/v1`. */
  readonly baseUrl: string;
  /** The GraphQL tenants endpoint on the same server: `{baseUrl}/tenants`. */
  readonly tenantsUrl: string;
  /** The tenant id that REST calls must use as the Basic-auth user name. */
  readonly tenantId: string;
  /** Snapshot of the requests received so far, oldest first. Never contains a secret. */
  readonly requests: readonly ThriveRecordedRequest[];
  /** How many keys `generateApiKey` has made. */
  readonly generatedKeyCount: number;
  /**
   * Starts an admin browser session.
   * @param options.ttlMs - how long the token lasts from now (sandbox clock). @default 3_600_000 (60 minutes)
   */
  issueAdminToken(options?: { ttlMs?: number }): ThriveAdminSession;
  /**
   * Makes `apiKey` valid for REST (adding a key again, even a revoked one, resets it).
   * @param options.validUntil - when it stops working (ISO 8601, `Date` or epoch ms). @default never
   * @throws TypeError when the key has spaces or is shorter than 8 characters.
   */
  addApiKey(apiKey: string, options?: { validUntil?: string | Date | number }): void;
  /** Revokes `apiKey` (as Thrive support would): later REST calls with it get `401`. Unknown keys are allowed. */
  revokeApiKey(apiKey: string): void;
  /**
   * Answers the next `count` requests (REST or GraphQL) with `status` instead of their normal response.
   * A `429` always carries `Retry-After` (`retryAfterSeconds`, default 1); other statuses carry it only when given.
   */
  failNext(count: number, status: 500 | 502 | 503 | 429, retryAfterSeconds?: number): void;
  /** Stops the server and closes every connection, keep-alive ones included. Safe to call twice. */
  close(): Promise<void>;
}

/** The mutation as Thrive documents it; a query is accepted when it matches up to whitespace. */
const DOCUMENTED_MUTATION = 'mutation { generateApiKey(tokenType: "permanent", services: ["api-service"]) { validUntil, apiKey } }';
const KEY_PATTERN = /^[\x21-\x7e]{8,1024}$/;
const ADMIN_TOKEN_TTL_MS = 60 * 60_000;
const KEY_LIFETIME_MS = 365 * 24 * 60 * 60_000;
const MAX_BODY_BYTES = 65_536;
const USERS = Array.from({ length: 30 }, (_, index) => ({
  id: fakeUserId(index),
  firstName: ['Ada', 'Grace', 'Alan'][index % 3],
  lastName: ['Lovelace', 'Hopper', 'Turing'][Math.floor(index / 3) % 3],
  email: `learner${String(index + 1).padStart(3, '0')}@example.com`,
}));

function fakeUserId(index: number): string {
  return `00000000-0000-4000-8000-${String(index + 1).padStart(12, '0')}`;
}

/** Generates a plausible Thrive API key: 48 random letters and digits. */
export function makeThriveApiKey(): string {
  const apiKey = randomAlphanumeric(48);
  recordSecret(apiKey);
  return apiKey;
}

/** Collapses whitespace so a query matches however it was laid out. */
function normaliseQuery(query: string): string {
  return query.replace(/\s+/g, ' ').replace(/\s*([{}()[\]:,])\s*/g, '$1').trim();
}

interface Reply extends JsonReply {
  graphqlErrorCode?: string;
}

const graphqlError = (status: number, code: string, message: string): Reply => ({
  status,
  body: { errors: [{ message, extensions: { code } }], data: null },
  graphqlErrorCode: code,
});

/** Starts a sandbox on `127.0.0.1` with a free port. Close it with {@link ThriveSandbox.close}. */
export async function startThriveSandbox(options: ThriveSandboxOptions = {}): Promise<ThriveSandbox> {
  const tenantId = options.tenantId ?? 'eu-west-2_SandboxTenant1';
  const rejectWith = options.rejectAdminTokensWith ?? 'graphql';
  const now = options.now ?? Date.now;
  if (tenantId.includes(':')) throw new RangeError('tenantId must not contain ":"');

  /** apiKey → valid until (epoch ms; -Infinity once revoked). */
  const apiKeys = new Map<string, number>();
  /** admin token → its session. */
  const sessions = new Map<string, { correlationId: string; expiresAt: number }>();
  const failures = new FailureQueue();
  const recorded: ThriveRecordedRequest[] = [];
  let generatedKeyCount = 0;

  const restAuthenticated = (authorization: string | undefined, at: number): boolean => {
    const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(authorization ?? '');
    if (!match) return false;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0 || decoded.slice(0, colon) !== tenantId) return false;
    const validUntil = apiKeys.get(decoded.slice(colon + 1));
    return validUntil !== undefined && at < validUntil;
  };

  const rest = (method: string, path: string, query: URLSearchParams, authorization: string | undefined, at: number): Reply => {
    if (!restAuthenticated(authorization, at)) return { status: 401, body: { message: 'Unauthorized' } };
    if (path !== '/rest/v1/users') return { status: 404, body: { message: 'Not Found' } };
    if (method !== 'GET') return { status: 405, headers: { Allow: 'GET' }, body: { message: 'Method Not Allowed' } };
    const page = Number(query.get('page') ?? '1');
    const perPage = Number(query.get('perPage') ?? '20');
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(perPage) || perPage < 1 || perPage > 100) {
      return { status: 400, body: { message: 'page must be a positive integer and perPage 1 to 100' } };
    }
    return { status: 200, body: { users: USERS.slice((page - 1) * perPage, page * perPage), page, perPage, total: USERS.length } };
  };

  const tenants = (method: string, headers: IncomingMessage['headers'], body: string, at: number): Reply => {
    if (method !== 'POST') return { status: 405, headers: { Allow: 'POST' }, body: { message: 'Method Not Allowed' } };
    const bearer = /^Bearer (\S+)$/.exec(headers.authorization ?? '');
    if (!bearer) return { status: 401, body: { message: 'Unauthorized' } };
    const correlationId = headers['correlation-id'];
    if (typeof correlationId !== 'string' || correlationId.length === 0) {
      return graphqlError(400, 'BAD_REQUEST', 'The correlation-id header is required.');
    }
    const session = sessions.get(bearer[1]);
    const problem =
      session === undefined ? 'Invalid token.' : at >= session.expiresAt ? 'Token has expired.' : session.correlationId !== correlationId ? 'Correlation id does not match the session.' : undefined;
    if (problem !== undefined) {
      return rejectWith === 'http-401' ? { status: 401, body: { message: problem } } : graphqlError(200, 'UNAUTHENTICATED', problem);
    }
    if (!(headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      return graphqlError(415, 'BAD_REQUEST', 'Requests must be sent as application/json.');
    }
    let query: unknown;
    try {
      query = (JSON.parse(body) as { query?: unknown } | null)?.query;
    } catch {
      return graphqlError(400, 'BAD_REQUEST', 'The request body is not valid JSON.');
    }
    if (typeof query !== 'string') return graphqlError(400, 'BAD_REQUEST', 'A "query" string is required.');
    if (normaliseQuery(query) !== normaliseQuery(DOCUMENTED_MUTATION)) {
      return query.includes('generateApiKey')
        ? graphqlError(200, 'BAD_USER_INPUT', 'generateApiKey accepts tokenType "permanent" with services ["api-service"] and selects validUntil, apiKey.')
        : graphqlError(400, 'GRAPHQL_VALIDATION_FAILED', 'Unknown operation.');
    }
    const apiKey = makeThriveApiKey();
    const validUntil = at + KEY_LIFETIME_MS;
    apiKeys.set(apiKey, validUntil);
    generatedKeyCount += 1;
    return { status: 200, body: { data: { generateApiKey: { validUntil: new Date(validUntil).toISOString(), apiKey } } } };
  };

  /** An injected failure; Thrive documents no rate limit, so the sandbox has none of its own. */
  const injectedReply = (failure: InjectedFailure): Reply =>
    replyToFailure<Reply>(
      failure,
      (retryAfterSeconds) => tooManyRequests(retryAfterSeconds, { message: 'Too Many Requests' }),
      (status) => ({ status, body: { message: 'Service Unavailable' } }),
    );

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const at = now();
    const { method, url } = requestTarget(req);

    let reply: Reply;
    const failure = failures.take();
    if (failure) reply = injectedReply(failure);
    else if (url.pathname === '/tenants') reply = tenants(method, req.headers, body, at);
    else if (url.pathname.startsWith('/rest/')) reply = rest(method, url.pathname, url.searchParams, req.headers.authorization, at);
    else reply = { status: 404, body: { message: 'Not Found' } };

    recorded.push({
      method,
      path: url.pathname,
      query: recordedQuery(url.searchParams),
      authScheme: req.headers.authorization?.split(' ')[0],
      hasCorrelationId: req.headers['correlation-id'] !== undefined,
      contentType: req.headers['content-type'],
      status: reply.status,
      ...(reply.graphqlErrorCode === undefined ? {} : { graphqlErrorCode: reply.graphqlErrorCode }),
      at,
    });
    sendReply(res, reply);
  };

  const server = await startLoopbackServer(
    async (req, res) => {
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === undefined) {
        // Answered before anything else: not recorded, and no injected failure is used up.
        res.writeHead(413, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message: 'Payload Too Large' }));
        return;
      }
      handle(req, res, body.toString('utf8'));
    },
    () => ({ message: 'Internal Server Error' }),
  );
  const { baseUrl } = server;

  return {
    baseUrl,
    tenantsUrl: `${baseUrl}/tenants`,
    tenantId,
    get requests(): readonly ThriveRecordedRequest[] {
      return recorded.map((request) => ({ ...request, query: { ...request.query } }));
    },
    get generatedKeyCount(): number {
      return generatedKeyCount;
    },
    issueAdminToken(issueOptions = {}) {
      const ttlMs = issueOptions.ttlMs ?? ADMIN_TOKEN_TTL_MS;
      if (!Number.isFinite(ttlMs)) throw new RangeError('issueAdminToken: ttlMs must be a finite number');
      const token = `eyJhbGciOiJSUzI1NiJ9.${randomAlphanumeric(64)}.${randomAlphanumeric(43)}`;
      const correlationId = randomUUID(); // pairs with the token; not a credential on its own
      recordSecret(token);
      sessions.set(token, { correlationId, expiresAt: now() + ttlMs });
      return { token, correlationId };
    },
    addApiKey(apiKey, addOptions = {}) {
      if (typeof apiKey !== 'string' || !KEY_PATTERN.test(apiKey)) {
        throw new TypeError('addApiKey: malformed Thrive API key (expected 8 to 1024 printable characters without spaces)');
      }
      recordSecret(apiKey);
      apiKeys.set(apiKey, addOptions.validUntil === undefined ? Number.POSITIVE_INFINITY : toEpochMs(addOptions.validUntil, 'addApiKey: validUntil'));
    },
    revokeApiKey(apiKey) {
      apiKeys.set(apiKey, Number.NEGATIVE_INFINITY);
    },
    failNext(count, status, retryAfterSeconds) {
      failures.add(count, { status, retryAfterSeconds });
    },
    close: () => server.close(),
  };
}
