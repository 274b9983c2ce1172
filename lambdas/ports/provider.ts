import type { Environment, ProviderId } from '../core/contracts';
import type { ManagedSecretValue } from '../core/secret-value';

/**
 * What a platform lets keyrotor do by API. The engine chooses the flow from these: fully
 * automatic where the API allows, a person in the loop where it does not. Never claim a
 * capability the platform's API does not have.
 */
export interface ProviderCapabilities {
  /** New keys can be created by API (otherwise a person creates them and runs `keyrotor submit`). */
  readonly issueByApi: boolean;
  /** Old keys can be revoked by API (otherwise a person removes them in the admin panel). */
  readonly revokeByApi: boolean;
  /** Existing keys can be listed by API (orphan detection). */
  readonly listKeys: boolean;
  /** The credential mints short-lived access tokens. */
  readonly shortLivedTokens: boolean;
  /** Two keys can be live at once (needed for a rotation without downtime). */
  readonly twoLiveKeys: boolean;
}

/** Where and how to talk to the platform for one secret. */
export interface ProviderTarget {
  readonly baseUrl: string;
  readonly environment: Environment;
}

export interface VerifyResult {
  /** What was called, for logs and the CLI's verdict (no secret). */
  readonly checked: string;
}

/** Text for a person, shown in errors, alerts and the CLI. */
export interface ManualInstructions {
  readonly issue: (context: { secretName: string; baseUrl: string; environment: Environment; keyName: string }) => string;
  readonly revoke: (context: { secretName: string; baseUrl: string; fingerprint: string }) => string;
}

/**
 * One platform. Implementations import only this port and the shared HTTP helper.
 * @typeParam V - the secret value shape this provider manages.
 */
export interface Provider<V extends ManagedSecretValue = ManagedSecretValue> {
  readonly id: ProviderId;
  readonly displayName: string;
  readonly capabilities: ProviderCapabilities;
  readonly manual: ManualInstructions;
  /**
   * Builds the credential fields of a secret value from what a person handed over on stdin
   * (a raw key, or the JSON the secret holds for multi-part credentials).
   * @throws ValidationError naming what is malformed, never echoing it.
   */
  parseSubmission(input: string): Partial<V>;
  /**
   * Problems with the credential's shape for this environment (e.g. a sandbox key for a
   * production secret), without calling the platform. Empty when it looks right.
   */
  formatProblems(value: V, environment: Environment): string[];
  /**
   * Proves the credential works with one cheap read-only call.
   * @throws ProviderAuthError when the platform rejects it; other ProviderErrors otherwise.
   */
  verify(value: V, target: ProviderTarget): Promise<VerifyResult>;
}
