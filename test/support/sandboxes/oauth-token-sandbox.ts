/**
 * A local OAuth 2.0 token endpoint that issues client-credentials tokens (RFC 6749 §4.4), served over real
 * HTTP on loopback. It stands in for Thrive's `{baseUrl}/oauth2/token/{tenantId}` (tokens last 1 h) and for
 * a Thought Industries enterprise instance's token endpoint.
 *
 * It follows RFC 6749, checking in this order:
 * - only `POST {baseUrl}/oauth2/token/{tenantId}` exists (other paths: `404`); another method answers `400`
 *   `{"error":"invalid_request"}` with `Allow: POST`, a body that is not `application/x-www-form-urlencoded` `415`
 *   with the same body, a body over 64 KiB `413`; a parameter sent twice is `invalid_request` (§3.2), one sent
 *   without a value counts as omitted;
 * - client authentication (§2.3.1): HTTP Basic with the form-encoded id and secret, or `client_id` +
 *   `client_secret` form fields, never both (`400 invalid_request`); no credentials, an unknown or revoked client,
 *   a wrong secret, a malformed `Authorization` header or a method the client does not allow answer `401`
 *   `{"error":"invalid_client"}`, with `WWW-Authenticate: Basic realm="…"` when an `Authorization` header was sent
 *   (§5.2) or none was;
 * - `grant_type` missing → `invalid_request`; other than `client_credentials` → `unsupported_grant_type`;
 * - `scope` (§3.3) malformed or not among the client's allowed scopes → `invalid_scope`; without `scope` the
 *   client gets all its allowed scopes;
 * - success → `200` `{access_token, token_type:"Bearer", expires_in, scope?}`.
 * Every answer carries `Cache-Control: no-store` and `Pragma: no-cache` (§5.1).
 *
 * Injected `failNext` failures and an `outage` are answered before any of this.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { recordSecret } from '../secret-scan';

/** One request as the sandbox saw it. Never holds a client secret, an `Authorization` value or a token. */
export interface OAuthRecordedRequest {
  /** HTTP method, e.g. `POST`. */
  method: string;
  /** URL path without the query string, e.g. `/oauth2/token/eu-west-2_AbcdEfghI`. */
  path: string;
  /** The request's `content-type` header. */
  contentType: string | undefined;
  /** The scheme of the `Authorization` header (`Basic`, `Bearer`), or `undefined` without one. */
  authScheme: string | undefined;
  /** How the client presented its credentials, as far as the sandbox got in reading them. */
  clientAuth: 'basic' | 'body' | 'both' | 'none';
  /** The client id presented (a client id is not a secret), if one could be read. */
  clientId: string | undefined;
  /** Names of the form parameters sent, in order (never their values). */
  params: string[];
  /** `grant_type` as sent. */
  grantType: string | undefined;
  /** `scope` as sent. */
  scope: string | undefined;
  /** Status code answered. */
  status: number;
  /** The OAuth `error` answered, if any. */
  error?: string;
  /** When the request arrived, in epoch milliseconds of the sandbox clock. */
  at: number;
}

/** A client the sandbox knows. */
export interface OAuthSandboxClient {
  clientId: string;
  clientSecret: string;
  /** Scopes the client may ask for (and gets when it asks for none). @default any scope is allowed; none are granted by default */
  scopes?: readonly string[];
  /** Client authentication the client may use. @default 'any' */
  auth?: 'basic' | 'body' | 'any';
}

/** A token the sandbox issued. */
export interface OAuthIssuedToken {
  clientId: string;
  accessToken: string;
  /** Scopes granted. */
  scopes: string[];
  /** ISO 8601, sandbox clock. */
  issuedAt: string;
  /** ISO 8601, sandbox clock. */
  expiresAt: string;
}

/** Options of {@link startOAuthTokenSandbox}. */
export interface OAuthTokenSandboxOptions {
  /** The tenant in the token URL's path. @default 'eu-west-2_AbcdEfghI' */
  tenantId?: string;
  /** Clock for token expiry, outages and {@link OAuthRecordedRequest.at}. @default Date.now */
  now?: () => number;
  /** Lifetime of issued tokens in seconds. @default 3600 */
  tokenLifetimeSeconds?: number;
}

