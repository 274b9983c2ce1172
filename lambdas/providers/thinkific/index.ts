import type { Environment } from '../../core/contracts';
import { ProviderResponseError, ValidationError } from '../../core/errors';
import type { ManagedSecretValue } from '../../core/secret-value';
import type { Provider, ProviderTarget, SubmissionExtras, VerifyResult } from '../../ports/provider';
import { ProviderHttpClient, type ProviderHttpClientOptions } from '../http';

/** A Thinkific secret value. */
export type ThinkificValue = Extract<ManagedSecretValue, { provider: 'thinkific' }>;

/**
 * Options of {@link ThinkificProvider}: the HTTP client's options. Its `now` clock also decides
 * whether a submitted expiry date lies in the future.
 */
export type ThinkificProviderOptions = Omit<ProviderHttpClientOptions, 'provider'>;

/** The cheap read used to prove a token: one row of the user list. */
export const VERIFY_PATH = '/api/public/v1/users?limit=1';

/** Where people make API access tokens in the Admin Dashboard. */
export const TOKENS_PAGE = 'Settings → Code & analytics → API Access Tokens';

/** The message when `keyrotor submit` is run without `--expires-at` (Thinkific tokens always carry an expiry date). */
export const EXPIRES_AT_REQUIRED =
  'expiresAt: is required for Thinkific — pass the expiry date chosen in the admin dashboard with --expires-at YYYY-MM-DD';

/**
 * Thinkific documents no token format, so only what any bearer token must be is checked:
 * printable ASCII without spaces (it goes into an HTTP header), of a plausible length.
 */
const TOKEN_SHAPE = /^[\x21-\x7e]{16,4096}$/;
const TOKEN_SHAPE_PROBLEM =
  'apiKey: must be 16 to 4096 printable characters with no spaces (paste the token exactly as the API Access Token field shows it)';

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/i;

function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * The instant an expiry date given on the command line stands for, or a problem. `YYYY-MM-DD`
 * means the end of that day in UTC (the dashboard asks for a date, not a time); a full ISO 8601
 * date-time must carry `Z` or an offset, because a Lambda's local time zone is not the person's.
 * The input is never quoted back: a token pasted into the wrong flag must not reach a log.
 */
export function parseExpiryDate(input: string): { iso: string } | { problem: string } {
  const text = input.trim();
  const dateOnly = DATE_ONLY.exec(text);
  if (dateOnly) {
    const [year, month, day] = dateOnly.slice(1, 4).map(Number);
    if (!isRealDate(year, month, day)) return { problem: 'expiresAt: is not a real calendar date (expected YYYY-MM-DD)' };
    return { iso: new Date(Date.UTC(year, month - 1, day, 23, 59, 59, 999)).toISOString() };
  }
  const dateTime = DATE_TIME.exec(text);
  if (dateTime) {
    const [year, month, day, hour, minute] = dateTime.slice(1, 6).map(Number);
    const second = dateTime[6] === undefined ? 0 : Number(dateTime[6]);
    const offsetHours = dateTime[7] === undefined ? 0 : Number(dateTime[7]);
    const offsetMinutes = dateTime[8] === undefined ? 0 : Number(dateTime[8]);
    const valid = isRealDate(year, month, day) && hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
    const instant = Date.parse(text);
    if (valid && !Number.isNaN(instant)) return { iso: new Date(instant).toISOString() };
  }
  return { problem: 'expiresAt: must be a date YYYY-MM-DD or an ISO 8601 date-time with a time zone (e.g. 2027-01-31T12:00:00Z)' };
}

/**
 * Thinkific: API access tokens (`Authorization: Bearer <token>`) that a person makes in the
 * Admin Dashboard ({@link TOKENS_PAGE}), each with a unique name and an expiry date, shown once.
 * keyrotor can neither create nor remove them, so rotation is human-in-the-loop: a person makes
 * the token and hands it over with `keyrotor submit <secret> --expires-at YYYY-MM-DD`; the
 * declared expiry drives keyrotor's warnings (Thinkific itself notifies 10 days ahead).
 * The REST API allows 120 requests per minute per site; the HTTP helper honours `Retry-After`.
 * @example new ThinkificProvider().verify(value, { baseUrl: 'https://api.thinkific.com', environment: 'production' })
 */
export class ThinkificProvider implements Provider<ThinkificValue> {
  public readonly id = 'thinkific' as const;
  public readonly displayName = 'Thinkific';
  public readonly capabilities = {
    issueByApi: false,
    revokeByApi: false,
    listKeys: false,
    shortLivedTokens: false,
    twoLiveKeys: true,
  } as const;

