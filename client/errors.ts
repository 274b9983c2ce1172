/**
 * The reader's error hierarchy. An application branches on the class, a person reads the
 * message. Messages name the secret, the field and what to do next, and never contain a
 * secret value: the SDK's own error travels only as `cause`, and parse problems name fields,
 * never their contents.
 */

/** Base of every error the reader throws itself (errors thrown by your own callback pass through unchanged). */
export class KeyrotorReaderError extends Error {
  /** The secret the reader was reading, when there is one. */
  public readonly secretId: string | undefined;

  public constructor(message: string, options?: { cause?: unknown; secretId?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeyrotorReaderError';
    this.secretId = options?.secretId;
  }
}

/** The options given to {@link createKeyrotorReader} or the middleware are invalid; `issues` lists every problem. */
export class ReaderOptionsError extends KeyrotorReaderError {
  public readonly issues: readonly string[];

  public constructor(what: string, issues: readonly string[]) {
    super(`${what} are invalid:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'ReaderOptionsError';
    this.issues = issues;
  }
}

/**
 * `GetSecretValue` failed (no such secret, access denied, KMS refused, throttled, network).
 * `code` is the SDK error's name (e.g. `AccessDeniedException`); the SDK error is the `cause`.
 */
export class SecretFetchError extends KeyrotorReaderError {
  public readonly code: string;

  public constructor(secretId: string, code: string, hint: string, options: { cause: unknown }) {
    super(`Could not read secret ${secretId} (${code}): ${hint}`, { ...options, secretId });
    this.name = 'SecretFetchError';
    this.code = code;
  }
}

/**
 * The secret still holds the placeholder `cdk deploy` gave it (`{"keyrotor":"awaiting-first-key",…}`):
 * there is no credential yet.
 */
export class AwaitingFirstKeyError extends KeyrotorReaderError {
  public constructor(secretId: string, kind: 'api-key' | 'token') {
    super(
      kind === 'api-key'
        ? `Secret ${secretId} awaits its first key; hand one over with npx keyrotor submit ${secretId}`
        : `Token secret ${secretId} awaits its first token; keyrotor's token refresher writes one on its next run (every few minutes). If it stays empty, follow the refresher's alerts (for an OAuth token, its client secret must hold the client id and secret).`,
      { secretId },
    );
    this.name = 'AwaitingFirstKeyError';
  }
}

/** The secret's value is not what keyrotor writes there. `issues` name each wrong field (never its value). */
export class InvalidSecretValueError extends KeyrotorReaderError {
  public readonly issues: readonly string[];

  public constructor(secretId: string, what: string, issues: readonly string[]) {
    super(`Secret ${secretId} does not hold ${what}: ${issues.join('; ')}`, { secretId });
    this.name = 'InvalidSecretValueError';
    this.issues = issues;
  }
}

/**
 * The token secret holds a token that has already expired, even when read afresh: keyrotor's
 * token refresher has not been able to renew it (it alerts about that).
 */
export class TokenExpiredError extends KeyrotorReaderError {
  /** When the token expired (ISO 8601). */
  public readonly expiresAt: string;

  public constructor(secretId: string, expiresAt: string) {
    super(
      `The access token in ${secretId} expired at ${expiresAt} and no renewed token has been written yet; keyrotor's token refresher is failing (see its alerts and docs/runbooks/token-refresh-failing.md)`,
      { secretId },
    );
    this.name = 'TokenExpiredError';
    this.expiresAt = expiresAt;
  }
}
