import { normaliseBaseUrl } from '../../core/base-url';
import type { Environment } from '../../core/contracts';
import { ProviderPermissionError, ProviderResponseError, SecretStateError, ValidationError } from '../../core/errors';
import { registerSecret } from '../../core/redaction';
import type { ManagedSecretValue } from '../../core/secret-value';
import type { IssuedKey, IssueRequest, KeyRecord, Provider, ProviderTarget, RevokeRequest, VerifyResult } from '../../ports/provider';
import { ProviderHttpClient, type ProviderHttpClientOptions, type ProviderResponse } from '../http';

/** A Boss Insights secret value. */
export type BossInsightsValue = Extract<ManagedSecretValue, { provider: 'boss-insights' }>;

/** The admin API's key collection: listed (also the cheap read that proves a key), created, and updated by id. */
export const API_KEYS_PATH = '/api/admin/api-keys';

/** The scope a key needs to create or inactivate keys through the admin API. */
export const ADMIN_SCOPE = 'admin';

/** A key as the admin API lists it, with its scopes (never key material). */
export interface BossInsightsKeyRecord extends KeyRecord {
  readonly scopes: readonly string[];
  readonly createdAt?: string;
}

/** Printable ASCII without spaces: anything else cannot travel in an HTTP header as the platform issued it. */
const CREDENTIAL_SHAPE = /^[\x21-\x7e]{8,512}$/;
const KEY_ID_SHAPE = /^[\x21-\x7e]{1,256}$/;
const HEADER_SAFE = /^[\x21-\x7e]+$/;

const ADMIN_PANEL = 'Administration Portal → API → API Keys';

/** What `keyrotor submit` expects on stdin (shown in errors; holds no value). */
const SUBMISSION_SHAPE = '{"apiKey":"…","accountKey":"…","providerKeyId":"…"} (providerKeyId optional)';

/**
 * Boss Insights: API keys with one or more scopes and an Active flag, managed through the admin
 * API (HTTP Basic with the key as user name and an empty password, plus the `Account-Key` header).
 * keyrotor creates the new key itself, with the same scopes as the current one, and inactivates
 * the old key after the grace period. Both calls need the current key to hold the `admin` scope.
 */
export class BossInsightsProvider implements Provider<BossInsightsValue> {
  public readonly id = 'boss-insights' as const;
  public readonly displayName = 'Boss Insights';
  public readonly capabilities = {
    issueByApi: true,
    revokeByApi: true,
    listKeys: true,
    shortLivedTokens: false,
    twoLiveKeys: true,
  } as const;

  public readonly manual = {
    issue: (c: { secretName: string; baseUrl: string; environment: Environment; keyName: string }): string =>
      `Create a new API key in the Boss Insights Administration Portal of ${c.baseUrl} (API → API Keys → Add API Key), ` +
      `named "${c.keyName}", with the same scopes as the current key and Active = Yes, then Save Changes; ` +
      `the key is shown once, in the green banner. Then hand it over with: npx keyrotor submit ${c.secretName}   ` +
      `(paste ${SUBMISSION_SHAPE} at the hidden prompt or pipe it on stdin; providerKeyId is the new key's id, ` +
      `which keyrotor needs to rotate it by API next time). The current key keeps working until the new one is verified and promoted.`,
    revoke: (c: { secretName: string; baseUrl: string; fingerprint: string }): string =>
      `Inactivate the old API key ${c.fingerprint} of ${c.secretName} in the Boss Insights Administration Portal of ${c.baseUrl} ` +
      `(API → API Keys → select the key → Active = No → Save Changes) once every reader has picked up the new key; ` +
      `an inactive key stops working at once and keyrotor confirms it when the old key answers 401.`,
  };

  readonly #http: ProviderHttpClient;

  public constructor(httpOptions: Omit<ProviderHttpClientOptions, 'provider'> = {}) {
    this.#http = new ProviderHttpClient({ provider: this.id, ...httpOptions });
  }

  /**
   * Reads `{"apiKey", "accountKey", "providerKeyId"?}` (the JSON the secret holds); other fields are ignored.
   * @throws ValidationError listing every malformed field, never quoting the input.
   */
  public parseSubmission(input: string): Partial<BossInsightsValue> {
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
    const issues: string[] = [];
    const credential = (name: 'apiKey' | 'accountKey'): string | undefined => {
      const field = fields[name];
      if (typeof field !== 'string' || field.length === 0) {
        issues.push(`${name}: is missing`);
        return undefined;
      }
      if (!CREDENTIAL_SHAPE.test(field)) {
        issues.push(`${name}: must be 8 to 512 printable characters with no spaces (paste it exactly as the ${ADMIN_PANEL} page shows it)`);
        return undefined;
      }
      return field;
    };
    const apiKey = credential('apiKey');
    const accountKey = credential('accountKey');
    const providerKeyId = fields.providerKeyId;
    if (providerKeyId !== undefined && (typeof providerKeyId !== 'string' || !KEY_ID_SHAPE.test(providerKeyId))) {
      issues.push(`providerKeyId: must be the key's id as the ${ADMIN_PANEL} page shows it (1 to 256 printable characters, no spaces)`);
    }
    if (issues.length > 0) throw new ValidationError('submitted credential', issues);
    return {
      apiKey: apiKey as string,
      accountKey: accountKey as string,
      ...(typeof providerKeyId === 'string' ? { providerKeyId } : {}),
    };
  }

