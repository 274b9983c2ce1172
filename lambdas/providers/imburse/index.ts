import { randomUUID } from 'node:crypto';
import { normaliseBaseUrl } from '../../core/base-url';
import type { Environment } from '../../core/contracts';
import { ProviderPermissionError, ProviderResponseError, ValidationError } from '../../core/errors';
import { registerSecret } from '../../core/redaction';
import type { ManagedSecretValue } from '../../core/secret-value';
import type { IssuedKey, IssueRequest, KeyRecord, Provider, ProviderTarget, RevokeRequest, VerifyResult } from '../../ports/provider';
import { ProviderHttpClient, type ProviderHttpClientOptions, type ProviderResponse } from '../http';
import { decodePrivateKey, hmacAuthorization, hmacInputProblems } from './hmac';

export { bodyHash, decodePrivateKey, hmacAuthorization, signHmac, type HmacSigningInput } from './hmac';

/** An Imburse secret value. */
export type ImburseValue = Extract<ManagedSecretValue, { provider: 'imburse' }>;

/** Where a signed request is exchanged for a short-lived bearer access token (also the cheap call that proves a key). */
export const EXCHANGE_PATH = '/v1/identity/hmac';

/** The role a tenant key needs to create and delete tenant keys. */
export const ADMIN_ROLE = 'tenant-admin';

/** A private key shorter than this is not one the platform issued (it issues 32 random bytes). */
export const MIN_PRIVATE_KEY_BYTES = 16;

/** A tenant key as the platform lists it, with its roles (never key material). */
export interface ImburseKeyRecord extends KeyRecord {
  readonly roles: readonly string[];
}

/** A bearer access token minted from a tenant key. */
export interface ImburseAccessToken {
  readonly accessToken: string;
  /** When the platform stops accepting it, ISO 8601. */
  readonly expiresAt: string;
}

/** Options of {@link ImburseProvider} beyond its HTTP client's. */
export interface ImburseProviderOptions {
  /**
   * Clock for the signature's epoch, in epoch milliseconds.
   * @default the HTTP options' `now`, else Date.now
   */
  readonly now?: () => number;
  /**
   * Makes the nonce of each signed request; the platform refuses one it has seen before.
   * @default crypto.randomUUID
   */
  readonly newNonce?: () => string;
}

const UUID_LIKE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Printable ASCII without spaces: what a token, an id or a tenant id must be to travel in a header or a path. */
const PRINTABLE = /^[\x21-\x7e]+$/;
const MAX_FIELD = 512;
const PORTAL = 'Imburse portal → the tenant → API Keys';
/** What `keyrotor submit` expects on stdin (shown in errors; holds no value). */
const SUBMISSION_SHAPE = '{"tenantId":"…","publicKey":"…","privateKey":"…"}';

/**
 * Imburse: tenant API key pairs. Every call is authenticated with a short-lived bearer token that
 * keyrotor mints by signing an HMAC-SHA256 request with the key pair (see `./hmac`). keyrotor creates
 * the new key itself, with the same roles as the current one, and deletes the old key after the grace
 * period; both need the current key to hold the `tenant-admin` role. Tokens are never cached: each
 * operation proves the key it was given.
 */
export class ImburseProvider implements Provider<ImburseValue> {
  public readonly id = 'imburse' as const;
  public readonly displayName = 'Imburse';
  public readonly capabilities = {
    issueByApi: true,
    revokeByApi: true,
    listKeys: true,
    shortLivedTokens: true,
    twoLiveKeys: true,
  } as const;

  public readonly manual = {
    issue: (c: { secretName: string; baseUrl: string; environment: Environment; keyName: string }): string =>
      `Create a new Tenant API key in the ${PORTAL} (API ${c.baseUrl}, ${c.environment}), named "${c.keyName}", ` +
      `with the same roles as the current key (at least "${ADMIN_ROLE}" if keyrotor is to rotate it by API next time); ` +
      `copy the private key at once, it is shown only once. Then hand it over with: npx keyrotor submit ${c.secretName}   ` +
      `(paste ${SUBMISSION_SHAPE} at the hidden prompt or pipe it on stdin). ` +
      `The current key keeps working until the new one is verified and promoted.`,
    revoke: (c: { secretName: string; baseUrl: string; fingerprint: string }): string =>
      `Delete the old Tenant API key ${c.fingerprint} of ${c.secretName} in the ${PORTAL} (API ${c.baseUrl}) ` +
      `once every reader has picked up the new key; a deleted key can no longer get access tokens, and keyrotor confirms it ` +
      `when the old key's token exchange answers 401.`,
  };

  readonly #http: ProviderHttpClient;
  readonly #now: () => number;
  readonly #newNonce: () => string;

