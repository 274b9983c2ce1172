/**
 * keyrotor's error hierarchy. A caller branches on the class, people read the message.
 * Messages say what is wrong and what to do next, and never contain a secret value:
 * anything that might (a platform's response body, an SDK error) travels only as `cause`
 * or as a redacted excerpt.
 */
export class KeyrotorError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyrotorError';
  }
}

/** Deploy-time configuration is invalid. `issues` lists every problem, each naming its field. */
export class ConfigError extends KeyrotorError {
  public readonly issues: readonly string[];
  public constructor(issues: readonly string[], source = 'keyrotor config') {
    super(`${source} is invalid:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** A value that came from outside (secret JSON, an event, stdin) does not match its schema. */
export class ValidationError extends KeyrotorError {
  public readonly issues: readonly string[];
  public constructor(what: string, issues: readonly string[], options?: { cause?: unknown }) {
    super(`${what} is invalid: ${issues.join('; ')}`, options);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** The rotation cannot proceed until a person acts; the message says exactly what to do. */
export class ManualActionRequiredError extends KeyrotorError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ManualActionRequiredError';
  }
}

/** The secret is not in a state the requested operation accepts (rotation disabled, wrong stage, …). */
export class SecretStateError extends KeyrotorError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretStateError';
  }
}

/** A compromise response could not do all it must (tag, revoke, start the rotation); the CRITICAL event says what is left for a person. */
export class CompromiseResponseError extends KeyrotorError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CompromiseResponseError';
  }
}

/** A key's environment does not match the secret's (e.g. a `ti_test_` key for a production secret). */
export class EnvironmentMismatchError extends KeyrotorError {
  public constructor(message: string) {
    super(message);
    this.name = 'EnvironmentMismatchError';
  }
}

/** Base of every failure talking to a platform. */
export class ProviderError extends KeyrotorError {
  public readonly provider: string;
  public readonly status: number | undefined;
  public constructor(provider: string, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = 'ProviderError';
    this.provider = provider;
    this.status = options?.status;
  }
}

/** The platform rejected the credential (HTTP 401). `platformMessage` is the platform's own text. */
export class ProviderAuthError extends ProviderError {
  public readonly platformMessage: string | undefined;
  public constructor(provider: string, platformMessage: string | undefined, options?: { cause?: unknown }) {
    super(
      provider,
      `${provider} rejected the credential (HTTP 401${platformMessage ? `: ${platformMessage}` : ''})`,
      { ...options, status: 401 },
    );
    this.name = 'ProviderAuthError';
    this.platformMessage = platformMessage;
  }
}

/** The credential is valid but lacks permission for the call (HTTP 403). */
export class ProviderPermissionError extends ProviderError {
  public constructor(provider: string, detail: string | undefined) {
    super(provider, `${provider} refused the call (HTTP 403${detail ? `: ${detail}` : ''}); give the key the role it needs`, {
      status: 403,
    });
    this.name = 'ProviderPermissionError';
  }
}

/** The platform kept answering 429 after the allowed retries. */
export class ProviderRateLimitError extends ProviderError {
  public readonly retryAfterMs: number | undefined;
  public constructor(provider: string, retryAfterMs: number | undefined) {
    super(
      provider,
      `${provider} is rate limiting keyrotor (HTTP 429)${retryAfterMs === undefined ? '' : `; it asks to retry after ${Math.ceil(retryAfterMs / 1000)} s`}`,
      { status: 429 },
    );
    this.name = 'ProviderRateLimitError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** The platform is unreachable, timed out, or answered 5xx after the allowed retries. */
export class ProviderUnavailableError extends ProviderError {
  public constructor(provider: string, message: string, options?: { cause?: unknown; status?: number }) {
    super(provider, message, options);
    this.name = 'ProviderUnavailableError';
  }
}

/** The platform answered something keyrotor cannot interpret (unexpected status or body). */
export class ProviderResponseError extends ProviderError {
  public constructor(provider: string, message: string, options?: { cause?: unknown; status?: number }) {
    super(provider, message, options);
    this.name = 'ProviderResponseError';
  }
}

/** Another attempt of the same rotation is creating a key right now; this attempt stops. */
export class ConcurrentRotationError extends KeyrotorError {
  public constructor(message: string) {
    super(message);
    this.name = 'ConcurrentRotationError';
  }
}

/**
 * A new key was created but could not be stored; it has been revoked again (compensation) so
 * nothing is orphaned, and the current key is untouched.
 */
export class StoreFailedError extends KeyrotorError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreFailedError';
  }
}