  /** Boss Insights documents no key format, so only what could never be a key is reported (empty, spaces, non-ASCII). */
  public formatProblems(value: BossInsightsValue): string[] {
    const problems: string[] = [];
    for (const name of ['apiKey', 'accountKey'] as const) {
      const field = value[name];
      if (typeof field !== 'string' || field.trim().length === 0) problems.push(`${name}: is empty`);
      else if (!HEADER_SAFE.test(field)) problems.push(`${name}: must be printable ASCII characters with no spaces`);
    }
    if (value.providerKeyId !== undefined && value.providerKeyId.trim().length === 0) {
      problems.push(`providerKeyId: is empty; remove it or set it to the key's id from the ${ADMIN_PANEL} page`);
    }
    return problems;
  }

  public keyIdOf(value: BossInsightsValue): string | undefined {
    return value.providerKeyId;
  }

  /** Lists the account's keys: the cheapest authenticated read the admin API has. */
  public async verify(value: BossInsightsValue, target: ProviderTarget): Promise<VerifyResult> {
    const base = normaliseBaseUrl(target.baseUrl);
    const { status } = await this.#list(value, base);
    return { checked: `GET ${base}${API_KEYS_PATH} → ${status}` };
  }

  public async listKeys(request: { authenticateWith: BossInsightsValue; target: ProviderTarget }): Promise<BossInsightsKeyRecord[]> {
    const { records } = await this.#list(request.authenticateWith, normaliseBaseUrl(request.target.baseUrl));
    return records;
  }

  /**
   * Creates a key named `keyName` with the current key's scopes. Sent once: the HTTP client retries a
   * POST only on 429 (not processed), never on a 5xx or a dropped connection, where the key may exist;
   * the engine finds such an orphan by its name.
   * @throws ValidationError when the current value has no providerKeyId, or it names no active key of the account.
   * @throws ProviderPermissionError when the current key lacks the `admin` scope.
   */
  public async issueKey(request: IssueRequest<BossInsightsValue>): Promise<IssuedKey<BossInsightsValue>> {
    const { current, keyName } = request;
    const currentId = current.providerKeyId?.trim();
    if (!currentId) {
      throw new ValidationError('current secret value', [
        `providerKeyId: is required to copy the current key's scopes; set it to the key's id from the admin panel (API → API Keys)`,
      ]);
    }
    if (keyName.trim().length === 0) throw new ValidationError('issue request', ['keyName: must not be empty']);
    const base = normaliseBaseUrl(request.target.baseUrl);

    const { records } = await this.#list(current, base);
    const currentRecord = records.find((record) => record.providerKeyId === currentId);
    if (!currentRecord) {
      throw new ValidationError('current secret value', [
        `providerKeyId: names no API key of this account; set it to the id of the key this secret holds (${ADMIN_PANEL})`,
      ]);
    }
    if (!currentRecord.active) {
      // The list call just authenticated with the current key, so an inactive record is some other key.
      throw new ValidationError('current secret value', [
        `providerKeyId: names an inactive key, so it is not the key this secret holds; set it to that key's id (${ADMIN_PANEL})`,
      ]);
    }
    if (currentRecord.scopes.length === 0) {
      throw new ProviderResponseError(this.id, `GET ${base}${API_KEYS_PATH} lists the current key without scopes; there are no scopes to copy`);
    }

    const where = `POST ${base}${API_KEYS_PATH}`;
    let response: ProviderResponse;
    try {
      response = await this.#http.request({
        method: 'POST',
        url: `${base}${API_KEYS_PATH}`,
        headers: { ...this.#authHeaders(current), 'content-type': 'application/json' },
        body: JSON.stringify({ name: keyName, scopes: currentRecord.scopes, active: true }),
        secrets: this.#secretsOf(current),
        idempotent: false,
      });
    } catch (error) {
      if (error instanceof ProviderPermissionError) {
        throw new ProviderPermissionError(
          this.id,
          `creating an API key needs the "${ADMIN_SCOPE}" scope on the current key; add it (${ADMIN_PANEL} → the key → Scope) or rotate this secret by hand`,
        );
      }
      throw error;
    }

    const body = asObject(response.json());
    const newKey = body?.key;
    if (typeof newKey !== 'string' || newKey.length === 0) {
      throw new ProviderResponseError(
        this.id,
        `${where} answered ${response.status} without the new key; if a key named "${keyName}" was created, inactivate it (${ADMIN_PANEL})`,
        { status: response.status },
      );
    }
    // Registered before anything else can fail, so no later message or log line can carry it.
    registerSecret(newKey);
    const newId = body?.id;
    if (typeof newId !== 'string' || newId.length === 0) {
      throw new ProviderResponseError(
        this.id,
        `${where} answered ${response.status} without the new key's id; inactivate the key named "${keyName}" (${ADMIN_PANEL})`,
        { status: response.status },
      );
    }

