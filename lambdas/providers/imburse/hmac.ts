import { createHash, createHmac } from 'node:crypto';

/**
 * Imburse's request signing recipe, as its documentation gives it:
 *
 * ```text
 * bodyHash  = Base64(SHA256(UTF-8 body))          — the empty string when there is no body
 * message   = "{publicKey}:{nonce}:{epoch}:{bodyHash}"
 * signature = Base64(HMAC-SHA256(key = Base64Decode(privateKey), UTF-8 message))
 * header    = "Authorization: Hmac {publicKey}:{nonce}:{epoch}:{signature}"
 * ```
 *
 * `epoch` is whole UTC seconds; `nonce` is fresh for every request (the platform refuses a replay).
 * Pure functions: the caller supplies the nonce and the clock.
 */

/** What one signature covers. */
export interface HmacSigningInput {
  /** The tenant key's public half (a uuid); sent in clear in the header. */
  readonly publicKey: string;
  /** The tenant key's private half: base64 of the HMAC key bytes. */
  readonly privateKey: string;
  /** A value used for this request only (a uuid). */
  readonly nonce: string;
  /** Whole seconds since the Unix epoch, UTC. */
  readonly epoch: number;
  /** The exact request body; `undefined` or `''` when the request has none. */
  readonly body?: string;
}

/** Standard base64 alphabet, padding optional (a length of 4n+1 can never be base64). */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Parts of the header are `:`-separated and must be valid in an HTTP header. */
const HEADER_PART = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * The bytes of a base64 private key, or `undefined` when it is not strict base64 or is empty.
 * Node's own decoder skips characters it does not know, which would sign with a different key than
 * the one a person meant; this refuses instead.
 */
export function decodePrivateKey(privateKey: string): Buffer | undefined {
  if (!BASE64.test(privateKey)) return undefined;
  const unpadded = privateKey.replace(/=+$/, '');
  if (unpadded.length === 0 || unpadded.length % 4 === 1) return undefined;
  if (unpadded.length !== privateKey.length && privateKey.length % 4 !== 0) return undefined;
  return Buffer.from(privateKey, 'base64');
}

/** Base64(SHA256(UTF-8 body)), or `''` when there is no body. */
export function bodyHash(body: string | undefined): string {
  if (body === undefined || body === '') return '';
  return createHash('sha256').update(body, 'utf8').digest('base64');
}

/**
 * Why `input` cannot be signed, one line per field; empty when it can. Never quotes a value.
 * @example hmacInputProblems({ publicKey: 'a:b', privateKey: '', nonce: 'n', epoch: 1 })
 *   // ['publicKey: must be printable ASCII without spaces or ":"', 'privateKey: must be base64 (…)']
 */
export function hmacInputProblems(input: HmacSigningInput): string[] {
  const problems: string[] = [];
  if (typeof input.publicKey !== 'string' || !HEADER_PART.test(input.publicKey)) {
    problems.push('publicKey: must be printable ASCII without spaces or ":"');
  }
  if (typeof input.privateKey !== 'string' || decodePrivateKey(input.privateKey) === undefined) {
    problems.push('privateKey: must be base64 (A–Z, a–z, 0–9, +, /, optional = padding) as the Imburse portal shows it');
  }
  if (typeof input.nonce !== 'string' || !HEADER_PART.test(input.nonce)) {
    problems.push('nonce: must be printable ASCII without spaces or ":"');
  }
  if (!Number.isSafeInteger(input.epoch) || input.epoch < 0) problems.push('epoch: must be whole seconds since 1970 (UTC)');
  if (input.body !== undefined && typeof input.body !== 'string') problems.push('body: must be a string');
  return problems;
}

/**
 * The signature of one request: Base64(HMAC-SHA256(Base64Decode(privateKey), "{publicKey}:{nonce}:{epoch}:{bodyHash}")).
 * @throws TypeError naming the malformed fields (never their values) when the input cannot be signed.
 * @example signHmac({ publicKey, privateKey, nonce: randomUUID(), epoch: Math.floor(Date.now() / 1000) })
 */
export function signHmac(input: HmacSigningInput): string {
  const problems = hmacInputProblems(input);
  if (problems.length > 0) throw new TypeError(`cannot sign the Imburse request: ${problems.join('; ')}`);
  const key = decodePrivateKey(input.privateKey) as Buffer;
  const message = `${input.publicKey}:${input.nonce}:${input.epoch}:${bodyHash(input.body)}`;
  return createHmac('sha256', key).update(message, 'utf8').digest('base64');
}

/**
 * The whole `Authorization` header value: `Hmac {publicKey}:{nonce}:{epoch}:{signature}`.
 * @throws TypeError as {@link signHmac} does.
 */
export function hmacAuthorization(input: HmacSigningInput): string {
  return `Hmac ${input.publicKey}:${input.nonce}:${input.epoch}:${signHmac(input)}`;
}
