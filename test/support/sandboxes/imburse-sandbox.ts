/**
 * A local stand-in for Imburse's tenant-key API, served over real HTTP on loopback.
 *
 * It follows what the platform documents (see DESIGN.md §1 and the "Creating a Tenant API Key" guide):
 * - a tenant key is a pair: `publicKey` (a uuid) and `privateKey` (base64 of 32 random bytes, shown once);
 * - `POST /v1/identity/hmac` with `Authorization: Hmac {publicKey}:{nonce}:{epoch}:{signature}` answers
 *   `200 {"accessToken","expires"}` (`expires` in epoch ms; tokens last 15 minutes by default), where
 *   signature = Base64(HMAC-SHA256(Base64Decode(privateKey), "{publicKey}:{nonce}:{epoch}:{bodyHash}")) and
 *   bodyHash = Base64(SHA256(body)), or the empty string when the request has no body;
 * - `GET /v1/tenant/{tenantId}/keys` lists keys (never a private key); `POST` creates one from `{name, roles}`
 *   (`201`, the only response that ever holds a private key); `DELETE .../keys/{publicKey}` answers `204`, or `404`
 *   for a key it does not know. All three take `Authorization: Bearer {accessToken}`;
 * - every error answers `{"timestamp","correlationId","errors":[{"errorCode","message"}]}`.
 *
 * The signature check is written here from the documented recipe, independently of keyrotor's signer.
 * Choices the documentation leaves open, made here so tests can rely on them:
 * - a signature more than 5 minutes old or ahead of the sandbox clock is refused (`HmacExpired`,
 *   `HmacNotYetValid`); a nonce is accepted once per key (`NonceReused`), and only a correctly signed
 *   request uses one up; `UnknownKey`, `InvalidSignature` and `InvalidAuthorizationHeader` cover the rest;
 * - creating and deleting keys needs the `tenant-admin` role (`403 InsufficientRole`); listing needs a valid token only;
 * - deleting a key also ends its access tokens at once;
 * - rate limiting (`429` with `Retry-After`) and injected failures are answered before authentication, so
 *   such a request uses up no nonce and changes nothing.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { recordSecret } from '../secret-scan';
import {
  FailureQueue,
  FixedWindowRateLimiter,
  readBody,
  replyToFailure,
  requestTarget,
  sendReply,
  startLoopbackServer,
  tooManyRequests,
  type InjectedFailure as BaseInjectedFailure,
  type JsonReply,
} from './sandbox-http';

/** One request as the sandbox saw it. Never holds a private key, a signature or an access token. */
export interface ImburseRecordedRequest {
  /** HTTP method, e.g. `POST`. */
  method: string;
  /** URL path without the query string, e.g. `/v1/identity/hmac`. */
  path: string;
  /** The scheme of the `Authorization` header, if any (its value is never recorded). */
  scheme: 'Hmac' | 'Bearer' | 'other' | undefined;
  /** The public key a `Hmac` header named (public, not secret). */
  publicKey?: string;
  /** For `POST .../keys`: the requested name and roles. */
  created?: { name?: unknown; roles?: unknown };
  /** Status code the sandbox answered with. */
  status: number;
  /** The `errorCode` of an error response. */
  errorCode?: string;
  /** When the request arrived, in epoch milliseconds of the sandbox clock. */
  at: number;
}

/** A tenant key as the sandbox lists it. */
export interface ImburseSandboxKey {
  publicKey: string;
  name: string;
  roles: string[];
}

/** Options of {@link startImburseSandbox}. */
export interface ImburseSandboxOptions {
  /**
   * The tenant's id.
   * @default a random uuid
   */
  tenantId?: string;
  /**
   * Clock for signature epochs, token expiry, rate windows and {@link ImburseRecordedRequest.at}, in epoch ms.
   * @default Date.now
   */
  now?: () => number;
  /**
   * How far a signature's epoch may be from the sandbox clock, either way.
   * @default 300 (5 minutes)
   */
  maxSkewSeconds?: number;
  /**
   * Lifetime of an access token.
   * @default 900_000 (15 minutes)
   */
  tokenLifetimeMs?: number;
  /**
   * Requests allowed per rate window (all requests count).
   * @default 600
   */
  rateLimit?: number;
  /**
   * Length of the fixed rate window; it starts with the first request after the previous one ended.
   * @default 60_000
   */
  rateWindowMs?: number;
}

/** Which requests an injected failure applies to. */
export interface FailureFilter {
  /** e.g. `POST`. */
  method?: string;
  /** The exact path, or a pattern it must match. */
  path?: string | RegExp;
}

