import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { createLogger, loggerPort } from '../../../../lambdas/adapters/logger';
import { SecretsManagerStore } from '../../../../lambdas/adapters/secrets-manager-store';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { createRotateHandler, parseRotationEvent } from '../../../../lambdas/handlers/rotate';
import { createProviderRegistry } from '../../../../lambdas/providers/registry';
import { stubThoughtIndustries } from '../../../support/fakes/platform-fetch';
import { NO_WAIT, rotationFakes, TI_LIVE_NEW, TI_LIVE_OLD, tiTags, tiValue } from '../../../support/fixtures';
import { LAMBDA_CONTEXT } from '../../../support/service/moto-rotation-service';
import { captureProcessOutput } from '../../../support/capture-output';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyrotor/acme-prod-AbCdEf';

describe('Handler: rotate', () => {
  const sm = mockClient(SecretsManagerClient);
  let output: string[];

  beforeEach(() => {
    sm.reset();
    clearRegisteredSecrets();
    output = captureProcessOutput();
    sm.on(DescribeSecretCommand).resolves({
      ARN,
      Name: 'keyrotor/acme-prod',
      RotationEnabled: true,
      VersionIdsToStages: { 'v-old': ['AWSCURRENT'], 'tok-1': ['AWSPENDING'] },
      Tags: Object.entries(tiTags()).map(([Key, Value]) => ({ Key, Value })),
    });
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSCURRENT' }).resolves({ SecretString: tiValue(TI_LIVE_OLD) });
  });

  afterEach(() => jest.restoreAllMocks());

  function build(validKeys: string[] = [TI_LIVE_OLD, TI_LIVE_NEW]) {
    const logger = createLogger('keyrotor-rotate');
    const platform = stubThoughtIndustries(validKeys);
    const handler = createRotateHandler(
      {
        store: new SecretsManagerStore(new SecretsManagerClient({})),
        providers: createProviderRegistry({ fetch: platform.fetch, sleep: async () => undefined }),
        logger: loggerPort(logger),
        propagation: NO_WAIT,
        now: () => new Date('2026-11-23T00:00:00Z'),
        ...rotationFakes(),
      },
      logger,
    );
    return { handler, platform };
  }

  const invoke = (handler: ReturnType<typeof build>['handler'], event: unknown) => handler(event, LAMBDA_CONTEXT);

  it('runs finishSecret: moves AWSCURRENT to the token and removes it from the old version', async () => {
    // Prepare
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionId: 'tok-1', VersionStage: 'AWSPENDING' }).resolves({ SecretString: tiValue(TI_LIVE_NEW) });
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    const { handler } = build();
    // Act
    await invoke(handler, { SecretId: ARN, ClientRequestToken: 'tok-1', Step: 'finishSecret' });
    // Assess
    expect(sm).toHaveReceivedCommandWith(UpdateSecretVersionStageCommand, {
      SecretId: ARN,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: 'tok-1',
      RemoveFromVersionId: 'v-old',
    });
    const lines = output.filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.message === 'rotation step complete' && l.outcome === 'promoted' && l.step === 'finishSecret')).toBe(true);
  });

  it('puts the rotation token on every line in the clear: it is a version id, and the alert names it for the search', async () => {
    // Prepare
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionId: 'tok-1', VersionStage: 'AWSPENDING' }).resolves({ SecretString: tiValue(TI_LIVE_NEW) });
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    const { handler } = build();
    // Act
    await invoke(handler, { SecretId: ARN, ClientRequestToken: 'tok-1', Step: 'finishSecret' });
    // Assess
    const lines = output.filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line).toMatchObject({ clientRequestToken: 'tok-1' });
    expect(output.join('')).not.toContain('[REDACTED]');
  });

  it('fails createSecret with ManualActionRequired, logs it once as structured JSON, and leaks no key', async () => {
    // Prepare: no submitted key in the pending version
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionId: 'tok-1', VersionStage: 'AWSPENDING' }).rejects(
      new ResourceNotFoundException({ message: 'not found', $metadata: {} }),
    );
    const { handler } = build();
    // Act
    await expect(invoke(handler, { SecretId: ARN, ClientRequestToken: 'tok-1', Step: 'createSecret' })).rejects.toMatchObject({
      name: 'ManualActionRequiredError',
    });
    // Assess
    const failures = output.filter((l) => l.includes('invocation failed')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ level: 'ERROR', errorName: 'ManualActionRequiredError', expected: true, secretId: ARN, step: 'createSecret' });
    expect(String(failures[0]?.errorMessage)).toContain('npx keyrotor submit keyrotor/acme-prod');
    expect(output.join('')).not.toContain(TI_LIVE_OLD);
  });

  it('redacts a key that a careless log call would print', async () => {
    const logger = createLogger('t');
    logger.info('oops', { apiKey: TI_LIVE_NEW, nested: { note: `key is ${TI_LIVE_NEW}` }, headers: { authorization: `Bearer ${TI_LIVE_NEW}` } });
    const text = output.join('');
    expect(text).toContain('[REDACTED]');
    expect(text).not.toContain(TI_LIVE_NEW);
  });

  it('rejects a malformed event naming the field', async () => {
    const { handler } = build();
    await expect(invoke(handler, { SecretId: ARN, ClientRequestToken: 'tok-1', Step: 'dropSecret' })).rejects.toThrow(/rotation event is invalid: Step: /);
    expect(sm).not.toHaveReceivedAnyCommand();
  });

  describe('Function: parseRotationEvent', () => {
    it('returns the three fields Secrets Manager sends', () => {
      expect(parseRotationEvent({ SecretId: 'a', ClientRequestToken: 'b', Step: 'testSecret', RotationToken: 'x' })).toEqual({
        SecretId: 'a',
        ClientRequestToken: 'b',
        Step: 'testSecret',
      });
    });
    it('names every missing field', () => {
      expect(() => parseRotationEvent({})).toThrow(/SecretId: .*; ClientRequestToken: .*; Step: /);
    });
  });
});
