import { baseUrlProblem } from '../../core/base-url';
import type { Environment } from '../../core/contracts';
import { ProviderAuthError, ProviderResponseError, ValidationError } from '../../core/errors';
import { registerSecret } from '../../core/redaction';
import type { ManagedSecretValue } from '../../core/secret-value';
import type { AdminTokenIssueRequest, IssuedKey, Provider, ProviderTarget, VerifyResult } from '../../ports/provider';
import { platformMessage, ProviderHttpClient, type ProviderHttpClientOptions } from '../http';

/**
 * A Thrive secret value. It may also hold `tenantsUrl`, the GraphQL endpoint that issues keys,
 * when it is neither of {@link TENANTS_URL} (local sandboxes); it must pass the base-URL rules.
 */
export type ThriveValue = Extract<ManagedSecretValue, { provider: 'thrive' }>;

/** Options of {@link ThriveProvider}: the HTTP client's options. */
export type ThriveProviderOptions = Omit<ProviderHttpClientOptions, 'provider'>;

/** Thrive's documented tenants endpoints, where `generateApiKey` runs (staging for sandbox secrets). */
export const TENANTS_URL: Readonly<Record<Environment, string>> = {
  production: 'https://tenant.api.link/tenants',
  sandbox: 'https://tenant.api.learnstaging.link/tenants',
};

/** The cheap read used to prove a key: one user of the first page. */
export const VERIFY_PATH = '/rest/v1/users?page=1&perPage=1';

/** The documented mutation that makes a permanent API key for the REST API. */
export const GENERATE_API_KEY_MUTATION = 'mutation { generateApiKey(tokenType: "permanent", services: ["api-service"]) { validUntil, apiKey } }';

/** How long an admin session token lasts, per Thrive's documentation. */
export const ADMIN_TOKEN_LIFETIME_MINUTES = 60;

/** Tenant ids are `<AWS region>_<pool id>`, e.g. `eu-west-2_AbcdEfghI`. */
export const TENANT_ID_SHAPE = /^[a-z]{2}-[a-z]+-\d_[A-Za-z0-9]+$/;

/** Where a person finds the admin token and correlation id. */
export const ADMIN_TOKEN_SOURCE =
  'open your Thrive Learn page, then Chrome DevTools → Network → the user?AuthorityToken request → its Authorization and Correlation-Id request headers';

const KEY_SHAPE = /^[\x21-\x7e]{8,1024}$/;
const ADMIN_TOKEN_SHAPE = /^[\x21-\x7e]{8,8192}$/;
const CORRELATION_ID_SHAPE = /^[A-Za-z0-9._:-]{1,256}$/;
const TENANT_ID_PROBLEM = 'tenantId: must look like <region>_<id>, e.g. eu-west-2_AbcdEfghI (the id in your Thrive logo URL)';
const KEY_SHAPE_PROBLEM = 'apiKey: must be 8 to 1024 printable characters with no spaces (paste the apiKey exactly as generateApiKey returned it)';

/**
 * Thrive refused the admin session token a person handed over (it lasts 60 minutes), or its
 * correlation id. The person must copy a fresh pair and run the submit again.
 */
export class ThriveAdminTokenError extends ProviderAuthError {
  public constructor(platformText: string | undefined, options?: { cause?: unknown }) {
    super('thrive', platformText, options);
    this.name = 'ThriveAdminTokenError';
    this.message =
      `Thrive refused the admin token${platformText ? ` (${platformText})` : ''}: it has expired or is invalid ` +
      `(admin tokens last ${ADMIN_TOKEN_LIFETIME_MINUTES} minutes). Copy a fresh Authorization value and Correlation-Id ` +
      `(${ADMIN_TOKEN_SOURCE}) and run the submit again straight away.`;
  }
}

/** The admin token without the `Authorization:` header name and the `Bearer ` a person may have copied with it. */
function bareAdminToken(token: string): string {
  return token.trim().replace(/^authorization\s*:\s*/i, '').replace(/^bearer(?:\s+|$)/i, '');
}

