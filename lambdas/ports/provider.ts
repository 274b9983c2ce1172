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

/** A key as the platform lists it (no secret material). */
export interface KeyRecord {
  readonly providerKeyId: string;
  readonly name?: string;
  readonly active: boolean;
}

/** What {@link Provider.issueKey} is given. */
export interface IssueRequest<V> {
  /** The current credential: the provider authenticates the management call with it. */
  readonly current: V;
  readonly target: ProviderTarget;
  /** The name to give the new key where the API takes one (derived from the rotation token, so an orphan can be found by name). */
  readonly keyName: string;
}

/** A key the platform has just created. */
export interface IssuedKey<V> {
  /** The complete new secret value (the current value with the new credential fields). */
  readonly value: V;
  /** The platform's id for the new key (used to revoke it); absent where the platform has none. */
  readonly providerKeyId?: string;
}

/** What {@link Provider.revokeKey} is given. */
export interface RevokeRequest<V> {
  /** A working credential to authenticate the management call with (normally the current key). */
  readonly authenticateWith: V;
  /** The key to revoke. */
  readonly providerKeyId: string;
  readonly target: ProviderTarget;
}

/** Extra facts a person hands over with `keyrotor submit` (flags, not secrets). */
export interface SubmissionExtras {
  /** The expiry date chosen in the platform's admin panel, ISO 8601. */
  readonly expiresAt?: string;
  /** The credential is only being checked (`keyrotor verify`), not handed over: facts a hand-over needs are optional. */
  readonly verifyOnly?: boolean;
}

/** What {@link Provider.issueKeyWithAdminToken} is given: a short-lived admin token a person copied from the platform. */
export interface AdminTokenIssueRequest<V> extends IssueRequest<V> {
  readonly adminToken: string;
  readonly correlationId: string;
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
  parseSubmission(input: string, extras?: SubmissionExtras): Partial<V>;
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
  /**
   * The platform's id of the key a value holds, where the credential itself carries it
   * (Imburse's `publicKey`); otherwise the value's `providerKeyId`.
   */
  keyIdOf?(value: V): string | undefined;
  /**
   * Creates a new key (only when `capabilities.issueByApi`). Named `request.keyName` where the
   * API takes a name. Not retried on an ambiguous failure: the engine finds orphans by name.
   */
  issueKey?(request: IssueRequest<V>): Promise<IssuedKey<V>>;
  /**
   * Creates a new key with an admin token a person handed over (platforms whose keys can be made
   * by API only with a person's short-lived session token, e.g. Thrive). The token is used once.
   */
  issueKeyWithAdminToken?(request: AdminTokenIssueRequest<V>): Promise<IssuedKey<V>>;
  /**
   * Revokes (deletes or inactivates) a key (only when `capabilities.revokeByApi`). Idempotent:
   * a key that is already gone or inactive answers `already-revoked`.
   */
  revokeKey?(request: RevokeRequest<V>): Promise<'revoked' | 'already-revoked'>;
  /** Lists the keys of the account/tenant (only when `capabilities.listKeys`). */
  listKeys?(request: { authenticateWith: V; target: ProviderTarget }): Promise<KeyRecord[]>;
}
