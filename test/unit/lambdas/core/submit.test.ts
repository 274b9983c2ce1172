import { submitKey, RotationStartError, type SubmitDeps } from '../../../../lambdas/core/submit';
import { runRotationStep } from '../../../../lambdas/core/rotation';
import { EnvironmentMismatchError, ProviderAuthError, SecretStateError, ValidationError } from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { createProviderRegistry } from '../../../../lambdas/providers/registry';
import { FakeAwsError, InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { stubThoughtIndustries, type StubbedPlatform } from '../../../support/fakes/platform-fetch';
import { captureLogger, NO_WAIT, rotationFakes, TI_LIVE_NEW, TI_LIVE_OLD, TI_TEST_KEY, tiTags, tiValue } from '../../../support/fixtures';

describe('Function: submitKey', () => {
  let store: InMemorySecretStore;
  let platform: StubbedPlatform;
  let deps: SubmitDeps;
  let arn: string;

  beforeEach(() => {
    clearRegisteredSecrets();
    store = new InMemorySecretStore();
    platform = stubThoughtIndustries([TI_LIVE_OLD, TI_LIVE_NEW]);
    const providers = createProviderRegistry({ fetch: platform.fetch, sleep: async () => undefined });
    const capture = captureLogger();
    const fakes = rotationFakes();
    deps = { store, providers, logger: capture.logger, propagation: NO_WAIT, now: () => new Date('2026-11-23T10:00:00Z'), newToken: () => 'tok-new' };
    // The service runs the real rotation steps when RotateSecret is called
    store.rotationFunction = (event) => runRotationStep(event, { ...deps, ...fakes, logger: capture.logger });
    arn = store.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
  });

  it('stores a verified key as AWSPENDING under a new version and starts the rotation, which promotes it', async () => {
    // Act
    const result = await submitKey('keyrotor/acme-prod', `${TI_LIVE_NEW}\n`, deps);
    // Assess
    expect(result).toMatchObject({ secretName: 'keyrotor/acme-prod', token: 'tok-new', joinedRotation: false });
    expect(result.fingerprint).toMatch(/^…0002#[0-9a-f]{8}$/);
    expect(result.previousFingerprint).toMatch(/^…0001#[0-9a-f]{8}$/);
    expect(store.rotationFailures).toEqual([]);
    const current = JSON.parse(store.valueAt(arn, 'AWSCURRENT') as string);
    expect(current).toMatchObject({ provider: 'thought-industries', environment: 'production', apiKey: TI_LIVE_NEW, issuedAt: '2026-11-23T10:00:00.000Z', fingerprint: result.fingerprint });
    expect(store.calls.map((c) => c.op)).toContain('RotateSecret');
  });

  it('puts the key into the pending version of a rotation that is waiting for it', async () => {
    // Prepare: the schedule opened a rotation whose createSecret asked for a person
    const waiting = store.openPendingVersion(arn);
    // Act
    const result = await submitKey(arn, TI_LIVE_NEW, deps);
    // Assess
    expect(result).toMatchObject({ token: waiting, joinedRotation: true });
    expect(JSON.parse(store.valueAt(arn, 'AWSCURRENT') as string).apiKey).toBe(TI_LIVE_NEW);
  });

  it('re-drives a waiting rotation that already holds this same key', async () => {
    const waiting = store.openPendingVersion(arn);
    store.rotationFunction = async () => {
      throw new Error('service hiccup');
    };
    await expect(submitKey(arn, TI_LIVE_NEW, deps)).resolves.toMatchObject({ token: waiting });
    store.rotationFunction = (event) => runRotationStep(event, { ...deps, ...rotationFakes() });
    // The same key again: the pending value is already there, so only the rotation is re-driven
    await expect(submitKey(arn, TI_LIVE_NEW, deps)).resolves.toMatchObject({ token: waiting, joinedRotation: true });
    expect(JSON.parse(store.valueAt(arn, 'AWSCURRENT') as string).apiKey).toBe(TI_LIVE_NEW);
  });

  it('refuses a key when a rotation in progress holds a different pending key, saying how to discard it', async () => {
    await store.putPendingValue(arn, 'tok-other', tiValue('ti_live_OTHERotherOTHER000000005'));
    const callsBefore = store.calls.length;
    const error = (await submitKey(arn, TI_LIVE_NEW, deps).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(SecretStateError);
    expect(error.message).toContain('--version-stage AWSPENDING --remove-from-version-id tok-other');
    expect(store.calls.slice(callsBefore).map((c) => c.op)).not.toContain('PutSecretValue');
    expect(JSON.parse(store.valueAt(arn, 'AWSPENDING') as string).apiKey).toBe('ti_live_OTHERotherOTHER000000005');
  });

  it('un-stages the version it created when Secrets Manager refuses to start the rotation', async () => {
    // Prepare
    store.failNext.set('RotateSecret', new FakeAwsError('LimitExceededException', 'Rate exceeded'));
    // Act
    const error = (await submitKey(arn, TI_LIVE_NEW, deps).catch((e: unknown) => e)) as Error;
    // Assess
    expect(error).toBeInstanceOf(RotationStartError);
    expect(error.message).toMatch(/refused to start the rotation .*LimitExceededException.*nothing changed/);
    expect(store.stagesOf(arn)['tok-new']).toEqual([]);
    expect(JSON.parse(store.valueAt(arn, 'AWSCURRENT') as string).apiKey).toBe(TI_LIVE_OLD);
    // And a later submit works
    deps = { ...deps, newToken: () => 'tok-2' };
    await expect(submitKey(arn, TI_LIVE_NEW, deps)).resolves.toMatchObject({ token: 'tok-2' });
  });

  it('says what to run when a rotation in progress cannot be re-driven', async () => {
    store.openPendingVersion(arn);
    store.failNext.set('RotateSecret', new FakeAwsError('InvalidRequestException', 'A previous rotation isn’t complete.'));
    await expect(submitKey(arn, TI_LIVE_NEW, deps)).rejects.toThrow(/stored as AWSPENDING .* Run: aws secretsmanager rotate-secret --secret-id keyrotor\/acme-prod --client-request-token /);
  });

  it('refuses a key the platform rejects before storing anything', async () => {
    const error = await submitKey(arn, 'ti_live_UNKNOWNunknown00000000', deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderAuthError);
    expect(store.calls.map((c) => c.op)).not.toContain('PutSecretValue');
  });

  it('refuses a sandbox key for a production secret without calling the platform', async () => {
    await expect(submitKey(arn, TI_TEST_KEY, deps)).rejects.toThrow(EnvironmentMismatchError);
    expect(platform.calls).toHaveLength(0);
  });

  it('refuses the key that is already current', async () => {
    await expect(submitKey(arn, TI_LIVE_OLD, deps)).rejects.toThrow(/is the key that is already current/);
  });

  it('refuses a malformed key without echoing it', async () => {
    const error = (await submitKey(arn, 'not a key at all', deps).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).not.toContain('not a key at all');
  });

  it('refuses a secret whose rotation is not enabled', async () => {
    store.setRotationEnabled(arn, false);
    await expect(submitKey(arn, TI_LIVE_NEW, deps)).rejects.toThrow(/does not have rotation enabled/);
  });

  it('hands over the first key of a freshly deployed (bootstrap) secret using its tags', async () => {
    const fresh = store.create('keyrotor/fresh', { value: '{"keyrotor":"awaiting-first-key","bootstrap":"Zx"}', tags: tiTags() });
    const result = await submitKey(fresh, TI_LIVE_NEW, deps);
    expect(result.previousFingerprint).toBeUndefined();
    expect(JSON.parse(store.valueAt(fresh, 'AWSCURRENT') as string)).toMatchObject({ apiKey: TI_LIVE_NEW, baseUrl: 'https://acme.thoughtindustries.com' });
  });
});
