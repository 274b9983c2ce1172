import { ENVIRONMENTS, PROVIDER_IDS, TAG, type Environment, type ProviderId } from './contracts';
import { baseUrlProblem, normaliseBaseUrl } from './base-url';
import { SecretStateError } from './errors';
import type { ManagedSecretValue, SecretContext } from './secret-value';
import type { SecretMetadata } from '../ports/secret-store';

const isProvider = (v: string | undefined): v is ProviderId => PROVIDER_IDS.includes(v as ProviderId);
const isEnvironment = (v: string | undefined): v is Environment => ENVIRONMENTS.includes(v as Environment);

/**
 * Works out which platform, environment and instance a secret belongs to, from its tags
 * (what `cdk deploy` wrote) and its current value (what a hand-made secret carries).
 * Where both speak they must agree: a disagreement means someone changed one by hand, and
 * guessing could promote a key into the wrong environment.
 * @throws SecretStateError naming the field that is missing or disagrees.
 */
export function resolveSecretContext(metadata: SecretMetadata, current: ManagedSecretValue | undefined): SecretContext {
  const tags = metadata.tags;
  const problems: string[] = [];
  const pick = (field: keyof SecretContext, tagName: string, fromValue: string | undefined): string | undefined => {
    const fromTag = tags[tagName];
    if (fromTag !== undefined && fromValue !== undefined) {
      const same = field === 'baseUrl' ? normaliseBaseUrl(fromTag) === normaliseBaseUrl(fromValue) : fromTag === fromValue;
      if (!same) problems.push(`${field}: tag ${tagName} says "${fromTag}" but the current value says "${fromValue}"`);
    }
    return fromTag ?? fromValue;
  };
  const provider = pick('provider', TAG.provider, current?.provider);
  const environment = pick('environment', TAG.environment, current?.environment);
  const baseUrl = pick('baseUrl', TAG.baseUrl, current?.baseUrl);

  if (!isProvider(provider)) problems.push(`provider: ${provider === undefined ? `missing (no ${TAG.provider} tag and no current value)` : `"${provider}" is not a known provider`}`);
  if (!isEnvironment(environment)) problems.push(`environment: ${environment === undefined ? `missing (no ${TAG.environment} tag and no current value)` : `"${environment}" must be production or sandbox`}`);
  if (baseUrl === undefined) problems.push(`baseUrl: missing (no ${TAG.baseUrl} tag and no current value)`);
  else {
    const problem = baseUrlProblem(baseUrl);
    if (problem) problems.push(`baseUrl: ${problem}`);
  }
  if (problems.length > 0 || !isProvider(provider) || !isEnvironment(environment) || baseUrl === undefined) {
    throw new SecretStateError(`secret ${metadata.name} cannot be managed: ${problems.join('; ')}`);
  }
  return { provider, environment, baseUrl: normaliseBaseUrl(baseUrl) };
}
