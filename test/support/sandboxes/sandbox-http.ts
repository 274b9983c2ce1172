/**
 * The HTTP mechanics the local platform sandboxes share (node:http only, loopback only): starting and closing the
 * server, writing JSON replies, reading a bounded request body, a fixed-window rate limiter, the queue behind
 * `failNext`, and small helpers for recording requests.
 *
 * What a platform documents — its error bodies, its header names, the order in which it checks things — stays in
 * that platform's sandbox; these helpers take those pieces as arguments and never choose them.
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A reply before it is written: status, JSON body (none for e.g. `204`) and headers of the platform's own. */
export interface JsonReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The statuses `failNext` can inject into a sandbox. */
export type InjectedStatus = 500 | 502 | 503 | 429;

/** One failure queued by `failNext`. Sandboxes that filter failures extend it with their own fields. */
export interface InjectedFailure {
  status: InjectedStatus;
  retryAfterSeconds: number | undefined;
}

/** A started loopback server. */
export interface LoopbackServer {
  /** e.g. `http://127.0.0.1:54321` (no trailing slash). */
  readonly baseUrl: string;
  /** Stops the server and closes every connection, keep-alive ones included. Safe to call twice (same promise). */
  close(): Promise<void>;
}

const JSON_CONTENT_TYPE = 'application/json';

/**
 * Starts a server on `127.0.0.1` with a free port.
 * @param handler - answers one request; it may be async (e.g. to {@link readBody} first).
 * @param internalErrorBody - the JSON body of the `500` sent when `handler` throws or rejects (the platform's own shape);
 *   that `500` carries only `Content-Type` (no `Content-Length`), and if headers already went out only the body is written.
 */
