/** A token secret as listing shows it: name and tags, never its value. */
export interface TokenSecret {
  readonly arn: string;
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
  /**
   * The `AWSCURRENT` version id of the token's source secret (its `keyrotor:token-source` tag) as
   * the same listing showed it; `undefined` when the listing did not show the source (a source
   * without a `keyrotor:kind` tag, or one that does not exist). Listings are eventually
   * consistent: a change can show late, and a version just replaced can still show for a while.
   */
  readonly listedSourceVersionId?: string;
}

/** A secret's AWSCURRENT value and the version that holds it. */
export interface CurrentSecretValue {
  readonly value: string;
  /** `undefined` only where the store has no version ids. */
  readonly versionId: string | undefined;
}

/** What the token refresher needs from Secrets Manager. */
export interface TokenStore {
  /**
   * Every secret tagged `keyrotor:kind` = `token`, each with its source's AWSCURRENT version id
   * (paginated; nothing is decrypted).
   */
  listTokenSecrets(): Promise<TokenSecret[]>;
  /** A secret's AWSCURRENT value, or `undefined` when it has none. */
  readCurrent(secretId: string): Promise<string | undefined>;
  /** A secret's AWSCURRENT value with its version id, or `undefined` when it has none. */
  readCurrentVersion(secretId: string): Promise<CurrentSecretValue | undefined>;
  /**
   * A secret's AWSCURRENT version id read from the secret itself, not a listing (nothing is
   * decrypted); `undefined` when the secret does not exist or has no AWSCURRENT version.
   */
  describeCurrentVersionId(secretId: string): Promise<string | undefined>;
  /** Writes a new AWSCURRENT version (the previous becomes AWSPREVIOUS). */
  writeCurrent(secretId: string, value: string): Promise<void>;
  /** Sets one tag. */
  setTag(secretId: string, key: string, value: string): Promise<void>;
}
