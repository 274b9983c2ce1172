/**
 * keyrotor's runtime reader for Node applications (DESIGN §4; README "Reading credentials from
 * an application"). At runtime it needs only `@aws-sdk/client-secrets-manager` and node
 * built-ins; the middy middleware imports middy's types only.
 */
export {
  createKeyrotorReader,
  KeyrotorReader,
  DEFAULT_CACHE_TTL_SECONDS,
  DEFAULT_TOKEN_RECHECK_SECONDS,
  MAX_CACHE_TTL_SECONDS,
  type KeyrotorReaderOptions,
} from './reader';
export type { KeyrotorSecretValue, KeyrotorToken } from './secret-values';
export { isUnauthorized } from './unauthorized';
export {
  KeyrotorReaderError,
  ReaderOptionsError,
  SecretFetchError,
  AwaitingFirstKeyError,
  InvalidSecretValueError,
  TokenExpiredError,
} from './errors';
export { keyrotorCredentials, type KeyrotorCredentialsContext, type KeyrotorCredentialsOptions, type SecretIdsByName } from './middy';
