import { runRotationStep, type RotationDeps } from '../../../../lambdas/core/rotation';
import { buildEvent } from '../../../../lambdas/core/events';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { TAG } from '../../../../lambdas/core/contracts';
import { createProviderRegistry } from '../../../../lambdas/providers/registry';
import { FakeAwsError, InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { FakeApiPlatform } from '../../../support/fakes/fake-api-provider';
import { CapturingEvents } from '../../../support/fakes/capturing-events';
import { stubThoughtIndustries } from '../../../support/fakes/platform-fetch';
import { captureLogger, NO_WAIT, rotationFakes, TI_LIVE_NEW, TI_LIVE_OLD, tiTags, tiValue } from '../../../support/fixtures';

describe('Rotation events (published through the events module)', () => {
  let store: InMemorySecretStore;
  let events: CapturingEvents;

  beforeEach(() => {
    clearRegisteredSecrets();
    store = new InMemorySecretStore();
    events = new CapturingEvents();
  });

  it('an automatic rotation publishes RotationStarted then RotationSucceeded, with fingerprints and no key', async () => {
    // Prepare
    const platform = new FakeApiPlatform();
    const key = platform.addKey();
    const arn = store.create('keyrotor/pay', {
      value: JSON.stringify({ provider: 'imburse', environment: 'sandbox', baseUrl: 'https://sandbox-api.imburse.net', tenantId: 't', ...key }),
      tags: { [TAG.provider]: 'imburse', [TAG.environment]: 'sandbox', [TAG.kind]: 'api-key', [TAG.baseUrl]: 'https://sandbox-api.imburse.net' },
    });
    const deps: RotationDeps = { store, providers: platform.registry(), logger: captureLogger().logger, propagation: NO_WAIT, now: () => new Date(), ...rotationFakes(), events };
    store.rotationFunction = (event) => runRotationStep(event, deps);
    // Act
    const token = await store.scheduledRotation(arn);
    // Assess
    expect(events.types()).toEqual(['RotationStarted', 'RotationSucceeded']);
    expect(events.events[1]?.detail).toMatchObject({ version: '1', secret: 'keyrotor/pay', provider: 'imburse', environment: 'sandbox', severity: 'INFO', rotation: token, step: 'finishSecret' });
    expect(events.events[1]?.detail.fingerprint).toMatch(/^…/);
    expect(JSON.stringify(events.events)).not.toContain(key.privateKey);
  });

  describe('a human-issued platform (Thought Industries)', () => {
    let deps: RotationDeps;
    let arn: string;
    beforeEach(() => {
      const platform = stubThoughtIndustries([TI_LIVE_OLD, TI_LIVE_NEW]);
      deps = { store, providers: createProviderRegistry({ fetch: platform.fetch, sleep: async () => undefined }), logger: captureLogger().logger, propagation: NO_WAIT, now: () => new Date(), ...rotationFakes(), events };
      arn = store.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
    });

    it('publishes ManualActionRequired with the instructions when no key was submitted', async () => {
      const token = store.openPendingVersion(arn);
      await expect(runRotationStep({ SecretId: arn, ClientRequestToken: token, Step: 'createSecret' }, deps)).rejects.toThrow();
      expect(events.types()).toEqual(['ManualActionRequired']);
      expect(events.events[0]?.detail).toMatchObject({ severity: 'WARNING', step: 'createSecret', rotation: token, provider: 'thought-industries' });
      expect(events.events[0]?.detail.action).toContain('npx keyrotor submit keyrotor/acme-prod');
    });

    it('publishes RotationSucceeded and a ManualActionRequired to remove the old key after promotion', async () => {
      await store.putPendingValue(arn, 'tok-1', tiValue(TI_LIVE_NEW));
      await runRotationStep({ SecretId: arn, ClientRequestToken: 'tok-1', Step: 'finishSecret' }, deps);
      expect(events.types()).toEqual(['RotationSucceeded', 'ManualActionRequired']);
      expect(events.events[1]?.detail.action).toMatch(/Remove the old API key …0001#/);
    });

    it('publishes RotationFailed (WARNING, step, error class) when a step fails, and still fails the step', async () => {
      await store.putPendingValue(arn, 'tok-2', tiValue('ti_live_REVOKEDrevoked000000009'));
      await expect(runRotationStep({ SecretId: arn, ClientRequestToken: 'tok-2', Step: 'testSecret' }, deps)).rejects.toMatchObject({ name: 'ProviderAuthError' });
      expect(events.events).toEqual([
        expect.objectContaining({ type: 'RotationFailed', detail: expect.objectContaining({ step: 'testSecret', errorName: 'ProviderAuthError', severity: 'WARNING', rotation: 'tok-2' }) }),
      ]);
      expect(JSON.stringify(events.events)).not.toContain('ti_live_REVOKEDrevoked000000009');
    });

    it('an EventBridge outage never changes the outcome of a step', async () => {
      events.failing = true;
      await store.putPendingValue(arn, 'tok-3', tiValue(TI_LIVE_NEW));
      await expect(runRotationStep({ SecretId: arn, ClientRequestToken: 'tok-3', Step: 'finishSecret' }, deps)).resolves.toBe('promoted');
      store.failNext.set('UpdateSecretVersionStage', new FakeAwsError('InternalServiceError', 'x'));
      await store.putPendingValue(arn, 'tok-4', tiValue('ti_live_ANOTHERanother0000000007'));
      await expect(runRotationStep({ SecretId: arn, ClientRequestToken: 'tok-4', Step: 'finishSecret' }, deps)).rejects.toMatchObject({ name: 'InternalServiceError' });
    });
  });
});

describe('Function: buildEvent', () => {
  it('validates the versioned detail, naming every wrong field, and redacts free text', () => {
    expect(() => buildEvent('KeyStolen', { version: '2', secret: '', provider: 'moodle', environment: 'prod', severity: 'LOW' })).toThrow(
      /detail-type: must be one of .*version: .*secret: .*provider: .*environment: .*severity: .*summary: /,
    );
    const event = buildEvent('RotationFailed', {
      version: '1',
      secret: 's',
      provider: 'thought-industries',
      environment: 'production',
      severity: 'WARNING',
      summary: 'failed with Bearer ti_live_abcdefghijklmnop1234',
    });
    expect(event.detail.summary).not.toContain('ti_live_abcdefghijklmnop1234');
  });
});