  public readonly manual = {
    issue: (c: { secretName: string; baseUrl: string; environment: Environment; keyName: string }): string =>
      `Create a new API access token for the Thinkific site behind ${c.secretName} (${c.environment}): in the Admin Dashboard go to ` +
      `${TOKENS_PAGE} → Add API access token, enter the unique name "${c.keyName}", choose an expiry date and pass it with --expires-at, ` +
      `then Save. The token is shown only once, so hand it over straight away with: ` +
      `npx keyrotor submit ${c.secretName} --expires-at YYYY-MM-DD   (paste the token at the hidden prompt or pipe it on stdin). ` +
      `The current token keeps working until the new one is verified and promoted.`,
    revoke: (c: { secretName: string; baseUrl: string; fingerprint: string }): string =>
      `Once every reader has picked up the new token, click Remove next to token ${c.fingerprint} of ${c.secretName} in the Thinkific ` +
      `Admin Dashboard (${TOKENS_PAGE}); removal cuts its access at once. keyrotor confirms removal when the old token answers 401.`,
  };

  readonly #http: ProviderHttpClient;
  readonly #now: () => number;

  public constructor(options: ThinkificProviderOptions = {}) {
    this.#http = new ProviderHttpClient({ provider: this.id, ...options });
    this.#now = options.now ?? Date.now;
  }

  /**
   * Reads a raw token or JSON `{"apiKey": "…"}` and the expiry date the person chose.
   * @param extras.expiresAt - required: `YYYY-MM-DD` (end of that day, UTC) or an ISO 8601 date-time, in the future.
   * @returns `{ apiKey, expiresAt }` with `expiresAt` as an ISO 8601 UTC string.
   * @throws ValidationError listing every problem, never quoting the token.
   */
  public parseSubmission(input: string, extras: SubmissionExtras = {}): Partial<ThinkificValue> {
    const issues: string[] = [];
    const apiKey = readToken(input, issues);
    const expiresAt = this.#readExpiry(extras.expiresAt, issues, extras.verifyOnly === true);
    if (issues.length > 0 || apiKey === undefined) throw new ValidationError('submitted credential', issues);
    if (expiresAt === undefined) {
      // Only reachable when verifying: a hand-over always carries the expiry date.
      if (extras.verifyOnly !== true) throw new ValidationError('submitted credential', [EXPIRES_AT_REQUIRED]);
      return { apiKey };
    }
    return { apiKey, expiresAt };
  }

  /** Thinkific tokens carry no environment marker, so only the token's shape is checked. */
  public formatProblems(value: ThinkificValue): string[] {
    return TOKEN_SHAPE.test(value.apiKey) ? [] : [TOKEN_SHAPE_PROBLEM];
  }

  public async verify(value: ThinkificValue, target: ProviderTarget): Promise<VerifyResult> {
    const response = await this.#http.request({
      method: 'GET',
      url: `${target.baseUrl}${VERIFY_PATH}`,
      headers: { authorization: `Bearer ${value.apiKey}` },
      secrets: [value.apiKey],
    });
    const body = response.json();
    // A 2xx without the list is not the public API (a login page, a proxy, a wrong base URL).
    if (typeof body !== 'object' || body === null || !Array.isArray((body as { items?: unknown }).items)) {
      throw new ProviderResponseError(
        this.id,
        `GET ${target.baseUrl}/api/public/v1/users answered ${response.status} without an "items" list; ` +
          `check that baseUrl is the API root (https://api.thinkific.com)`,
        { status: response.status },
      );
    }
    return { checked: `GET ${target.baseUrl}/api/public/v1/users → ${response.status}` };
  }

  #readExpiry(given: string | undefined, issues: string[], verifyOnly = false): string | undefined {
    if (given === undefined || given.trim().length === 0) {
      if (!verifyOnly) issues.push(EXPIRES_AT_REQUIRED);
      return undefined;
    }
    const parsed = parseExpiryDate(given);
    if ('problem' in parsed) {
      issues.push(parsed.problem);
      return undefined;
    }
    if (Date.parse(parsed.iso) <= this.#now()) {
      issues.push(`expiresAt: ${parsed.iso} is not in the future; pass the expiry date of the new token chosen in the admin dashboard`);
      return undefined;
    }
    return parsed.iso;
  }
}

/** The token from stdin (raw, or JSON with `apiKey`), or `undefined` with the problem added to `issues`. */
function readToken(input: string, issues: string[]): string | undefined {
  const trimmed = input.trim();
  let apiKey: unknown = trimmed;
  if (trimmed.startsWith('{')) {
    try {
      apiKey = (JSON.parse(trimmed) as { apiKey?: unknown } | null)?.apiKey;
    } catch {
      issues.push('is neither a raw API access token nor valid JSON');
      return undefined;
    }
  }
  if (typeof apiKey !== 'string' || apiKey.length === 0) {
    issues.push('apiKey: is missing');
    return undefined;
  }
  if (/^bearer\s/i.test(apiKey)) {
    issues.push('apiKey: paste the token alone, without "Bearer "');
    return undefined;
  }
  if (!TOKEN_SHAPE.test(apiKey)) {
    issues.push(TOKEN_SHAPE_PROBLEM);
    return undefined;
  }
  return apiKey;
}