export async function startLoopbackServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  internalErrorBody: (error: unknown) => unknown,
): Promise<LoopbackServer> {
  const server = createServer((req, res) => {
    const answerInternalError = (error: unknown): void => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': JSON_CONTENT_TYPE });
      res.end(JSON.stringify(internalErrorBody(error)));
    };
    try {
      const pending = handler(req, res);
      if (pending instanceof Promise) pending.catch(answerInternalError);
    } catch (error) {
      answerInternalError(error);
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
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Writes `body` as JSON: `Content-Type` and `Content-Length` first, then `headers`. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

/** Writes a {@link JsonReply}: with {@link sendJson}, or with only its own headers and no body when `body` is `undefined`. */
export function sendReply(res: ServerResponse, reply: JsonReply): void {
  if (reply.body === undefined) {
    res.writeHead(reply.status, { ...reply.headers });
    res.end();
    return;
  }
  sendJson(res, reply.status, reply.body, reply.headers);
}

/** The request's method (`GET` when missing) and its URL parsed against a placeholder origin. */
export function requestTarget(req: IncomingMessage): { method: string; url: URL } {
  return { method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'http://sandbox.invalid') };
}

/**
 * Reads the whole request body, keeping at most `limitBytes` of it.
 * @returns the body, or `undefined` when it was longer than `limitBytes` (it is still read to the end).
 *   Never rejects; a request aborted before its end leaves the promise pending and is not answered.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limitBytes ? undefined : Buffer.concat(chunks)));
  });
}

/** Query parameters as a record (last value wins), with every value `isSecret` matches replaced by `[REDACTED]`. */
export function recordedQuery(params: URLSearchParams, isSecret: (value: string) => boolean = () => false): Record<string, string> {
  return Object.fromEntries([...params].map(([name, value]) => [name, isSecret(value) ? '[REDACTED]' : value]));
}

/** What {@link FixedWindowRateLimiter.count} found for one request. */
export interface RateCount {
  /** Whether this request is past the limit of its window. */
  exceeded: boolean;
  /** Whole seconds until the window ends, at least 1: the `Retry-After` of a `429`. */
  retryAfterSeconds: number;
  /** Requests still allowed in the window, never below 0. */
  remaining: number;
  /** When the window ends, in epoch milliseconds of the sandbox clock. */
  windowEndMs: number;
}

/**
 * Counts requests in fixed windows: a window starts with the first request after the previous one ended (or after
 * {@link reset}), and every request counts, whatever it is answered. Validating `limit` and `windowMs` is left to the
 * sandbox, whose option names its errors speak of.
 */
export class FixedWindowRateLimiter {
  private windowStart: number | undefined;
  private windowCount = 0;

  /**
   * @param limit - requests allowed per window.
   * @param windowMs - length of a window in milliseconds.
   */
  public constructor(
    public readonly limit: number,
    public readonly windowMs: number,
  ) {}

  /** Counts one request arriving at `at` (epoch ms). */
  public count(at: number): RateCount {
    if (this.windowStart === undefined || at >= this.windowStart + this.windowMs) {
      this.windowStart = at;
      this.windowCount = 0;
    }
    this.windowCount += 1;
    const windowEndMs = this.windowStart + this.windowMs;
    return {
      exceeded: this.windowCount > this.limit,
      retryAfterSeconds: Math.max(1, Math.ceil((windowEndMs - at) / 1000)),
      remaining: Math.max(0, this.limit - this.windowCount),
      windowEndMs,
    };
  }

  /** Forgets the requests counted in the current window. */
  public reset(): void {
    this.windowStart = undefined;
    this.windowCount = 0;
  }
}

/**
 * Checks the arguments every sandbox's `failNext(count, status, retryAfterSeconds)` takes.
 * @throws RangeError when `count` or `retryAfterSeconds` is not a non-negative integer or `status` not 500, 502, 503 or 429.
 */
export function checkFailNextArguments(count: number, status: InjectedStatus, retryAfterSeconds: number | undefined): void {
  if (!Number.isInteger(count) || count < 0) throw new RangeError('failNext: count must be a non-negative integer');
  if (![500, 502, 503, 429].includes(status)) throw new RangeError('failNext: status must be 500, 502, 503 or 429');
  if (retryAfterSeconds !== undefined && (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0)) {
    throw new RangeError('failNext: retryAfterSeconds must be a non-negative integer');
  }
}

/** The failures queued by `failNext`, oldest first. */
export class FailureQueue<F extends InjectedFailure = InjectedFailure> {
  private readonly queued: F[] = [];

  /** Queues `count` copies of `failure` after {@link checkFailNextArguments}. */
  public add(count: number, failure: F): void {
    checkFailNextArguments(count, failure.status, failure.retryAfterSeconds);
    for (let i = 0; i < count; i += 1) this.queued.push({ ...failure });
  }

  /** Removes and returns the oldest failure that `applies` to the request (by default, the oldest), if any. */
  public take(applies: (failure: F) => boolean = () => true): F | undefined {
    const index = this.queued.findIndex(applies);
    return index === -1 ? undefined : this.queued.splice(index, 1)[0];
  }
}

/** A `429` with `Retry-After: retryAfterSeconds` and the platform's `body`. */
export function tooManyRequests(retryAfterSeconds: number, body: unknown): JsonReply & { headers: Record<string, string> } {
  return { status: 429, headers: { 'Retry-After': String(retryAfterSeconds) }, body };
}

/**
 * The reply to an injected failure, in the platform's own words: a `429` is `rateLimited(retryAfterSeconds ?? 1)`;
 * any other status is `failed(status)`, with `Retry-After` added only when the failure gave one.
 */
export function replyToFailure<R extends JsonReply>(
  failure: InjectedFailure,
  rateLimited: (retryAfterSeconds: number) => R,
  failed: (status: Exclude<InjectedStatus, 429>) => R,
): R {
  if (failure.status === 429) return rateLimited(failure.retryAfterSeconds ?? 1);
  const reply = failed(failure.status);
  if (failure.retryAfterSeconds === undefined) return reply;
  return { ...reply, headers: { ...reply.headers, 'Retry-After': String(failure.retryAfterSeconds) } };
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` random letters and digits (crypto-random), for fake keys and tokens. */
export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/**
 * An ISO 8601 string, `Date` or epoch ms as epoch ms.
 * @param what - names the value in the error, e.g. `addToken: expiresAt`.
 * @throws TypeError `${what} is not a valid date` when it is not a date.
 */
export function toEpochMs(value: string | Date | number, what: string): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : value.getTime();
  if (Number.isNaN(ms)) throw new TypeError(`${what} is not a valid date`);
  return ms;
}
