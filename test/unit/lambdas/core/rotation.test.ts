import { runRotationStep, keyNameFor, type RotationDeps } from '../../../../lambdas/core/rotation';
import {
  EnvironmentMismatchError,
  ManualActionRequiredError,
  ProviderAuthError,
  SecretStateError,
  ValidationError,
} from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { createProviderRegistry } from '../../../../lambdas/providers/registry';
import { InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { stubThoughtIndustries, type StubbedPlatform } from '../../../support/fakes/platform-fetch';
import { BASE_URL, captureLogger, NO_WAIT, rotationFakes, TI_LIVE_NEW, TI_LIVE_OLD, TI_TEST_KEY, tiTags, tiValue } from '../../../support/fixtures';

describe('Function: runRotationStep', () => {
  let store: InMemorySecretStore;
  let platform: StubbedPlatform;
  let capture: ReturnType<typeof captureLogger>;
  let deps: RotationDeps;
  let arn: string;

  const step = (Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret', token: string) =>
    runRotationStep({ SecretId: arn, ClientRequestToken: token, Step }, deps);

  beforeEach(() => {
    clearRegisteredSecrets();
    store = new InMemorySecretStore();
    platform = stubThoughtIndustries([TI_LIVE_OLD, TI_LIVE_NEW]);
    capture = captureLogger();
    deps = {
      store,
      providers: createProviderRegistry({ fetch: platform.fetch, sleep: async () => undefined }),
      logger: capture.logger,
      propagation: NO_WAIT,
      now: () => new Date('2026-11-23T10:00:00Z'),
      ...rotationFakes(),
    };
    arn = store.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
  });

  /** A person submitted a key: it sits in version `token` staged AWSPENDING. */
  async function submitted(apiKey: string, token = 'tok-1', extra: Record<string, unknown> = {}): Promise<string> {
    await store.putPendingValue(arn, token, tiValue(apiKey, extra));
    return token;
  }

  describe('guards', () => {
    it('refuses a secret whose rotation is disabled', async () => {
      // Prepare
      const token = await submitted(TI_LIVE_NEW);
      store.setRotationEnabled(arn, false);
      // Act & Assess
      await expect(step('createSecret', token)).rejects.toThrow(SecretStateError);
      await expect(step('createSecret', token)).rejects.toThrow(/does not have rotation enabled/);
    });

    it('refuses a token that is not a version of the secret', async () => {
      await expect(step('createSecret', 'no-such-token')).rejects.toThrow(/has no version no-such-token/);
    });

    it('refuses a token that is not staged AWSPENDING', async () => {
      // Prepare: the version exists but someone removed its AWSPENDING label
      const token = await submitted(TI_LIVE_NEW);
      await store.removeStage(arn, 'AWSPENDING', token);
      // Act & Assess
      await expect(step('testSecret', token)).rejects.toThrow(/not staged AWSPENDING/);
    });

    it('returns early for every step when the token is already AWSCURRENT (setSecret, which changes nothing, makes no call at all)', async () => {
      // Prepare
      const current = Object.entries(store.stagesOf(arn)).find(([, s]) => s.includes('AWSCURRENT'))![0];
      const before = store.calls.length;
      // Act
      const outcomes = await Promise.all((['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const).map((s) => step(s, current)));
      // Assess
      expect(outcomes).toEqual(['already-current', 'nothing-to-set', 'already-current', 'already-current']);
      expect(platform.calls).toHaveLength(0);
      expect(store.calls.slice(before).map((c) => c.op)).toEqual(['DescribeSecret', 'DescribeSecret', 'DescribeSecret']);
    });
  });

  describe('Method: createSecret', () => {
    it('accepts a submitted pending key without calling the platform (idempotent)', async () => {
      const token = await submitted(TI_LIVE_NEW);
      await expect(step('createSecret', token)).resolves.toBe('pending-exists');
      await expect(step('createSecret', token)).resolves.toBe('pending-exists');
      expect(platform.calls).toHaveLength(0);
      expect(store.valueAt(arn, 'AWSPENDING')).toBe(tiValue(TI_LIVE_NEW));
    });

    it('raises ManualActionRequired with the admin-panel path, key name and submit command when no key was submitted', async () => {
      // Prepare: a scheduled rotation leaves an empty AWSPENDING version
      const token = store.openPendingVersion(arn);
      const error = await step('createSecret', token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ManualActionRequiredError);
      const message = (error as Error).message;
      expect(message).toContain('Settings → Security/API Keys');
      expect(message).toContain(BASE_URL);
      expect(message).toContain('keyrotor-acme-prod-20261123');
      expect(message).toContain('npx keyrotor submit keyrotor/acme-prod');
      expect(message).toContain('ti_live_');
      expect(message).not.toContain(TI_LIVE_OLD);
    });

    it('rejects a pending value that is not valid secret JSON, without echoing it', async () => {
      await store.putPendingValue(arn, 'tok-bad', `{"apiKey":"${TI_LIVE_NEW}"`);
      const error = (await step('createSecret', 'tok-bad').catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toContain('is not valid JSON');
      expect(error.message).not.toContain(TI_LIVE_NEW);
    });

    it('works out the platform from tags when the current value is the bootstrap placeholder', async () => {
      const bootstrap = store.create('keyrotor/new', { value: '{"keyrotor":"awaiting-first-key","bootstrap":"xyz"}', tags: tiTags() });
      const token = store.openPendingVersion(bootstrap);
      arn = bootstrap;
      await expect(step('createSecret', token)).rejects.toThrow(ManualActionRequiredError);
    });

    it('refuses when tags and the current value disagree on the environment', async () => {
      arn = store.create('keyrotor/odd', { value: tiValue(TI_LIVE_OLD), tags: tiTags('sandbox') });
      const token = store.openPendingVersion(arn);
      await expect(step('createSecret', token)).rejects.toThrow(/environment: tag keyrotor:environment says "sandbox" but the current value says "production"/);
    });
  });

  describe('Method: setSecret', () => {
    it('does nothing for platform-issued keys', async () => {
      const token = await submitted(TI_LIVE_NEW);
      await expect(step('setSecret', token)).resolves.toBe('nothing-to-set');
      expect(platform.calls).toHaveLength(0);
    });
  });

  describe('Method: testSecret', () => {
    it('verifies the pending key with a Bearer read under /incoming/v2/', async () => {
      const token = await submitted(TI_LIVE_NEW);
      await expect(step('testSecret', token)).resolves.toBe('verified');
      expect(platform.calls).toEqual([{ url: `${BASE_URL}/incoming/v2/users?limit=1`, method: 'GET', authorization: `Bearer ${TI_LIVE_NEW}` }]);
    });

    it('retries a 401 with back-off while a new key propagates', async () => {
      const token = await submitted(TI_LIVE_NEW);
      const sleeps: number[] = [];
      // The platform answers 401 twice (not propagated yet), then accepts the key
      let rejections = 0;
      const realFetch = platform.fetch;
      deps = {
        ...deps,
        providers: createProviderRegistry({
          fetch: (async (input: string | URL | Request, init?: RequestInit) => {
            if (rejections < 2) {
              rejections += 1;
              return new Response(JSON.stringify({ error: 'unauthorized', message: 'Invalid or expired API key.' }), { status: 401 });
            }
            return realFetch(input, init);
          }) as typeof fetch,
        }),
        propagation: { attempts: 4, initialDelayMs: 100, sleep: async (ms) => void sleeps.push(ms) },
      };
      await expect(step('testSecret', token)).resolves.toBe('verified');
      expect(sleeps).toEqual([100, 200]);
    });

    it('fails with the platform message when the key stays invalid, and never promotes it', async () => {
      const token = await submitted('ti_live_REVOKEDrevoked000000009');
      const error = (await step('testSecret', token).catch((e: unknown) => e)) as ProviderAuthError;
      expect(error).toBeInstanceOf(ProviderAuthError);
      expect(error.platformMessage).toBe('Invalid or expired API key.');
      expect(platform.calls).toHaveLength(NO_WAIT.attempts);
      expect(store.valueAt(arn, 'AWSCURRENT')).toBe(tiValue(TI_LIVE_OLD));
    });

    it('refuses a ti_test_ key for a production secret without calling the platform', async () => {
      platform.validKeys.add(TI_TEST_KEY);
      const token = await submitted(TI_TEST_KEY);
      const error = (await step('testSecret', token).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(EnvironmentMismatchError);
      expect(error.message).toMatch(/sandbox key \(ti_test_…\) but the secret is production/);
      expect(error.message).not.toContain(TI_TEST_KEY);
      expect(platform.calls).toHaveLength(0);
    });

    it('refuses a ti_live_ key for a sandbox secret', async () => {
      arn = store.create('keyrotor/acme-sandbox', { value: tiValue(TI_TEST_KEY, { environment: 'sandbox' }), tags: tiTags('sandbox') });
      await store.putPendingValue(arn, 'tok-s', tiValue(TI_LIVE_NEW, { environment: 'sandbox' }));
      await expect(step('testSecret', 'tok-s')).rejects.toThrow(/production key \(ti_live_…\) but the secret is sandbox/);
    });

    it('refuses a pending value marked with another environment than the secret', async () => {
      const token = await submitted(TI_TEST_KEY, 'tok-env', { environment: 'sandbox' });
      await expect(step('testSecret', token)).rejects.toThrow(/the key is marked sandbox but the secret is production/);
    });

    it('passes Secrets Manager\'s configuration test (a pending copy of the current value) without calling the platform', async () => {
      // Prepare: what the service does when a schedule is created with RotateImmediatelyOnUpdate false
      const bootstrap = '{"keyrotor":"awaiting-first-key","bootstrap":"Qw3rTy"}';
      arn = store.create('keyrotor/fresh', { value: bootstrap, tags: tiTags() });
      await store.putPendingValue(arn, 'tok-config', bootstrap);
      // Act & Assess
      await expect(step('testSecret', 'tok-config')).resolves.toBe('configuration-test');
      expect(platform.calls).toHaveLength(0);
    });

    it('refuses when there is no pending value', async () => {
      const token = store.openPendingVersion(arn);
      await expect(step('testSecret', token)).rejects.toThrow(/has no pending value to test/);
    });
  });

  describe('Method: finishSecret', () => {
    it('promotes the pending version, makes the old one AWSPREVIOUS and says which key to remove', async () => {
      // Prepare
      const token = await submitted(TI_LIVE_NEW);
      const oldVersion = Object.entries(store.stagesOf(arn)).find(([, s]) => s.includes('AWSCURRENT'))![0];
      // Act
      await expect(step('finishSecret', token)).resolves.toBe('promoted');
      // Assess
      expect(store.stagesOf(arn)[token]).toEqual(['AWSCURRENT', 'AWSPENDING']);
      expect(store.stagesOf(arn)[oldVersion]).toEqual(['AWSPREVIOUS']);
      const action = capture.lines.find((l) => l.message.startsWith('manual action required'));
      expect(action?.attributes?.action).toMatch(/Remove the old API key …0001#[0-9a-f]{8} of keyrotor\/acme-prod/);
      expect(capture.text()).not.toContain(TI_LIVE_OLD);
      expect(capture.text()).not.toContain(TI_LIVE_NEW);
    });

    it('is a no-op when retried after promotion', async () => {
      const token = await submitted(TI_LIVE_NEW);
      await step('finishSecret', token);
      const before = store.stagesOf(arn);
      await expect(step('finishSecret', token)).resolves.toBe('already-current');
      expect(store.stagesOf(arn)).toEqual(before);
    });

    it('promotes the first key of a bootstrap secret with no old key to remove', async () => {
      arn = store.create('keyrotor/first', { value: '{"keyrotor":"awaiting-first-key"}', tags: tiTags() });
      await store.putPendingValue(arn, 'tok-first', tiValue(TI_LIVE_NEW));
      await expect(step('finishSecret', 'tok-first')).resolves.toBe('promoted');
      expect(store.valueAt(arn, 'AWSCURRENT')).toBe(tiValue(TI_LIVE_NEW));
      expect(capture.lines.some((l) => l.message.startsWith('manual action required'))).toBe(false);
    });
  });

  describe('Function: keyNameFor', () => {
    it('names the key after the secret and the day', () => {
      expect(keyNameFor('keyrotor/acme-prod', new Date('2026-01-05T23:00:00Z'))).toBe('keyrotor-acme-prod-20260105');
      expect(keyNameFor('team/odd name', new Date('2026-01-05T00:00:00Z'))).toBe('keyrotor-team-odd-name-20260105');
    });
  });
});