/** The correlation id without the `Correlation-Id:` header name a person may have copied with it. */
function bareCorrelationId(id: string): string {
  return id.trim().replace(/^correlation-id\s*:\s*/i, '');
}

function adminTokenProblems(adminToken: unknown, correlationId: unknown): string[] {
  const issues: string[] = [];
  if (typeof adminToken !== 'string' || bareAdminToken(adminToken).length === 0) issues.push('adminToken: is missing');
  else if (!ADMIN_TOKEN_SHAPE.test(bareAdminToken(adminToken))) {
    issues.push('adminToken: must be 8 to 8192 printable characters with no spaces after "Bearer " (copy the whole Authorization value)');
  }
  if (typeof correlationId !== 'string' || bareCorrelationId(correlationId).length === 0) issues.push('correlationId: is missing');
  else if (!CORRELATION_ID_SHAPE.test(bareCorrelationId(correlationId))) {
    issues.push('correlationId: must be 1 to 256 letters, digits, ".", "_", ":" or "-" (copy the whole Correlation-Id value)');
  }
  return issues;
}

/** The instant `validUntil` stands for: an ISO 8601 string, or epoch seconds/milliseconds. */
function validUntilIso(validUntil: unknown): string | undefined {
  let instant: number;
  if (typeof validUntil === 'string' && /^\d{4}-\d{2}-\d{2}/.test(validUntil)) instant = Date.parse(validUntil);
  else if (typeof validUntil === 'number' && Number.isFinite(validUntil) && validUntil > 0) {
    instant = validUntil > 1e12 ? validUntil : validUntil * 1000;
  } else return undefined;
  if (Number.isNaN(instant)) return undefined;
  const date = new Date(instant);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function isUnauthenticated(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const extensions = (error as { extensions?: unknown }).extensions;
  if (typeof extensions !== 'object' || extensions === null) return false;
  const code = (extensions as { code?: unknown }).code;
  return code === 'UNAUTHENTICATED';
}

/**
 * Thrive Learning: REST calls authorise with HTTP Basic `tenantId:apiKey`. A new key comes from
 * the GraphQL mutation `generateApiKey` at the tenants endpoint, which only an admin's browser
 * session token (60 minutes) plus its correlation id can call. keyrotor therefore cannot issue
 * on its own schedule (`issueByApi` is false); a person copies the admin token and keyrotor makes
 * the key with {@link ThriveProvider.issueKeyWithAdminToken}. Keys cannot be revoked by API.
 * @example await new ThriveProvider().issueKeyWithAdminToken({ current, target, keyName, adminToken, correlationId })
 */
export class ThriveProvider implements Provider<ThriveValue> {
  public readonly id = 'thrive' as const;
  public readonly displayName = 'Thrive';
  public readonly capabilities = {
    issueByApi: false,
    revokeByApi: false,
    listKeys: false,
    shortLivedTokens: true,
    twoLiveKeys: true,
  } as const;

  public readonly manual = {
    issue: (c: { secretName: string; baseUrl: string; environment: Environment; keyName: string }): string =>
      `A new Thrive API key for ${c.secretName} (${c.environment}, rotation ${c.keyName}) is made with a Thrive admin's session token. ` +
      `Signed in to Thrive as an admin, ${ADMIN_TOKEN_SOURCE}; copy the whole Authorization value (with or without the leading "Bearer ") ` +
      `and the Correlation-Id value. The admin token expires after ${ADMIN_TOKEN_LIFETIME_MINUTES} minutes, so run straight away: ` +
      `npx keyrotor submit ${c.secretName} --admin-token --correlation-id <Correlation-Id>   (paste the admin token at the hidden ` +
      `prompt or pipe it on stdin). keyrotor then calls generateApiKey at ` +
      `${TENANTS_URL[c.environment]}, verifies the new key and promotes it; the current key keeps working meanwhile. ` +
      `A key made elsewhere can be handed over with npx keyrotor submit ${c.secretName} (the apiKey, or JSON {"tenantId":"…","apiKey":"…"}).`,
    revoke: (c: { secretName: string; baseUrl: string; fingerprint: string }): string =>
      `Thrive API keys cannot be revoked by keyrotor (Thrive offers no API for it). Once every reader has picked up the new key, ask ` +
      `Thrive support or your Thrive admin to revoke the old key ${c.fingerprint} of ${c.secretName} (REST API ${c.baseUrl}); until then ` +
      `it stays valid up to its validUntil date. keyrotor confirms revocation when the old key answers 401.`,
  };

  readonly #http: ProviderHttpClient;

  public constructor(options: ThriveProviderOptions = {}) {
    this.#http = new ProviderHttpClient({ provider: this.id, ...options });
  }

  /**
   * Reads JSON `{"tenantId"?: "…", "apiKey": "…"}` or a raw apiKey. Without `tenantId` the
   * tenant stays the one of the current secret value (the submit merges the two).
   * @throws ValidationError naming what is malformed, never quoting it.
   */
  public parseSubmission(input: string): Partial<ThriveValue> {
    const trimmed = input.trim();
    let apiKey: unknown = trimmed;
    let tenantId: unknown;
    if (trimmed.startsWith('{')) {
      try {
        const parsed = JSON.parse(trimmed) as Record<string, unknown>;
        apiKey = parsed.apiKey;
        tenantId = parsed.tenantId;
      } catch {
        throw new ValidationError('submitted credential', ['is neither a raw API key nor valid JSON']);
      }
    }
    const issues: string[] = [];
    if (typeof apiKey !== 'string' || apiKey.length === 0) issues.push('apiKey: is missing');
    else if (!KEY_SHAPE.test(apiKey)) issues.push(KEY_SHAPE_PROBLEM);
    if (tenantId !== undefined && (typeof tenantId !== 'string' || !TENANT_ID_SHAPE.test(tenantId))) issues.push(TENANT_ID_PROBLEM);
    if (issues.length > 0) throw new ValidationError('submitted credential', issues);
    return tenantId === undefined ? { apiKey: apiKey as string } : { tenantId: tenantId as string, apiKey: apiKey as string };
  }

  /** Tenant id and key shapes, and a `tenantsUrl` override that is a valid URL of the secret's environment. */
  public formatProblems(value: ThriveValue, environment: Environment): string[] {
    const problems: string[] = [];
    if (!TENANT_ID_SHAPE.test(value.tenantId)) problems.push(TENANT_ID_PROBLEM);
    if (!KEY_SHAPE.test(value.apiKey)) problems.push(KEY_SHAPE_PROBLEM);
    const tenantsUrl = value.tenantsUrl;
    if (tenantsUrl !== undefined) {
      const problem = typeof tenantsUrl === 'string' ? baseUrlProblem(tenantsUrl) : 'must be a string';
      if (problem) problems.push(`tenantsUrl: ${problem}`);
      const other: Environment = environment === 'production' ? 'sandbox' : 'production';
      if (tenantsUrl === TENANTS_URL[other]) {
        problems.push(`tenantsUrl: is the ${other} endpoint but the secret is ${environment}; use ${TENANTS_URL[environment]} or leave it out`);
      }
    }
    return problems;
  }

  public async verify(value: ThriveValue, target: ProviderTarget): Promise<VerifyResult> {
    const basic = Buffer.from(`${value.tenantId}:${value.apiKey}`, 'utf8').toString('base64');
    const response = await this.#http.request({
      method: 'GET',
      url: `${target.baseUrl}${VERIFY_PATH}`,
      headers: { authorization: `Basic ${basic}` },
      secrets: [value.apiKey, basic],
    });
    response.json(); // a 2xx that is not JSON is not the API we expect
    return { checked: `GET ${target.baseUrl}/rest/v1/users → ${response.status}` };
  }

  /**
   * Makes a new permanent API key with the admin session token a person copied, calling
   * `generateApiKey` once: the POST is not repeated on an ambiguous failure (only a 429, which
   * Thrive did not process), so no second key is made behind the person's back.
   * @returns the current value with the new `apiKey` and `expiresAt` (= `validUntil`); the old key's
   *   `fingerprint`, `providerKeyId` and `issuedAt` are dropped. Thrive gives keys no id.
   * @throws ValidationError for a malformed admin token, correlation id or `tenantsUrl` (before any call);
   *   ThriveAdminTokenError (a ProviderAuthError) when Thrive refuses the admin token (HTTP 401 or GraphQL
   *   `UNAUTHENTICATED`); ProviderResponseError for other GraphQL errors or an unexpected answer.
   */
  public async issueKeyWithAdminToken(request: AdminTokenIssueRequest<ThriveValue>): Promise<IssuedKey<ThriveValue>> {
    if (typeof request.adminToken === 'string') registerSecret(request.adminToken, bareAdminToken(request.adminToken));
    const issues = adminTokenProblems(request.adminToken, request.correlationId);
    if (issues.length > 0) throw new ValidationError('admin token input', issues);
    const adminToken = bareAdminToken(request.adminToken);
    const url = this.#tenantsUrl(request.current, request.target.environment);
    const secrets = [adminToken, request.adminToken];

    let text: string;
    let status: number;
    try {
      const response = await this.#http.request({
        method: 'POST',
        url,
        headers: {
          authorization: `Bearer ${adminToken}`,
          'correlation-id': bareCorrelationId(request.correlationId),
          'content-type': 'application/json',
        },
        body: JSON.stringify({ query: GENERATE_API_KEY_MUTATION }),
        idempotent: false,
        secrets,
      });
      text = response.text;
      status = response.status;
    } catch (error) {
      if (error instanceof ProviderAuthError) throw new ThriveAdminTokenError(error.platformMessage, { cause: error });
      throw error;
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ProviderResponseError(this.id, `POST ${url} answered ${status} with a body that is not JSON`, { status });
    }
    const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const generated = (record.data as { generateApiKey?: unknown } | null | undefined)?.generateApiKey;
    const fields = typeof generated === 'object' && generated !== null ? (generated as Record<string, unknown>) : {};
    const apiKey = fields.apiKey;
    if (typeof apiKey === 'string' && apiKey.length > 0) registerSecret(apiKey);

    // A usable key means Thrive made one, whatever else the answer says: it is shown only here and must not be lost.
    if (typeof apiKey !== 'string' || !KEY_SHAPE.test(apiKey)) {
      const errors = Array.isArray(record.errors) ? record.errors : [];
      const detail = platformMessage(text, [...secrets, ...stringsOf(apiKey)]);
      if (errors.some(isUnauthenticated)) throw new ThriveAdminTokenError(detail);
      if (errors.length > 0) throw new ProviderResponseError(this.id, `generateApiKey failed at POST ${url}${detail ? `: ${detail}` : ''}`, { status });
      throw new ProviderResponseError(this.id, `POST ${url} answered ${status} without a usable data.generateApiKey.apiKey`, { status });
    }
    // An unreadable validUntil must not lose the key either: it is kept without an expiry.
    const expiresAt = validUntilIso(fields.validUntil);
    // These describe the old key; the engine sets them afresh for the new one.
    const { fingerprint: _fingerprint, providerKeyId: _providerKeyId, issuedAt: _issuedAt, expiresAt: _expiresAt, ...rest } = request.current;
    return { value: { ...rest, apiKey, ...(expiresAt === undefined ? {} : { expiresAt }) } };
  }

  #tenantsUrl(current: ThriveValue, environment: Environment): string {
    const override = current.tenantsUrl;
    if (override === undefined) return TENANTS_URL[environment];
    const problem = typeof override === 'string' ? baseUrlProblem(override) : 'must be a string';
    if (problem) throw new ValidationError('secret value', [`tenantsUrl: ${problem}`]);
    return override as string;
  }
}

function stringsOf(value: unknown): string[] {
  return typeof value === 'string' ? [value] : [];
}
