import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createLogger, loggerPort } from '../../lambdas/adapters/logger';
import { SecretsManagerTokenStore } from '../../lambdas/adapters/secrets-manager-token-store';
import { clearRegisteredSecrets } from '../../lambdas/core/redaction';
import { DEFAULT_REFRESH_POLICY } from '../../lambdas/core/token-refresh';
import { readRefreshEnvironment } from '../../lambdas/handlers/config';
import { createRefreshHandler } from '../../lambdas/handlers/refresh-tokens';
import { createTokenMinter } from '../../lambdas/providers/token-minters';
import { captureProcessOutput } from '../support/capture-output';
import { CapturingMetrics, CapturingNotifier } from '../support/fakes/in-memory-token-store';
import { describeWithMoto, startMotoServer, type MotoServer } from '../support/moto-server';
import { startOAuthTokenSandbox, type OAuthTokenSandbox } from '../support/sandboxes/oauth-token-sandbox';
import { LAMBDA_CONTEXT } from '../support/service/moto-rotation-service';

/** The refresher's handler with the real Secrets Manager adapter (moto_server) and a real OAuth endpoint (sandbox). */
describeWithMoto('Handler: refresh-tokens (against moto_server and an OAuth sandbox)', () => {
  let moto: MotoServer;
  let oauth: OAuthTokenSandbox;
  let sm: SecretsManagerClient;

  beforeAll(async () => {
    [moto, oauth] = await Promise.all([startMotoServer(), startOAuthTokenSandbox()]);
    sm = new SecretsManagerClient({ endpoint: moto.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    oauth.addClient({ clientId: 'client-1', clientSecret: 'oauth-client-secret-0001', scopes: ['api/read'] });
  });
  afterAll(async () => {
    sm?.destroy();
    await Promise.all([moto?.stop(), oauth?.close()]);
  });
  beforeEach(async () => {
    await moto.reset();
    clearRegisteredSecrets();
  });
  afterEach(() => jest.restoreAllMocks());

  const tags = (extra: Record<string, string>) => Object.entries(extra).map(([Key, Value]) => ({ Key, Value }));

  it('mints into the token secret from its tags, then leaves a fresh token alone; no secret in any log line', async () => {
    // Prepare: what cdk deploy creates, and the client a person put in
    await sm.send(new CreateSecretCommand({ Name: 'keyrotor/thrive-api/client', SecretString: JSON.stringify({ clientId: 'client-1', clientSecret: 'oauth-client-secret-0001' }) }));
    const { ARN } = await sm.send(
      new CreateSecretCommand({
        Name: 'keyrotor/thrive-api/token',
        SecretString: '{"keyrotor":"awaiting-first-key","bootstrap":"x"}',
        Tags: tags({
          'keyrotor:kind': 'token',
          'keyrotor:provider': 'thrive',
          'keyrotor:environment': 'production',
          'keyrotor:token-grant': 'client-credentials',
          'keyrotor:token-source': 'keyrotor/thrive-api/client',
          'keyrotor:token-url': oauth.tokenUrl,
          'keyrotor:token-scopes': 'api/read',
        }),
      }),
    );
    const output = captureProcessOutput();
    const notifier = new CapturingNotifier();
    const logger = createLogger('keyrotor-refresh-tokens');
    const handler = createRefreshHandler(
      {
        store: new SecretsManagerTokenStore(sm),
        minter: createTokenMinter({ sleep: async () => undefined }),
        notifier,
        metrics: new CapturingMetrics(),
        logger: loggerPort(logger),
        policy: DEFAULT_REFRESH_POLICY,
        now: () => new Date(),
      },
      logger,
    );
    // Act
    const first = await handler({}, LAMBDA_CONTEXT);
    const second = await handler({}, LAMBDA_CONTEXT);
    // Assess
    expect(first).toEqual({ renewed: ['keyrotor/thrive-api/token'], fresh: [], failed: [] });
    expect(second).toEqual({ renewed: [], fresh: ['keyrotor/thrive-api/token'], failed: [] });
    const token = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: ARN, VersionStage: 'AWSCURRENT' }))).SecretString as string);
    expect(token).toMatchObject({ tokenType: 'Bearer' });
    expect(oauth.validateToken(token.accessToken)).toBe(true);
    expect(notifier.alerts).toEqual([]);
    const logs = output.join('');
    expect(logs).toContain('token renewed');
    for (const secret of ['oauth-client-secret-0001', token.accessToken]) expect(logs).not.toContain(secret);
    expect((await sm.send(new DescribeSecretCommand({ SecretId: ARN }))).Tags).not.toEqual(expect.arrayContaining([expect.objectContaining({ Key: 'keyrotor:refresh-state' })]));
  });

  it('reads and validates its environment once (names only, no secrets)', () => {
    expect(() => readRefreshEnvironment({})).toThrow(/KEYROTOR_ALERTS_TOPIC_ARN: .*KEYROTOR_REFRESH_RATE_MINUTES: /s);
    expect(
      readRefreshEnvironment({
        KEYROTOR_ALERTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
        KEYROTOR_REFRESH_RATE_MINUTES: '5',
        KEYROTOR_RENEW_AT_FRACTION: '0.75',
        KEYROTOR_RENEW_JITTER_FRACTION: '0.05',
        KEYROTOR_REFRESH_CONCURRENCY: '4',
      }),
    ).toMatchObject({ KEYROTOR_REFRESH_RATE_MINUTES: 5, KEYROTOR_RENEW_JITTER_FRACTION: 0.05 });
  });
});