  public constructor(httpOptions: Omit<ProviderHttpClientOptions, 'provider'> = {}, options: ImburseProviderOptions = {}) {
    this.#http = new ProviderHttpClient({ provider: this.id, ...httpOptions });
    this.#now = options.now ?? httpOptions.now ?? Date.now;
    this.#newNonce = options.newNonce ?? randomUUID;
  }

  /**
   * Reads `{"tenantId", "publicKey", "privateKey"}` (what the portal shows when it creates a key, plus the
   * tenant id); other fields are ignored.
   * @throws ValidationError listing every malformed field, never quoting the input.
   */
  public parseSubmission(input: string): Partial<ImburseValue> {
    const trimmed = input.trim();
    let parsed: unknown;
    try {
      parsed = trimmed.startsWith('{') ? JSON.parse(trimmed) : undefined;
    } catch {
      // JSON.parse's message quotes the input: neither used nor kept.
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ValidationError('submitted credential', [`must be the JSON object ${SUBMISSION_SHAPE}`]);
    }
    const fields = parsed as Record<string, unknown>;
    if (typeof fields.privateKey === 'string') registerSecret(fields.privateKey);
    const issues: string[] = [];
    for (const name of ['tenantId', 'publicKey', 'privateKey'] as const) {
      const field = fields[name];
      if (typeof field !== 'string' || field.length === 0) issues.push(`${name}: is missing`);
    }
    const { tenantId, publicKey, privateKey } = fields;
    if (typeof tenantId === 'string' && tenantId.length > 0 && (tenantId.length > MAX_FIELD || !isPrintable(tenantId))) {
      issues.push(`tenantId: must be the tenant's id as the Imburse portal shows it (at most ${MAX_FIELD} printable characters, no spaces)`);
    }
    if (typeof publicKey === 'string' && publicKey.length > 0) issues.push(...publicKeyProblems(publicKey));
    if (typeof privateKey === 'string' && privateKey.length > 0) issues.push(...privateKeyProblems(privateKey));
    if (issues.length > 0) throw new ValidationError('submitted credential', issues);
    return { tenantId: tenantId as string, publicKey: publicKey as string, privateKey: privateKey as string };
  }

  /** Imburse keys carry no environment marker, so only the shape of the key pair is checked. */
  public formatProblems(value: ImburseValue): string[] {
    return [...publicKeyProblems(value.publicKey), ...privateKeyProblems(value.privateKey)];
  }

  /** The public key is the platform's id of a tenant key. */
  public keyIdOf(value: ImburseValue): string {
    return value.publicKey;
  }

  /**
   * Exchanges a signature made with the key pair for an access token: proves both halves of the key.
   * @throws ProviderAuthError when the platform refuses the signature (unknown or deleted key, wrong private key, clock skew).
   * @throws ValidationError when the key pair cannot be signed with (never quoting it).
   */
  public async verify(value: ImburseValue, target: ProviderTarget): Promise<VerifyResult> {
    const base = normaliseBaseUrl(target.baseUrl);
    const { status } = await this.#exchange(value, base);
    return { checked: `POST ${base}${EXCHANGE_PATH} → ${status}` };
  }

  /**
   * Mints a bearer access token from the key pair (for the token refresher: the platform's tokens
   * last minutes). Each call signs afresh; nothing is cached.
   */
  public async mintAccessToken(value: ImburseValue, target: ProviderTarget): Promise<ImburseAccessToken> {
    const { token } = await this.#exchange(value, normaliseBaseUrl(target.baseUrl));
    return token;
  }

  /** Lists the tenant's keys with their roles. */
  public async listKeys(request: { authenticateWith: ImburseValue; target: ProviderTarget }): Promise<ImburseKeyRecord[]> {
    const value = request.authenticateWith;
    const base = normaliseBaseUrl(request.target.baseUrl);
    const { token } = await this.#exchange(value, base);
    return this.#list(value, base, token.accessToken);
  }