/** A running sandbox. */
export interface OAuthTokenSandbox {
  /** e.g. `http://127.0.0.1:54321` (no trailing slash). */
  readonly baseUrl: string;
  readonly tenantId: string;
  /** `{baseUrl}/oauth2/token/{tenantId}`. */
  readonly tokenUrl: string;
  /** Snapshot of the requests received so far, oldest first. Never contains a secret. */
  readonly requests: readonly OAuthRecordedRequest[];
  /**
   * Registers a client (adding it again, even a revoked one, replaces it).
   * @throws TypeError when the id or secret is empty or a scope is not an RFC 6749 scope token.
   */
  addClient(client: OAuthSandboxClient): void;
  /** Revokes a client: later token requests with it answer `invalid_client`. Tokens already issued stay valid until they expire. */
  revokeClient(clientId: string): void;
  /** Lifetime of tokens issued from now on. @throws RangeError unless a positive integer */
  setTokenLifetime(seconds: number): void;
  /**
   * Answers the next `count` requests with `status` instead of their normal response (calls queue up).
   * A `429` always carries `Retry-After` (`retryAfterSeconds`, default 1); other statuses only when given.
   */
  failNext(count: number, status: 429 | 500 | 502 | 503, retryAfterSeconds?: number): void;
  /** Answers `503` with `Retry-After` to every request until the sandbox clock reaches `untilEpochMs`. */
  outage(untilEpochMs: number): void;
  /** Every token issued so far, oldest first. */
  issued(): OAuthIssuedToken[];
  /** True when `token` was issued here and has not expired on the sandbox clock. */
  validateToken(token: string): boolean;
  /** Stops the server and closes every connection, keep-alive ones included. Safe to call twice. */
  close(): Promise<void>;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const MAX_BODY_BYTES = 65_536;
const FORM = 'application/x-www-form-urlencoded';
const REALM = 'Basic realm="oauth2", charset="UTF-8"';

interface ClientState {
  readonly clientSecret: string;
  readonly scopes: readonly string[] | undefined;
  readonly auth: 'basic' | 'body' | 'any';
  revoked: boolean;
}

interface TokenState extends OAuthIssuedToken {
  readonly expiresAtMs: number;
}

interface InjectedFailure {
  status: 429 | 500 | 502 | 503;
  retryAfterSeconds: number | undefined;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const INJECTED_BODIES: Record<429 | 500 | 502 | 503, { error: string; error_description: string }> = {
  429: { error: 'too_many_requests', error_description: 'Rate limit exceeded.' },
  500: { error: 'server_error', error_description: 'An unexpected error occurred.' },
  502: { error: 'server_error', error_description: 'Bad gateway.' },
  503: { error: 'temporarily_unavailable', error_description: 'The token service is temporarily unavailable.' },
};

const oauthError = (status: number, error: string, description: string, headers?: Record<string, string>): Reply => ({
  status,
  body: { error, error_description: description },
  ...(headers ? { headers } : {}),
});

/** RFC 6749 Appendix B form decoding of one Basic credential half; `undefined` when malformed. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Starts a sandbox on `127.0.0.1` with a free port. Close it with {@link OAuthTokenSandbox.close}. */
export async function startOAuthTokenSandbox(options: OAuthTokenSandboxOptions = {}): Promise<OAuthTokenSandbox> {
  const tenantId = options.tenantId ?? 'eu-west-2_AbcdEfghI';
  const now = options.now ?? Date.now;
  let lifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1) throw new RangeError('tokenLifetimeSeconds must be a positive integer');
  const tokenPath = `/oauth2/token/${encodeURIComponent(tenantId)}`;

  const clients = new Map<string, ClientState>();
  const tokens = new Map<string, TokenState>();
  const issuedList: TokenState[] = [];
  const injected: InjectedFailure[] = [];
  const recorded: OAuthRecordedRequest[] = [];
  let outageUntil = Number.NEGATIVE_INFINITY;

  /** What a request says, for both the reply and the record. */
  interface Parsed {
    clientAuth: OAuthRecordedRequest['clientAuth'];
    clientId: string | undefined;
    params: string[];
    grantType: string | undefined;
    scope: string | undefined;
  }

