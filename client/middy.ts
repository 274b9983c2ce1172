/**
 * A middy middleware for Lambda functions that call a learning platform with a keyrotor
 * credential: before the handler it reads the secrets (and tokens) it is given through the
 * shared {@link KeyrotorReader} and puts each value on `context` under the name you chose, as
 * `@middy/secrets-manager` does with `setToContext`. The reader's cache lives in module scope,
 * so warm invocations read nothing until the TTL passes; when the handler fails with the
 * platform's 401, the middleware drops these secrets from the cache so the next invocation
 * (Lambda's or your own retry) reads the new key. For a retry inside the same invocation, call
 * `reader.withFreshCredential` in the handler with the same reader.
 *
 * Only types come from middy and aws-lambda: at runtime this module needs neither.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { ReaderOptionsError } from './errors';
import { createKeyrotorReader, type KeyrotorReader } from './reader';
import type { KeyrotorSecretValue, KeyrotorToken } from './secret-values';

/** Names on `context` → secret ids (names or ARNs). */
export type SecretIdsByName = Readonly<Record<string, string>>;

/** Options of {@link keyrotorCredentials}. */
export interface KeyrotorCredentialsOptions<S extends SecretIdsByName, T extends SecretIdsByName> {
  /**
   * The reader to read through. Pass the one your handler also uses for `withFreshCredential`.
   * @default one reader shared by every keyrotorCredentials middleware in the process, with default options
   */
  readonly reader?: KeyrotorReader;

  /**
   * Managed API-key secrets: `{ nameOnContext: 'keyrotor/<id>' }`; each value is a {@link KeyrotorSecretValue}.
   * @default {}
   */
  readonly secrets?: S;

  /**
   * Token secrets: `{ nameOnContext: 'keyrotor/<id>/token' }`; each value is a {@link KeyrotorToken}.
   * @default {}
   */
  readonly tokens?: T;

  /**
   * Drop these secrets from the reader's cache when the handler fails with the platform's 401
   * (by the reader's `isUnauthorized`), so the next invocation reads them afresh.
   * @default true
   */
  readonly invalidateOnUnauthorized?: boolean;
}

/** What the middleware adds to the Lambda context. */
export type KeyrotorCredentialsContext<S extends SecretIdsByName, T extends SecretIdsByName> = {
  readonly [K in keyof S]: KeyrotorSecretValue;
} & { readonly [K in keyof T]: KeyrotorToken };

const OPTION_NAMES = ['reader', 'secrets', 'tokens', 'invalidateOnUnauthorized'] as const;

/** Properties of the Lambda context a credential must not replace. */
const LAMBDA_CONTEXT_FIELDS: ReadonlySet<string> = new Set([
  'callbackWaitsForEmptyEventLoop',
  'functionName',
  'functionVersion',
  'invokedFunctionArn',
  'memoryLimitInMB',
  'awsRequestId',
  'logGroupName',
  'logStreamName',
  'identity',
  'clientContext',
  'tenantId',
  'getRemainingTimeInMillis',
  'done',
  'fail',
  'succeed',
]);

let sharedReader: KeyrotorReader | undefined;

/** The reader middlewares use when none is given: one per process, created on first use. */
function defaultReader(): KeyrotorReader {
  sharedReader ??= createKeyrotorReader();
  return sharedReader;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionProblems(options: unknown): string[] {
  if (!isRecord(options)) return ['options: must be an object such as { secrets: { acme: "keyrotor/acme-prod" } }'];
  const issues: string[] = [];
  for (const name of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(name)) issues.push(`${name}: unknown option (known: ${OPTION_NAMES.join(', ')})`);
  }
  const seen = new Map<string, string>();
  for (const group of ['secrets', 'tokens'] as const) {
    const map = options[group];
    if (map === undefined) continue;
    if (!isRecord(map)) {
      issues.push(`${group}: must map names on context to secret ids`);
      continue;
    }
    for (const [name, secretId] of Object.entries(map)) {
      if (typeof secretId !== 'string' || secretId.trim() === '') issues.push(`${group}.${name}: must be a secret id (name or ARN)`);
      if (LAMBDA_CONTEXT_FIELDS.has(name)) issues.push(`${group}.${name}: would replace the Lambda context's own ${name}; choose another name`);
      const other = seen.get(name);
      if (other !== undefined) issues.push(`${group}.${name}: the name is also used in ${other}; each name on context holds one value`);
      seen.set(name, group);
    }
  }
  if (seen.size === 0 && issues.length === 0) issues.push('secrets, tokens: name at least one secret to read');
  if (options.reader !== undefined && !(isRecord(options.reader) && typeof (options.reader as { getApiKey?: unknown }).getApiKey === 'function')) {
    issues.push('reader: must be a reader from createKeyrotorReader()');
  }
  if (options.invalidateOnUnauthorized !== undefined && typeof options.invalidateOnUnauthorized !== 'boolean') {
    issues.push('invalidateOnUnauthorized: must be true or false');
  }
  return issues;
}

/**
 * Reads keyrotor credentials before the handler and puts them on `context`.
 * @example
 * import middy from '@middy/core';
 * import { keyrotorCredentials, createKeyrotorReader } from './client';
 *
 * const reader = createKeyrotorReader();
 * export const handler = middy()
 *   .use(keyrotorCredentials({ reader, secrets: { lms: 'keyrotor/acme-prod' }, tokens: { thrive: 'keyrotor/thrive-oauth/token' } }))
 *   .handler(async (event, context) => {
 *     const { apiKey, baseUrl } = context.lms;
 *     // …call the platform; or reader.withFreshCredential('keyrotor/acme-prod', …) to retry a 401 in this invocation
 *   });
 * @throws ReaderOptionsError listing every problem with `options`.
 */
export function keyrotorCredentials<S extends SecretIdsByName = Record<never, string>, T extends SecretIdsByName = Record<never, string>>(
  options: KeyrotorCredentialsOptions<S, T>,
): MiddlewareObj<unknown, unknown, Error, Context & KeyrotorCredentialsContext<S, T>> {
  const issues = optionProblems(options);
  if (issues.length > 0) throw new ReaderOptionsError('keyrotorCredentials options', issues);

  const secrets = Object.entries(options.secrets ?? {});
  const tokens = Object.entries(options.tokens ?? {});
  const invalidateOnUnauthorized = options.invalidateOnUnauthorized ?? true;
  const reader = (): KeyrotorReader => options.reader ?? defaultReader();

  const keyrotorCredentialsBefore = async (request: { context: Context }): Promise<void> => {
    const current = reader();
    // Concurrently: a cold start waits for the slowest secret, not for their sum.
    const values = await Promise.all([
      ...secrets.map(async ([name, secretId]) => [name, await current.getApiKey(secretId)] as const),
      ...tokens.map(async ([name, secretId]) => [name, await current.getToken(secretId)] as const),
    ]);
    Object.assign(request.context, Object.fromEntries(values));
  };

  const keyrotorCredentialsOnError = async (request: { error: unknown }): Promise<void> => {
    const current = reader();
    if (!invalidateOnUnauthorized || !current.isUnauthorized(request.error)) return;
    for (const [, secretId] of [...secrets, ...tokens]) current.invalidate(secretId);
    // Returning nothing lets the error propagate: the invocation still fails and is retried as configured.
  };

  return { name: 'keyrotor-credentials', before: keyrotorCredentialsBefore, onError: keyrotorCredentialsOnError };
}