  /**
   * Creates a key named `keyName` with the current key's roles. Sent once: the HTTP client retries a
   * POST only on 429 (not processed), never on a 5xx or a dropped connection, where the key may exist;
   * the engine finds such an orphan by its name.
   * @throws ProviderResponseError when the tenant's key list does not show the current key (nothing to copy the roles from).
   * @throws ProviderPermissionError when the current key lacks the `tenant-admin` role.
   */
  public async issueKey(request: IssueRequest<ImburseValue>): Promise<IssuedKey<ImburseValue>> {
    const { current, keyName } = request;
    if (keyName.trim().length === 0) throw new ValidationError('issue request', ['keyName: must not be empty']);
    const base = normaliseBaseUrl(request.target.baseUrl);
    const { token } = await this.#exchange(current, base);
    const { accessToken } = token;

    const url = keysUrl(base, current.tenantId);
    const records = await this.#list(current, base, accessToken);
    const currentRecord = records.find((record) => sameKey(record.providerKeyId, current.publicKey));
    if (!currentRecord) {
      throw new ProviderResponseError(
        this.id,
        `GET ${url} does not list the current key ${current.publicKey}, so keyrotor cannot copy its roles to the new key; ` +
          `check that the secret's tenantId is the tenant this key belongs to`,
      );
    }

    const where = `POST ${url}`;
    let response: ProviderResponse;
    try {
      response = await this.#http.request({
        method: 'POST',
        url,
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: keyName, roles: currentRecord.roles }),
        secrets: [current.privateKey, accessToken],
        idempotent: false,
      });
    } catch (error) {
      if (error instanceof ProviderPermissionError) {
        throw new ProviderPermissionError(
          this.id,
          `creating a tenant key needs the "${ADMIN_ROLE}" role on the current key ${current.publicKey}; ` +
            `add it (${PORTAL}) or rotate this secret by hand`,
        );
      }
      throw error;
    }

    const body = asObject(response.json());
    const privateKey = body?.privateKey;
    // Registered before anything else can fail, so no later message or log line can carry it.
    if (typeof privateKey === 'string') registerSecret(privateKey);
    const publicKey = body?.publicKey;
    const orphan = `if a key named "${keyName}" was created, delete it (${PORTAL}); keyrotor's next attempt also finds it by name`;
    if (typeof publicKey !== 'string' || publicKeyProblems(publicKey).length > 0) {
      throw new ProviderResponseError(this.id, `${where} answered ${response.status} without a usable publicKey for the new key; ${orphan}`, {
        status: response.status,
      });
    }
    if (typeof privateKey !== 'string' || privateKeyProblems(privateKey).length > 0) {
      throw new ProviderResponseError(
        this.id,
        `${where} answered ${response.status} without a usable privateKey for the new key ${publicKey}; delete that key (${PORTAL}); ` +
          `keyrotor's next attempt also finds it by name`,
        { status: response.status },
      );
    }

    // Fingerprint and dates described the old key; the engine stamps the new ones.
    const { fingerprint: _fingerprint, issuedAt: _issuedAt, expiresAt: _expiresAt, ...rest } = current;
    return { value: { ...rest, publicKey, privateKey, providerKeyId: publicKey }, providerKeyId: publicKey };
  }

  /**
   * Deletes a tenant key. A 404 answers `already-revoked` once the key list confirms the key is gone
   * (a wrong tenant or base URL must not pass for a revoked key).
   * @throws ValidationError when asked to delete the key the call authenticates with.
   * @throws ProviderPermissionError when the authenticating key lacks the `tenant-admin` role.
   */
  public async revokeKey(request: RevokeRequest<ImburseValue>): Promise<'revoked' | 'already-revoked'> {
    const { authenticateWith, providerKeyId } = request;
    if (providerKeyId.trim().length === 0) throw new ValidationError('revoke request', ['providerKeyId: must not be empty']);
    if (sameKey(providerKeyId, authenticateWith.publicKey)) {
      throw new ValidationError('revoke request', [
        `providerKeyId: ${providerKeyId} is the key this call would authenticate with (the current key); ` +
          'keyrotor never deletes the key it signs with: rotate first, then revoke the previous key with the new one',
      ]);
    }
    const base = normaliseBaseUrl(request.target.baseUrl);
    const { token } = await this.#exchange(authenticateWith, base);
    const { accessToken } = token;
    const url = `${keysUrl(base, authenticateWith.tenantId)}/${encodeURIComponent(providerKeyId)}`;
    try {
      await this.#http.request({
        method: 'DELETE',
        url,
        headers: { authorization: `Bearer ${accessToken}` },
        secrets: [authenticateWith.privateKey, accessToken],
      });
      return 'revoked';
    } catch (error) {
      if (error instanceof ProviderPermissionError) {
        throw new ProviderPermissionError(
          this.id,
          `deleting a tenant key needs the "${ADMIN_ROLE}" role on the key ${authenticateWith.publicKey} that authenticates; ` +
            `add it (${PORTAL}) or delete the key by hand`,
        );
      }
      if (!(error instanceof ProviderResponseError) || error.status !== 404) throw error;
    }
    const records = await this.#list(authenticateWith, base, accessToken);
    if (records.some((record) => sameKey(record.providerKeyId, providerKeyId))) {
      throw new ProviderResponseError(
        this.id,
        `DELETE ${keysUrl(base, authenticateWith.tenantId)}/{publicKey} answered 404 but the tenant still lists key ${providerKeyId}; ` +
          `check the secret's base URL and tenantId, or delete the key by hand (${PORTAL})`,
        { status: 404 },
      );
    }
    return 'already-revoked';
  }

  /** Signs `POST /v1/identity/hmac` with a fresh nonce and reads the token it answers. */
  async #exchange(value: ImburseValue, base: string): Promise<{ status: number; token: ImburseAccessToken }> {
    const { publicKey, privateKey } = value;
    if (typeof privateKey === 'string') registerSecret(privateKey);
    const sign = () => ({ publicKey, privateKey, nonce: this.#newNonce(), epoch: Math.floor(this.#now() / 1000) });
    // Checked once up front without spending a nonce.
    const problems = hmacInputProblems({ publicKey, privateKey, nonce: 'not-sent', epoch: Math.floor(this.#now() / 1000) });
    if (problems.length > 0) throw new ValidationError('Imburse credential', problems);
    const url = `${base}${EXCHANGE_PATH}`;
    const response = await this.#http.request({
      method: 'POST',
      url,
      // Each attempt is signed afresh: the platform accepts a nonce once, so a repeat of the same
      // signature would be refused as a replay (and look like a revoked key). Minting another
      // token is harmless, so the exchange may be repeated after a 5xx or a dropped connection.
      headers: () => ({ authorization: hmacAuthorization(sign()) }),
      secrets: [privateKey],
      idempotent: true,
    });
    const body = asObject(response.json());
    const accessToken = body?.accessToken;
    const expires = body?.expires;
    if (typeof accessToken === 'string') registerSecret(accessToken);
    if (typeof accessToken !== 'string' || accessToken.length > 8192 || !isPrintable(accessToken)) {
      throw new ProviderResponseError(this.id, `POST ${url} answered ${response.status} without a usable accessToken`, { status: response.status });
    }
    if (typeof expires !== 'number' || !Number.isFinite(expires) || expires <= 0 || expires > 8.64e15) {
      throw new ProviderResponseError(this.id, `POST ${url} answered ${response.status} without a usable expires (epoch milliseconds)`, {
        status: response.status,
      });
    }
    return { status: response.status, token: { accessToken, expiresAt: new Date(expires).toISOString() } };
  }

  async #list(value: ImburseValue, base: string, accessToken: string): Promise<ImburseKeyRecord[]> {
    const url = keysUrl(base, value.tenantId);
    const response = await this.#http.request({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${accessToken}` },
      secrets: [value.privateKey, accessToken],
    });
    const body = response.json();
    const records = Array.isArray(body) ? body.map(parseKeyRecord) : undefined;
    // A malformed entry fails the whole list: skipping it could make a live key look already revoked.
    if (records === undefined || records.some((record) => record === undefined)) {
      throw new ProviderResponseError(this.id, `GET ${url} answered ${response.status} with a body that is not the tenant's key list`, {
        status: response.status,
      });
    }
    return records as ImburseKeyRecord[];
  }
}