  const route = (req: IncomingMessage, body: Buffer | undefined, parsed: Parsed, at: number): Reply => {
    if (req.method !== 'POST') return oauthError(400, 'invalid_request', 'The token endpoint accepts only POST.', { Allow: 'POST' });
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType !== FORM) return oauthError(415, 'invalid_request', `The request body must be ${FORM}.`);
    if (body === undefined) return oauthError(413, 'invalid_request', 'The request body is too large.');

    const form = new URLSearchParams(body.toString('utf8'));
    parsed.params = [...form.keys()];
    const seen = new Set<string>();
    for (const name of form.keys()) {
      if (seen.has(name)) return oauthError(400, 'invalid_request', `Parameter ${name} is repeated.`);
      seen.add(name);
    }
    // §3.2: a parameter without a value counts as omitted.
    const param = (name: string): string | undefined => form.get(name) || undefined;
    parsed.grantType = param('grant_type');
    parsed.scope = param('scope');

    // Client authentication (§2.3.1).
    const authorization = req.headers.authorization;
    const bodyId = param('client_id');
    const bodySecret = param('client_secret');
    const usedBody = bodyId !== undefined || bodySecret !== undefined;
    if (authorization !== undefined && usedBody) {
      parsed.clientAuth = 'both';
      return oauthError(400, 'invalid_request', 'Use one client authentication method, not both.');
    }
    const challenge = { 'WWW-Authenticate': REALM };
    let clientId: string | undefined;
    let clientSecret: string | undefined;
    if (authorization !== undefined) {
      parsed.clientAuth = 'basic';
      const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
      const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : undefined;
      const colon = decoded?.indexOf(':') ?? -1;
      if (decoded === undefined || colon < 0) return oauthError(401, 'invalid_client', 'Malformed client credentials.', challenge);
      clientId = formDecode(decoded.slice(0, colon));
      clientSecret = formDecode(decoded.slice(colon + 1));
      if (clientId === undefined || clientSecret === undefined) return oauthError(401, 'invalid_client', 'Malformed client credentials.', challenge);
    } else if (usedBody) {
      parsed.clientAuth = 'body';
      clientId = bodyId;
      clientSecret = bodySecret;
    } else {
      return oauthError(401, 'invalid_client', 'Client authentication is required.', challenge);
    }
    parsed.clientId = clientId;
    const refuse = (): Reply =>
      oauthError(401, 'invalid_client', 'Client authentication failed.', parsed.clientAuth === 'basic' ? challenge : undefined);
    const client = clientId === undefined ? undefined : clients.get(clientId);
    if (client === undefined || client.revoked || clientSecret !== client.clientSecret) return refuse();
    if (client.auth !== 'any' && client.auth !== parsed.clientAuth) return refuse();