/** A running sandbox. */
export interface ImburseSandbox {
  /** Base URL of the API, e.g. `http://127.0.0.1:54321` (no trailing slash). */
  readonly baseUrl: string;
  readonly tenantId: string;
  /** Snapshot of the requests received so far, oldest first. */
  readonly requests: readonly ImburseRecordedRequest[];
  /**
   * Creates a tenant key, as a person would in the portal.
   * @param roles - @default ['tenant-admin']
   */
  addKey(roles?: readonly string[], options?: { name?: string }): { publicKey: string; privateKey: string };
  /** The tenant's keys, oldest first (no private keys). */
  keys(): ImburseSandboxKey[];
  /** Deletes a key (and ends its tokens); returns whether it existed. */
  revokeKey(publicKey: string): boolean;
  /**
   * Answers the next `count` requests (those matching `filter`, when given) with `status` instead of their
   * normal response. A `429` always carries `Retry-After` (`retryAfterSeconds`, default 1); other statuses only when given.
   */
  failNext(count: number, status: 500 | 502 | 503 | 429, retryAfterSeconds?: number, filter?: FailureFilter): void;
  /** Stops the server and closes every connection, keep-alive ones included. Safe to call twice. */
  close(): Promise<void>;
}

export const TENANT_ADMIN = 'tenant-admin';

const EXCHANGE_PATH = '/v1/identity/hmac';
const KEYS_PATH = /^\/v1\/tenant\/([^/]+)\/keys\/?$/;
const KEY_PATH = /^\/v1\/tenant\/([^/]+)\/keys\/([^/]+)\/?$/;
const HMAC_HEADER = /^Hmac +([^:\s]+):([^:\s]+):(\d{1,15}):([A-Za-z0-9+/]+={0,2}) *$/i;
const BEARER_HEADER = /^Bearer +(\S+) *$/i;
const MAX_BODY_BYTES = 64 * 1024;

interface StoredKey {
  publicKey: string;
  privateKey: string;
  name: string;
  roles: string[];
  /** Nonces this key has signed with, and the epoch they came with (pruned once out of the skew window). */
  nonces: Map<string, number>;
}

interface StoredToken {
  publicKey: string;
  expires: number;
}

interface InjectedFailure extends BaseInjectedFailure {
  filter: FailureFilter | undefined;
}

interface Reply extends JsonReply {
  errorCode?: string;
}