function keysUrl(base: string, tenantId: string): string {
  return `${base}/v1/tenant/${encodeURIComponent(tenantId)}/keys`;
}

/** Public keys are uuids; compare them the way the platform would, ignoring case. */
function sameKey(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function isPrintable(text: string): boolean {
  return PRINTABLE.test(text);
}

function publicKeyProblems(publicKey: string): string[] {
  return UUID_LIKE.test(publicKey) ? [] : ['publicKey: must be a uuid (8-4-4-4-12 hexadecimal digits) as the Imburse portal shows it'];
}

function privateKeyProblems(privateKey: string): string[] {
  if (privateKey.length > MAX_FIELD) return [`privateKey: must be at most ${MAX_FIELD} characters of base64`];
  const bytes = decodePrivateKey(privateKey);
  if (bytes === undefined) return ['privateKey: must be base64 (A–Z, a–z, 0–9, +, /, optional = padding) as the Imburse portal shows it'];
  if (bytes.length < MIN_PRIVATE_KEY_BYTES) return [`privateKey: must decode to at least ${MIN_PRIVATE_KEY_BYTES} bytes (the portal issues 32)`];
  return [];
}

function asObject(body: unknown): Record<string, unknown> | undefined {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
}

function parseKeyRecord(entry: unknown): ImburseKeyRecord | undefined {
  const record = asObject(entry);
  if (!record) return undefined;
  const { publicKey, name, roles } = record;
  if (typeof publicKey !== 'string' || publicKey.length === 0) return undefined;
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) return undefined;
  if (name !== undefined && name !== null && typeof name !== 'string') return undefined;
  return { providerKeyId: publicKey, ...(typeof name === 'string' ? { name } : {}), active: true, roles: [...(roles as string[])] };
}
