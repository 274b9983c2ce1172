import type { Environment } from '../../core/contracts';
import { ValidationError } from '../../core/errors';
import type { ManagedSecretValue } from '../../core/secret-value';
import type { Provider, ProviderTarget, VerifyResult } from '../../ports/provider';
import { ProviderHttpClient, type ProviderHttpClientOptions } from '../http';

/** A Thought Industries secret value. */
export type ThoughtIndustriesValue = Extract<ManagedSecretValue, { provider: 'thought-industries' }>;

/** Documented key prefixes: `ti_live_` for production instances, `ti_test_` for sandboxes. */
export const KEY_PREFIX: Readonly<Record<Environment, string>> = { production: 'ti_live_', sandbox: 'ti_test_' };

/** The cheap read used to prove a key: one row of the user list. */
export const VERIFY_PATH = '/incoming/v2/users?limit=1';

const KEY_SHAPE = /^[\x21-\x7e]{8,512}$/;

function environmentOfKey(apiKey: string): Environment | undefined {
  if (apiKey.startsWith(KEY_PREFIX.production)) return 'production';
  if (apiKey.startsWith(KEY_PREFIX.sandbox)) return 'sandbox';
  return undefined;
}

/**
 * Thought Industries: Bearer API keys made by a person in the admin panel
 * (Settings → Security/API Keys). keyrotor cannot create or revoke them, so rotation is
 * human-in-the-loop: a person creates the key and hands it over with `keyrotor submit`.
 */
export class ThoughtIndustriesProvider implements Provider<ThoughtIndustriesValue> {
  public readonly id = 'thought-industries' as const;
  public readonly displayName = 'Thought Industries';
  public readonly capabilities = {
    issueByApi: false,
    revokeByApi: false,
    listKeys: false,
    shortLivedTokens: false,
    twoLiveKeys: true,
  } as const;

  public readonly manual = {
    issue: (c: { secretName: string; baseUrl: string; environment: Environment; keyName: string }): string =>
      `Create a new API key in the Thought Industries admin panel of ${c.baseUrl} (Settings → Security/API Keys), ` +
      `named "${c.keyName}", with the same role as the current key; it must start with ${KEY_PREFIX[c.environment]} (${c.environment}). ` +
      `Then hand it over with: npx keyrotor submit ${c.secretName}   (paste the key at the hidden prompt or pipe it on stdin). ` +
      `The current key keeps working until the new one is verified and promoted.`,
    revoke: (c: { secretName: string; baseUrl: string; fingerprint: string }): string =>
      `Remove the old API key ${c.fingerprint} of ${c.secretName} in the Thought Industries admin panel of ${c.baseUrl} ` +
      `(Settings → Security/API Keys) once every reader has picked up the new key; keyrotor confirms removal when the old key answers 401.`,
  };

  readonly #http: ProviderHttpClient;

  public constructor(httpOptions: Omit<ProviderHttpClientOptions, 'provider'> = {}) {
    this.#http = new ProviderHttpClient({ provider: this.id, ...httpOptions });
  }

  public parseSubmission(input: string): Partial<ThoughtIndustriesValue> {
    const trimmed = input.trim();
    let apiKey: unknown = trimmed;
    if (trimmed.startsWith('{')) {
      try {
        apiKey = (JSON.parse(trimmed) as { apiKey?: unknown }).apiKey;
      } catch {
        throw new ValidationError('submitted credential', ['is neither a raw API key nor valid JSON']);
      }
    }
    if (typeof apiKey !== 'string' || apiKey.length === 0) {
      throw new ValidationError('submitted credential', ['apiKey: is missing']);
    }
    if (!KEY_SHAPE.test(apiKey)) {
      throw new ValidationError('submitted credential', [
        'apiKey: must be 8 to 512 printable characters with no spaces (paste the key exactly as the admin panel shows it)',
      ]);
    }
    return { apiKey };
  }

  public formatProblems(value: ThoughtIndustriesValue, environment: Environment): string[] {
    const keyEnvironment = environmentOfKey(value.apiKey);
    if (keyEnvironment === undefined) {
      return [`apiKey: must start with ${KEY_PREFIX.production} (production) or ${KEY_PREFIX.sandbox} (sandbox)`];
    }
    if (keyEnvironment !== environment) {
      return [
        `apiKey: is a ${keyEnvironment} key (${KEY_PREFIX[keyEnvironment]}…) but the secret is ${environment}; ` +
          `a ${environment} secret needs a ${KEY_PREFIX[environment]} key`,
      ];
    }
    return [];
  }

  public async verify(value: ThoughtIndustriesValue, target: ProviderTarget): Promise<VerifyResult> {
    const url = `${target.baseUrl}${VERIFY_PATH}`;
    const response = await this.#http.request({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${value.apiKey}` },
      secrets: [value.apiKey],
    });
    response.json(); // a 2xx that is not JSON is not the API we expect
    return { checked: `GET ${target.baseUrl}/incoming/v2/users → ${response.status}` };
  }
}