class SandboxRequestError extends Error {
  public constructor(
    public readonly status: number,
    public readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

const INJECTED: Record<500 | 502 | 503, [string, string]> = {
  500: ['InternalServerError', 'An unexpected error occurred.'],
  502: ['BadGateway', 'Bad gateway.'],
  503: ['ServiceUnavailable', 'Service temporarily unavailable.'],
};

/** Starts a sandbox on `127.0.0.1` with a free port. Close it with {@link ImburseSandbox.close}. */
export async function startImburseSandbox(options: ImburseSandboxOptions = {}): Promise<ImburseSandbox> {
  const tenantId = options.tenantId ?? randomUUID();
  const accountId = randomUUID();
  const now = options.now ?? Date.now;
  const maxSkewSeconds = options.maxSkewSeconds ?? 300;
  const tokenLifetimeMs = options.tokenLifetimeMs ?? 900_000;
  const rateLimit = options.rateLimit ?? 600;
  const rateWindowMs = options.rateWindowMs ?? 60_000;
  if (!Number.isInteger(rateLimit) || rateLimit < 1) throw new RangeError('rateLimit must be a positive integer');
  if (!(rateWindowMs > 0)) throw new RangeError('rateWindowMs must be a positive number');
  if (!(maxSkewSeconds >= 0)) throw new RangeError('maxSkewSeconds must not be negative');

  const keys = new Map<string, StoredKey>();
  const tokens = new Map<string, StoredToken>();
  const failures = new FailureQueue<InjectedFailure>();
  const recorded: ImburseRecordedRequest[] = [];
  const limiter = new FixedWindowRateLimiter(rateLimit, rateWindowMs);
  let generatedNames = 0;

  const errorBody = (errorCode: string, message: string) => ({
    timestamp: new Date(now()).toISOString(),
    correlationId: randomUUID(),
    errors: [{ errorCode, message }],
  });
  const fail = (status: number, errorCode: string, message: string): never => {
    throw new SandboxRequestError(status, errorCode, message);
  };

  const createKey = (roles: readonly string[], name: string | undefined): StoredKey => {
    generatedNames += 1;
    const key: StoredKey = {
      publicKey: randomUUID(),
      privateKey: randomBytes(32).toString('base64'),
      name: name ?? `Tenant key ${generatedNames}`,
      roles: [...roles],
      nonces: new Map(),
    };
    recordSecret(key.privateKey); // the publicKey is the key's id, not a secret
    keys.set(key.publicKey, key);
    return key;
  };

  const deleteKey = (publicKey: string): boolean => {
    const existed = keys.delete(publicKey);
    for (const [token, stored] of tokens) if (stored.publicKey === publicKey) tokens.delete(token);
    return existed;
  };

  /** Checks a `Hmac` header against the documented recipe; on success records the nonce and returns the key. */
  const verifyHmac = (authorization: string | undefined, body: Buffer): StoredKey => {
    if (authorization === undefined) return fail(401, 'MissingAuthorization', 'An Authorization header is required.');
    const match = HMAC_HEADER.exec(authorization);
    if (!match) return fail(401, 'InvalidAuthorizationHeader', 'Expected Authorization: Hmac {publicKey}:{nonce}:{epoch}:{signature}.');
    const [, publicKey, nonce, epochText, signature] = match;
    const key = keys.get(publicKey);
    if (!key) return fail(401, 'UnknownKey', 'The API key is unknown or has been deleted.');
    const epoch = Number(epochText);
    const nowSeconds = Math.floor(now() / 1000);
    if (nowSeconds - epoch > maxSkewSeconds) return fail(401, 'HmacExpired', `The signature is more than ${maxSkewSeconds} seconds old.`);
    if (epoch - nowSeconds > maxSkewSeconds) return fail(401, 'HmacNotYetValid', `The signature is more than ${maxSkewSeconds} seconds in the future.`);
    const hash = body.length === 0 ? '' : createHash('sha256').update(body).digest('base64');
    const expected = createHmac('sha256', Buffer.from(key.privateKey, 'base64'))
      .update(Buffer.from(`${publicKey}:${nonce}:${epochText}:${hash}`, 'utf8'))
      .digest();
    const given = Buffer.from(signature, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return fail(401, 'InvalidSignature', 'The signature does not match the request.');
    }
    for (const [seen, seenEpoch] of key.nonces) if (nowSeconds - seenEpoch > 2 * maxSkewSeconds) key.nonces.delete(seen);
    if (key.nonces.has(nonce)) return fail(401, 'NonceReused', 'The nonce has already been used.');
    key.nonces.set(nonce, epoch);
    return key;
  };

  const verifyBearer = (authorization: string | undefined): StoredKey => {
    if (authorization === undefined) return fail(401, 'MissingAuthorization', 'An Authorization header is required.');
    const match = BEARER_HEADER.exec(authorization);
    if (!match) return fail(401, 'InvalidAuthorizationHeader', 'Expected Authorization: Bearer {accessToken}.');
    const stored = tokens.get(match[1]);
    if (!stored) return fail(401, 'InvalidToken', 'The access token is not valid.');
    if (stored.expires <= now()) {
      tokens.delete(match[1]);
      return fail(401, 'TokenExpired', 'The access token has expired.');
    }
    const key = keys.get(stored.publicKey);
    if (!key) return fail(401, 'InvalidToken', 'The access token is not valid.');
    return key;
  };

  const requireAdmin = (key: StoredKey): void => {
    if (!key.roles.includes(TENANT_ADMIN)) fail(403, 'InsufficientRole', `This operation requires the ${TENANT_ADMIN} role.`);
  };

  const requireTenant = (encoded: string): void => {
    if (safeDecode(encoded) !== tenantId) fail(404, 'TenantNotFound', 'The tenant was not found.');
  };

  const route = (method: string, path: string, authorization: string | undefined, body: Buffer, record: ImburseRecordedRequest): Reply => {
    if (path === EXCHANGE_PATH) {
      if (method !== 'POST') return { status: 405, headers: { Allow: 'POST' }, body: errorBody('MethodNotAllowed', `Method ${method} is not allowed.`), errorCode: 'MethodNotAllowed' };
      const key = verifyHmac(authorization, body);
      const accessToken = randomBytes(32).toString('base64url');
      recordSecret(accessToken);
      const expires = now() + tokenLifetimeMs;
      tokens.set(accessToken, { publicKey: key.publicKey, expires });
      return { status: 200, body: { accessToken, expires } };
    }
    const list = KEYS_PATH.exec(path);
    if (list) {
      if (method !== 'GET' && method !== 'POST') {
        return { status: 405, headers: { Allow: 'GET, POST' }, body: errorBody('MethodNotAllowed', `Method ${method} is not allowed.`), errorCode: 'MethodNotAllowed' };
      }
      const caller = verifyBearer(authorization);
      requireTenant(list[1]);
      if (method === 'GET') return { status: 200, body: [...keys.values()].map(({ publicKey, name, roles }) => ({ publicKey, name, roles: [...roles] })) };
      requireAdmin(caller);
      let request: unknown;
      try {
        request = JSON.parse(body.toString('utf8'));
      } catch {
        return fail(400, 'InvalidRequest', 'The request body must be JSON.');
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) return fail(400, 'InvalidRequest', 'The request body must be a JSON object.');
      const { name, roles } = request as Record<string, unknown>;
      record.created = { name, roles };
      if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.length > 200)) {
        return fail(400, 'InvalidRequest', 'name must be a string of 1 to 200 characters.');
      }
      if (!Array.isArray(roles) || roles.length === 0 || !roles.every((role) => typeof role === 'string' && role.length > 0)) {
        return fail(400, 'InvalidRequest', 'roles must be a non-empty array of role names.');
      }
      const key = createKey(roles as string[], name);
      return {
        status: 201,
        body: { tenantId, accountId, name: key.name, publicKey: key.publicKey, privateKey: key.privateKey, roles: [...key.roles] },
      };
    }
    const one = KEY_PATH.exec(path);
    if (one) {
      if (method !== 'DELETE') return { status: 405, headers: { Allow: 'DELETE' }, body: errorBody('MethodNotAllowed', `Method ${method} is not allowed.`), errorCode: 'MethodNotAllowed' };
      const caller = verifyBearer(authorization);
      requireTenant(one[1]);
      requireAdmin(caller);
      const publicKey = safeDecode(one[2]);
      if (publicKey === undefined || !keys.has(publicKey)) return fail(404, 'KeyNotFound', 'The API key was not found.');
      deleteKey(publicKey);
      return { status: 204 };
    }
    return fail(404, 'NotFound', `No route for ${method} ${path}.`);
  };

