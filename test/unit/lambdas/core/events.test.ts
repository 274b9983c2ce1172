import * as fc from 'fast-check';
import { ENVIRONMENTS, PROVIDER_IDS, TAG } from '../../../../lambdas/core/contracts';
import { SecretStateError } from '../../../../lambdas/core/errors';
import { eventContextOf, publishSecretEvent, tryPublishSecretEvent } from '../../../../lambdas/core/events';
import { CapturingEvents } from '../../../support/fakes/capturing-events';
import { captureLogger } from '../../../support/fixtures';

const TOKEN_SECRET = { name: 'keyrotor/thrive-api/token', tags: { [TAG.kind]: 'token', [TAG.provider]: 'thrive', [TAG.environment]: 'production' } };

describe('Function: eventContextOf', () => {
  it('needs only the provider and environment tags: a token secret has no base URL', () => {
    // Act & Assess
    expect(eventContextOf(TOKEN_SECRET)).toEqual({ provider: 'thrive', environment: 'production' });
  });

  it('takes what the tags lack from the secret\'s value, and the tag where both speak', () => {
    // Act & Assess
    expect(eventContextOf({ name: 'keyrotor/by-hand', tags: {} }, { provider: 'thinkific', environment: 'sandbox' })).toEqual({ provider: 'thinkific', environment: 'sandbox' });
    expect(eventContextOf({ name: 'keyrotor/by-hand', tags: { [TAG.environment]: 'production' } }, { provider: 'thinkific', environment: 'sandbox' })).toEqual({
      provider: 'thinkific',
      environment: 'production',
    });
  });

  it('names everything missing or unknown in one SecretStateError', () => {
    // Act
    const error = (() => {
      try {
        eventContextOf({ name: 'keyrotor/x', tags: { [TAG.provider]: 'moodle' } });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();

    // Assess
    expect(error).toBeInstanceOf(SecretStateError);
    expect((error as Error).message).toBe(
      'no keyrotor event can name secret keyrotor/x: provider: "moodle" is not a known provider; environment: missing (no keyrotor:environment tag and no value that names it)',
    );
  });
});

describe('Function: publishSecretEvent', () => {
  it('publishes an event about a token secret, validated, with the type\'s default severity', async () => {
    // Prepare
    const events = new CapturingEvents();

    // Act
    await publishSecretEvent(events, captureLogger().logger, TOKEN_SECRET, 'TokenRefreshed', { summary: 'renewed', step: 'refresh' });

    // Assess
    expect(events.events).toEqual([
      {
        type: 'TokenRefreshed',
        detail: { version: '1', secret: 'keyrotor/thrive-api/token', provider: 'thrive', environment: 'production', severity: 'INFO', summary: 'renewed', step: 'refresh' },
      },
    ]);
  });

  it('never throws: an event it cannot build or deliver is logged, and tryPublishSecretEvent says it was not published', async () => {
    // Prepare
    const events = new CapturingEvents();
    const log = captureLogger();

    // Act
    const untagged = await tryPublishSecretEvent(events, log.logger, { name: 'keyrotor/x', tags: {} }, 'TokenRefreshFailed', { summary: 'failed' });
    events.failing = true;
    const undelivered = await tryPublishSecretEvent(events, log.logger, TOKEN_SECRET, 'TokenRefreshFailed', { summary: 'failed' });
    events.failing = false;
    const delivered = await tryPublishSecretEvent(events, log.logger, TOKEN_SECRET, 'TokenRefreshFailed', { summary: 'failed' });

    // Assess
    expect([untagged, undelivered, delivered]).toEqual([false, false, true]);
    expect(log.lines).toEqual([
      { level: 'warn', message: 'could not publish a keyrotor event', attributes: { type: 'TokenRefreshFailed', secret: 'keyrotor/x', errorName: 'SecretStateError' } },
      { level: 'warn', message: 'could not publish a keyrotor event', attributes: { type: 'TokenRefreshFailed', secret: 'keyrotor/thrive-api/token', errorName: 'InternalException' } },
    ]);
  });

  it('publishes exactly when the tags name a known provider and environment, with or without a base URL, whatever else they hold', async () => {
    const tagValue = (known: readonly string[]) => fc.option(fc.oneof(fc.constantFrom(...known), fc.string({ maxLength: 20 })), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(
        tagValue(PROVIDER_IDS),
        tagValue(ENVIRONMENTS),
        fc.option(fc.webUrl(), { nil: undefined }),
        fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), { maxKeys: 4 }),
        async (provider, environment, baseUrl, other) => {
          // Prepare
          const events = new CapturingEvents();
          const tags: Record<string, string> = { ...other };
          delete tags[TAG.provider];
          delete tags[TAG.environment];
          if (provider !== undefined) tags[TAG.provider] = provider;
          if (environment !== undefined) tags[TAG.environment] = environment;
          if (baseUrl !== undefined) tags[TAG.baseUrl] = baseUrl;

          // Act
          const published = await tryPublishSecretEvent(events, captureLogger().logger, { name: 'keyrotor/p', tags }, 'KeyRevoked', { summary: 'revoked' });

          // Assess
          const valid = (PROVIDER_IDS as readonly string[]).includes(provider ?? '') && (ENVIRONMENTS as readonly string[]).includes(environment ?? '');
          expect(published).toBe(valid);
          expect(events.events).toHaveLength(valid ? 1 : 0);
        },
      ),
    );
  });
});
