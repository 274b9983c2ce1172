/** A token secret as listing shows it: name and tags, never its value. */
export interface TokenSecret {
  readonly arn: string;
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** What the token refresher needs from Secrets Manager. */
export interface TokenStore {
  /** Every secret tagged `keyrotor:kind` = `token` (paginated; nothing is decrypted). */
  listTokenSecrets(): Promise<TokenSecret[]>;
  /** A secret's AWSCURRENT value, or `undefined` when it has none. */
  readCurrent(secretId: string): Promise<string | undefined>;
  /** Writes a new AWSCURRENT version (the previous becomes AWSPREVIOUS). */
  writeCurrent(secretId: string, value: string): Promise<void>;
  /** Sets one tag. */
  setTag(secretId: string, key: string, value: string): Promise<void>;
}
