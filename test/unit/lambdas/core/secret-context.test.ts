import { TAG } from '../../../../lambdas/core/contracts';
import { SecretStateError } from '../../../../lambdas/core/errors';
import { resolveSecretContext } from '../../../../lambdas/core/secret-context';
import { parseSecretValue, type ManagedSecretValue } from '../../../../lambdas/core/secret-value';
import type { SecretMetadata } from '../../../../lambdas/ports/secret-store';
import { BASE_URL, TI_LIVE_OLD, tiTags, tiValue } from '../../../support/fixtures';

const NAME = 'keyrotor/acme-prod';

function metadata(tags: Record<string, string>): SecretMetadata {
  return {
    arn: `arn:aws:secretsmanager:eu-west-1:111111111111:secret:${NAME}-AbCdEf`,
    name: NAME,
    rotationEnabled: true,
    versionIdsToStages: { v1: ['AWSCURRENT'] },
    tags,
  };
}

const current = (overrides: Record<string, unknown> = {}): ManagedSecretValue => parseSecretValue(tiValue(TI_LIVE_OLD, overrides));

/** Runs `fn` and returns the SecretStateError it threw. */
function stateErrorOf(fn: () => unknown): SecretStateError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SecretStateError);
    return error as SecretStateError;
  }
  throw new Error('expected a SecretStateError');
}

describe('Function: resolveSecretContext', () => {
  describe('when tags and value agree', () => {
    it('returns provider, environment and base URL', () => {
      expect(resolveSecretContext(metadata(tiTags()), current())).toEqual({
        provider: 'thought-industries',
        environment: 'production',
        baseUrl: BASE_URL,
      });
    });

    it('treats base URLs that differ only by a trailing slash as the same, and returns it without the slash', () => {
      const context = resolveSecretContext(metadata(tiTags('production', `${BASE_URL}/`)), current({ baseUrl: `${BASE_URL}//` }));

      expect(context.baseUrl).toBe(BASE_URL);
    });
  });

  describe('when only one source speaks', () => {
    it('uses the tags of a secret without a current value (fresh from cdk deploy)', () => {
      const context = resolveSecretContext(metadata(tiTags('sandbox', 'http://127.0.0.1:4010/')), undefined);

      expect(context).toEqual({ provider: 'thought-industries', environment: 'sandbox', baseUrl: 'http://127.0.0.1:4010' });
    });

    it('uses the value of a secret a person made by hand, without tags', () => {
      const context = resolveSecretContext(metadata({}), current({ environment: 'sandbox', baseUrl: 'https://acme-sandbox.thoughtindustries.com/' }));

      expect(context).toEqual({ provider: 'thought-industries', environment: 'sandbox', baseUrl: 'https://acme-sandbox.thoughtindustries.com' });
    });

    it('fills each field from whichever source has it', () => {
      const context = resolveSecretContext(metadata({ [TAG.provider]: 'thought-industries' }), current());

      expect(context).toEqual({ provider: 'thought-industries', environment: 'production', baseUrl: BASE_URL });
    });
  });

  describe('when tags and value disagree', () => {
    it('refuses a different environment, naming the tag and both values', () => {
      // Act
      const error = stateErrorOf(() => resolveSecretContext(metadata(tiTags('sandbox')), current()));

      // Assess
      expect(error.message).toBe(
        `secret ${NAME} cannot be managed: environment: tag keyrotor:environment says "sandbox" but the current value says "production"`,
      );
    });

    it('refuses a different provider', () => {
      const error = stateErrorOf(() => resolveSecretContext(metadata({ ...tiTags(), [TAG.provider]: 'thinkific' }), current()));

      expect(error.message).toContain('provider: tag keyrotor:provider says "thinkific" but the current value says "thought-industries"');
    });

    it('refuses a different base URL', () => {
      const error = stateErrorOf(() => resolveSecretContext(metadata(tiTags('production', 'https://other.thoughtindustries.com')), current()));

      expect(error.message).toContain(`baseUrl: tag keyrotor:base-url says "https://other.thoughtindustries.com" but the current value says "${BASE_URL}"`);
    });

    it('reports every disagreement in one error', () => {
      const error = stateErrorOf(() =>
        resolveSecretContext(metadata({ [TAG.provider]: 'thinkific', [TAG.environment]: 'sandbox', [TAG.baseUrl]: 'https://other.example.com' }), current()),
      );

      expect(error.message.split('; ')).toHaveLength(3);
      expect(error.message).toMatch(/provider: .*environment: .*baseUrl: /);
    });
  });

  describe('when a field is missing or wrong', () => {
    it('lists every missing field when there are no tags and no value', () => {
      const error = stateErrorOf(() => resolveSecretContext(metadata({}), undefined));

      expect(error.message).toBe(
        `secret ${NAME} cannot be managed: ` +
          'provider: missing (no keyrotor:provider tag and no current value); ' +
          'environment: missing (no keyrotor:environment tag and no current value); ' +
          'baseUrl: missing (no keyrotor:base-url tag and no current value)',
      );
    });

    it('refuses a provider tag that is not a known provider', () => {
      const error = stateErrorOf(() => resolveSecretContext(metadata({ ...tiTags(), [TAG.provider]: 'moodle' }), undefined));

      expect(error.message).toContain('provider: "moodle" is not a known provider');
    });

    it('refuses an environment tag that is neither production nor sandbox', () => {
      const error = stateErrorOf(() => resolveSecretContext(metadata({ ...tiTags(), [TAG.environment]: 'Production' }), undefined));

      expect(error.message).toContain('environment: "Production" must be production or sandbox');
    });

    it('refuses an empty tag rather than treating it as absent', () => {
      const error = stateErrorOf(() => resolveSecretContext(metadata({ ...tiTags(), [TAG.provider]: '' }), undefined));

      expect(error.message).toContain('provider: "" is not a known provider');
    });

    it('refuses a base URL tag that is not an acceptable base URL', () => {
      const error = stateErrorOf(() => resolveSecretContext(metadata(tiTags('production', 'http://acme.thoughtindustries.com')), undefined));

      expect(error.message).toContain('baseUrl: must use https:// (plain http:// is allowed only for loopback hosts)');
    });
  });

  it('never puts the credential in its error', () => {
    const error = stateErrorOf(() => resolveSecretContext(metadata(tiTags('sandbox', 'https://other.example.com')), current()));

    expect(error.message).not.toContain(TI_LIVE_OLD);
  });
});