    // Fingerprint and dates described the old key; the engine stamps the new ones.
    const { fingerprint: _fingerprint, issuedAt: _issuedAt, expiresAt: _expiresAt, ...rest } = current;
    return { value: { ...rest, apiKey: newKey, providerKeyId: newId }, providerKeyId: newId };
  }

  /**
   * Inactivates a key (Active = No). Lists first, so a key that is already inactive or gone answers
   * `already-revoked` without a write; a 404 from the update means the same.
   * @throws SecretStateError when asked to revoke the key the call authenticates with.
   */
  public async revokeKey(request: RevokeRequest<BossInsightsValue>): Promise<'revoked' | 'already-revoked'> {
    const { authenticateWith, providerKeyId } = request;
    if (providerKeyId.trim().length === 0) throw new ValidationError('revoke request', ['providerKeyId: must not be empty']);
    if (this.keyIdOf(authenticateWith) === providerKeyId) {
      throw new SecretStateError(
        `refusing to inactivate Boss Insights key ${providerKeyId}: it is the key this call authenticates with (the current key); ` +
          'rotate first, then revoke the previous key with the new one',
      );
    }
    const base = normaliseBaseUrl(request.target.baseUrl);
    const { records } = await this.#list(authenticateWith, base);
    const record = records.find((candidate) => candidate.providerKeyId === providerKeyId);
    if (!record || !record.active) return 'already-revoked';

    const url = `${base}${API_KEYS_PATH}/${encodeURIComponent(providerKeyId)}`;
    let response: ProviderResponse;
    try {
      response = await this.#http.request({
        method: 'PATCH',
        url,
        headers: { ...this.#authHeaders(authenticateWith), 'content-type': 'application/json' },
        body: JSON.stringify({ active: false }),
        secrets: this.#secretsOf(authenticateWith),
        // Setting Active = No twice is harmless, so a 5xx or a dropped connection may be retried.
        idempotent: true,
      });
    } catch (error) {
      if (error instanceof ProviderResponseError && error.status === 404) return 'already-revoked';
      if (error instanceof ProviderPermissionError) {
        throw new ProviderPermissionError(
          this.id,
          `inactivating an API key needs the "${ADMIN_SCOPE}" scope on the key that authenticates; add it (${ADMIN_PANEL} → the key → Scope) or set Active = No by hand`,
        );
      }
      throw error;
    }
    const updated = asObject(response.json());
    if (updated?.active !== false) {
      throw new ProviderResponseError(this.id, `PATCH ${base}${API_KEYS_PATH}/{id} answered ${response.status} but does not show the key as inactive`, {
        status: response.status,
      });
    }
    return 'revoked';
  }

  async #list(value: BossInsightsValue, base: string): Promise<{ status: number; records: BossInsightsKeyRecord[] }> {
    const response = await this.#http.request({
      method: 'GET',
      url: `${base}${API_KEYS_PATH}`,
      headers: this.#authHeaders(value),
      secrets: this.#secretsOf(value),
    });
    const data = asObject(response.json())?.data;
    const records = Array.isArray(data) ? data.map(parseKeyRecord) : undefined;
    // A malformed entry fails the whole list: skipping it could make a live key look already revoked.
    if (records === undefined || records.some((record) => record === undefined)) {
      throw new ProviderResponseError(this.id, `GET ${base}${API_KEYS_PATH} answered ${response.status} with a body that is not the admin API's key list`, {
        status: response.status,
      });
    }
    return { status: response.status, records: records as BossInsightsKeyRecord[] };
  }

  #authHeaders(value: BossInsightsValue): Record<string, string> {
    return { authorization: `Basic ${basicToken(value.apiKey)}`, 'account-key': value.accountKey };
  }

  /** The credentials, and the encoded form that travels in the header, so neither can surface in an error. */
  #secretsOf(value: BossInsightsValue): string[] {
    return [value.apiKey, value.accountKey, basicToken(value.apiKey)];
  }
}

/** HTTP Basic credentials with the API key as user name and an empty password. */
function basicToken(apiKey: string): string {
  return Buffer.from(`${apiKey}:`, 'utf8').toString('base64');
}

function asObject(body: unknown): Record<string, unknown> | undefined {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
}

function parseKeyRecord(entry: unknown): BossInsightsKeyRecord | undefined {
  const record = asObject(entry);
  if (!record) return undefined;
  const { id, name, scopes, active, createdAt } = record;
  if (typeof id !== 'string' || id.length === 0 || typeof active !== 'boolean') return undefined;
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string')) return undefined;
  if (name !== undefined && name !== null && typeof name !== 'string') return undefined;
  return {
    providerKeyId: id,
    ...(typeof name === 'string' ? { name } : {}),
    active,
    scopes: [...(scopes as string[])],
    ...(typeof createdAt === 'string' ? { createdAt } : {}),
  };
}