    if (parsed.grantType === undefined) return oauthError(400, 'invalid_request', 'grant_type is required.');
    if (parsed.grantType !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', `Grant type ${parsed.grantType} is not supported.`);

    let scopes: string[];
    if (parsed.scope === undefined) scopes = [...(client.scopes ?? [])];
    else {
      scopes = parsed.scope.split(' ');
      if (!scopes.every((scope) => SCOPE_TOKEN.test(scope))) return oauthError(400, 'invalid_scope', 'The scope parameter is malformed.');
      const refused = client.scopes === undefined ? [] : scopes.filter((scope) => !client.scopes?.includes(scope));
      if (refused.length > 0) return oauthError(400, 'invalid_scope', `Scope ${refused[0]} is not allowed for this client.`);
      scopes = [...new Set(scopes)];
    }

    const accessToken = `oat_${randomBytes(32).toString('base64url')}`;
    recordSecret(accessToken);
    const expiresAtMs = at + lifetimeSeconds * 1000;
    const token: TokenState = {
      clientId: clientId as string,
      accessToken,
      scopes,
      issuedAt: new Date(at).toISOString(),
      expiresAt: new Date(expiresAtMs).toISOString(),
      expiresAtMs,
    };
    tokens.set(accessToken, token);
    issuedList.push(token);
    return {
      status: 200,
      body: { access_token: accessToken, token_type: 'Bearer', expires_in: lifetimeSeconds, ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}) },
    };
  };

  /** The body, or `undefined` when it is larger than {@link MAX_BODY_BYTES}. */
  const readBody = (req: IncomingMessage): Promise<Buffer | undefined> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) tooLarge = true;
        else chunks.push(chunk);
      });
      req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
      req.on('error', reject);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const at = now();
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const authorization = req.headers.authorization;
    const parsed: Parsed = { clientAuth: 'none', clientId: undefined, params: [], grantType: undefined, scope: undefined };

    let reply: Reply;
    const failure = url.pathname === tokenPath ? injected.shift() : undefined;
    if (url.pathname !== tokenPath) {
      reply = { status: 404, body: { error: 'not_found', error_description: `No route for ${url.pathname}.` } };
    } else if (failure) {
      const retryAfter = failure.status === 429 ? (failure.retryAfterSeconds ?? 1) : failure.retryAfterSeconds;
      reply = { status: failure.status, body: INJECTED_BODIES[failure.status], ...(retryAfter === undefined ? {} : { headers: { 'Retry-After': String(retryAfter) } }) };
    } else if (at < outageUntil) {
      reply = { status: 503, body: INJECTED_BODIES[503], headers: { 'Retry-After': String(Math.max(1, Math.ceil((outageUntil - at) / 1000))) } };
    } else {
      reply = route(req, body, parsed, at);
    }

    const error = (reply.body as { error?: unknown }).error;
    recorded.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      contentType: req.headers['content-type'],
      authScheme: authorization === undefined ? undefined : authorization.split(' ')[0],
      ...parsed,
      status: reply.status,
      ...(typeof error === 'string' ? { error } : {}),
      at,
    });

    const payload = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'Content-Type': 'application/json;charset=UTF-8',
      'Content-Length': String(Buffer.byteLength(payload)),
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
      ...reply.headers,
    });
    res.end(payload);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'server_error', error_description: `Sandbox failure: ${(error as Error).message}` }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;

  return {
    baseUrl,
    tenantId,
    tokenUrl: `${baseUrl}${tokenPath}`,
    get requests(): readonly OAuthRecordedRequest[] {
      return recorded.map((request) => ({ ...request, params: [...request.params] }));
    },
    addClient(client) {
      if (typeof client.clientId !== 'string' || client.clientId.length === 0) throw new TypeError('addClient: clientId must be a non-empty string');
      if (typeof client.clientSecret !== 'string' || client.clientSecret.length === 0) throw new TypeError('addClient: clientSecret must be a non-empty string');
      if (client.scopes !== undefined && !client.scopes.every((scope) => SCOPE_TOKEN.test(scope))) {
        throw new TypeError('addClient: every scope must be an RFC 6749 scope token (printable, no spaces, quotes or backslashes)');
      }
      recordSecret(client.clientSecret); // the client id is public
      clients.set(client.clientId, { clientSecret: client.clientSecret, scopes: client.scopes ? [...client.scopes] : undefined, auth: client.auth ?? 'any', revoked: false });
    },
    revokeClient(clientId) {
      const client = clients.get(clientId);
      if (client) client.revoked = true;
    },
    setTokenLifetime(seconds) {
      if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError('setTokenLifetime: seconds must be a positive integer');
      lifetimeSeconds = seconds;
    },
    failNext(count, status, retryAfterSeconds) {
      if (!Number.isInteger(count) || count < 0) throw new RangeError('failNext: count must be a non-negative integer');
      if (![429, 500, 502, 503].includes(status)) throw new RangeError('failNext: status must be 429, 500, 502 or 503');
      if (retryAfterSeconds !== undefined && (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0)) {
        throw new RangeError('failNext: retryAfterSeconds must be a non-negative integer');
      }
      for (let i = 0; i < count; i += 1) injected.push({ status, retryAfterSeconds });
    },
    outage(untilEpochMs) {
      if (!Number.isFinite(untilEpochMs)) throw new RangeError('outage: untilEpochMs must be a finite number');
      outageUntil = untilEpochMs;
    },
    issued() {
      return issuedList.map(({ expiresAtMs: _expiresAtMs, ...token }) => ({ ...token, scopes: [...token.scopes] }));
    },
    validateToken(token) {
      const state = tokens.get(token);
      return state !== undefined && now() < state.expiresAtMs;
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