  const rateLimited = (retryAfterSeconds: number): Reply => ({
    ...tooManyRequests(retryAfterSeconds, errorBody('RateLimited', `Too many requests. Retry after ${retryAfterSeconds} seconds.`)),
    errorCode: 'RateLimited',
  });

  const takeFailure = (method: string, path: string): InjectedFailure | undefined =>
    failures.take(({ filter }) => {
      if (filter === undefined) return true;
      if (filter.method !== undefined && filter.method.toUpperCase() !== method) return false;
      if (filter.path === undefined) return true;
      return typeof filter.path === 'string' ? filter.path === path : filter.path.test(path);
    });

  const handle = (req: IncomingMessage, body: Buffer | undefined, res: ServerResponse): void => {
    const at = now();
    const { method, url } = requestTarget(req);
    const authorization = req.headers.authorization;
    const hmac = authorization === undefined ? undefined : HMAC_HEADER.exec(authorization);
    const record: ImburseRecordedRequest = {
      method,
      path: url.pathname,
      scheme: authorization === undefined ? undefined : hmac || /^Hmac /i.test(authorization) ? 'Hmac' : BEARER_HEADER.test(authorization) ? 'Bearer' : 'other',
      ...(hmac ? { publicKey: hmac[1] } : {}),
      status: 0,
      at,
    };
    const rate = limiter.count(at);
    const failure = takeFailure(method, url.pathname);

    let reply: Reply;
    if (failure) {
      reply = replyToFailure(failure, rateLimited, (status) => {
        const [errorCode, message] = INJECTED[status];
        return { status, body: errorBody(errorCode, message), errorCode };
      });
    } else if (rate.exceeded) {
      reply = rateLimited(rate.retryAfterSeconds);
    } else if (body === undefined) {
      reply = { status: 413, body: errorBody('PayloadTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes.`), errorCode: 'PayloadTooLarge' };
    } else {
      try {
        reply = route(method, url.pathname, authorization, body, record);
      } catch (error) {
        if (!(error instanceof SandboxRequestError)) throw error;
        reply = { status: error.status, body: errorBody(error.errorCode, error.message), errorCode: error.errorCode };
      }
    }

    record.status = reply.status;
    if (reply.errorCode !== undefined) record.errorCode = reply.errorCode;
    recorded.push(record);

    sendReply(res, reply);
  };

  const server = await startLoopbackServer(
    async (req, res) => handle(req, await readBody(req, MAX_BODY_BYTES), res),
    (error) => errorBody('InternalServerError', `Sandbox failure: ${(error as Error).message}`),
  );

  return {
    baseUrl: server.baseUrl,
    tenantId,
    get requests(): readonly ImburseRecordedRequest[] {
      return recorded.map((request) => ({ ...request, ...(request.created ? { created: { ...request.created } } : {}) }));
    },
    addKey(roles = [TENANT_ADMIN], addOptions = {}) {
      if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string' && role.length > 0)) {
        throw new TypeError('addKey: roles must be an array of role names');
      }
      const key = createKey(roles, addOptions.name);
      return { publicKey: key.publicKey, privateKey: key.privateKey };
    },
    keys() {
      return [...keys.values()].map(({ publicKey, name, roles }) => ({ publicKey, name, roles: [...roles] }));
    },
    revokeKey(publicKey) {
      return deleteKey(publicKey);
    },
    failNext(count, status, retryAfterSeconds, filter) {
      failures.add(count, { status, retryAfterSeconds, filter });
    },
    close: () => server.close(),
  };
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
