/**
 * keyrotor as a construct library: what another CDK app imports to manage a third-party API key
 * with keyrotor's conventions (naming, tags, bootstrap value, native rotation, least-privilege
 * reads).
 *
 * @example
 * import { ManagedApiKey } from 'keyrotor/lib';
 */
export {
  ManagedApiKey,
  ManagedApiKeyPropsError,
  READABLE_STAGES,
  type IApiKeyRotator,
  type ManagedApiKeyProps,
  type ManagedApiKeyRotationFunction,
} from './managed-api-key';
export { DEFAULT_ROTATION_INTERVAL_DAYS, MAX_ROTATION_INTERVAL_DAYS, MIN_ROTATION_INTERVAL_DAYS, SECRET_NAME_PREFIX } from './config';
export { BOOTSTRAP_SECRET_MARKER, ENVIRONMENTS, PROVIDER_IDS, STAGE, TAG, type Environment, type ProviderId } from '../lambdas/core/contracts';
export { KeyrotorError } from '../lambdas/core/errors';
