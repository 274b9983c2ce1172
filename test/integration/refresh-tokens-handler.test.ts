import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgePublisher } from '../../lambdas/adapters/eventbridge-publisher';
import { createLogger, loggerPort } from '../../lambdas/adapters/logger';
import { SecretsManagerTokenStore } from '../../lambdas/adapters/secrets-manager-token-store';
import { notify, type NotifyResult } from '../../lambdas/core/notify';
import { clearRegisteredSecrets } from '../../lambdas/core/redaction';
import { DEFAULT_REFRESH_POLICY, type RefreshDeps } from '../../lambdas/core/token-refresh';
import { readRefreshEnvironment } from '../../lambdas/handlers/config';
import { createRefreshHandler } from '../../lambdas/handlers/refresh-tokens';
import { SILENT_LOGGER } from '../../lambdas/ports/logger';
import type { Alert } from '../../lambdas/ports/notifier';
import { createTokenMinter } from '../../lambdas/providers/token-minters';
import { captureProcessOutput } from '../support/capture-output';
import { InMemoryAlertDeduper } from '../support/fakes/in-memory-alert-deduper';
import { CapturingMetrics } from '../support/fakes/in-memory-token-store';
import { describeWithMoto, startMotoServer, type MotoServer } from '../support/moto-server';
import { startOAuthTokenSandbox, type OAuthTokenSandbox } from '../support/sandboxes/oauth-token-sandbox';
import { LAMBDA_CONTEXT } from '../support/service/moto-rotation-service';

const BUS = 'keyrotor';

/**
 * The refresher's handler with the real Secrets Manager and EventBridge adapters (moto_server) and
 * a real OAuth endpoint (sandbox). A rule on keyrotor's bus copies every event to a queue, and each
 * one read back goes through the real notifier (in-memory deduper), as the notifier Lambda would.
 */
describeWithMoto('Handler: refresh-tokens (against moto_server and an OAuth sandbox)', () => {
  let moto: MotoServer;
  let oauth: OAuthTokenSandbox;
  let sm: SecretsManagerClient;
  let eventBridge: EventBridgeClient;
  let sqs: SQSClient;
  let queueUrl: string;

  beforeAll(async () => {
    [moto, oauth] = await Promise.all([startMotoServer(), startOAuthTokenSandbox()]);
    const config = moto.clientConfig;
    sm = new SecretsManagerClient(config);
    eventBridge = new EventBridgeClient(config);
    sqs = new SQSClient(config);
    oauth.addClient({ clientId: 'client-1', clientSecret: 'oauth-client-secret-0001', scopes: ['api/read'] });
  });
  afterAll(async () => {
    for (const client of [sm, eventBridge, sqs]) client?.destroy();
    await Promise.all([moto?.stop(), oauth?.close()]);
  });
  beforeEach(async () => {
    await moto.reset();
    clearRegisteredSecrets();
    // keyrotor's bus, and a rule that copies its events to a queue the test reads
    await eventBridge.send(new CreateEventBusCommand({ Name: BUS }));
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'keyrotor-events' }))).QueueUrl as string;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    await eventBridge.send(new PutRuleCommand({ Name: 'all-keyrotor-events', EventBusName: BUS, EventPattern: JSON.stringify({ source: ['keyrotor'] }) }));
    await eventBridge.send(new PutTargetsCommand({ Rule: 'all-keyrotor-events', EventBusName: BUS, Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }] }));
  });
  afterEach(() => jest.restoreAllMocks());

  const tags = (extra: Record<string, string>) => Object.entries(extra).map(([Key, Value]) => ({ Key, Value }));

  /** Every event the rule delivered so far, as EventBridge hands it to a target. */
  async function delivered(): Promise<Record<string, unknown>[]> {
    const events: Record<string, unknown>[] = [];
    for (;;) {
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!Messages || Messages.length === 0) return events;
      events.push(...Messages.map((m) => JSON.parse(m.Body as string) as Record<string, unknown>));
    }
  }

  /** The refresher handler as deployed, but with clients pointed at moto_server. */
  function refresher(overrides: Partial<RefreshDeps> = {}) {
    const logger = createLogger('keyrotor-refresh-tokens');
    return createRefreshHandler(
      {
        store: new SecretsManagerTokenStore(sm),
        minter: createTokenMinter({ sleep: async () => undefined }),
        events: new EventBridgePublisher(BUS, eventBridge),
        metrics: new CapturingMetrics(),
        logger: loggerPort(logger),
        policy: DEFAULT_REFRESH_POLICY,
        now: () => new Date(),
        ...overrides,
      },
      logger,
    );
  }

  async function createTokenSecrets(clientSecret: string): Promise<string> {
    // Tagged as the stack tags it: the refresher's listing shows its AWSCURRENT version by that tag.
    await sm.send(
      new CreateSecretCommand({
        Name: 'keyrotor/thrive-api/client',
        SecretString: JSON.stringify({ clientId: 'client-1', clientSecret }),
        Tags: tags({ 'keyrotor:kind': 'oauth-client', 'keyrotor:provider': 'thrive', 'keyrotor:environment': 'production' }),
      }),
    );
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
    return ARN as string;
  }

  it('mints into the token secret from its tags, publishes TokenRefreshed on the bus (no alert), then leaves a fresh token alone; no secret in any log line or event', async () => {
    // Prepare: what cdk deploy creates, and the client a person put in
    const arn = await createTokenSecrets('oauth-client-secret-0001');
    const output = captureProcessOutput();
    const handler = refresher();
    // Act
    const first = await handler({}, LAMBDA_CONTEXT);
    const second = await handler({}, LAMBDA_CONTEXT);
    // Assess
    expect(first).toEqual({ renewed: ['keyrotor/thrive-api/token'], fresh: [], failed: [] });
    expect(second).toEqual({ renewed: [], fresh: ['keyrotor/thrive-api/token'], failed: [] });
    const token = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }))).SecretString as string);
    expect(token).toMatchObject({ tokenType: 'Bearer' });
    expect(oauth.validateToken(token.accessToken)).toBe(true);
    const events = await delivered();
    expect(events).toEqual([
      expect.objectContaining({
        source: 'keyrotor',
        'detail-type': 'TokenRefreshed',
        detail: expect.objectContaining({ secret: 'keyrotor/thrive-api/token', provider: 'thrive', environment: 'production', severity: 'INFO', expiresAt: token.expiresAt }),
      }),
    ]);
    const { alerts, results } = await throughNotifier(events);
    expect(results.map((r) => r.outcome)).toEqual(['no-alert']);
    expect(alerts).toEqual([]);
    const logs = output.join('');
    expect(logs).toContain('token renewed');
    for (const secret of ['oauth-client-secret-0001', token.accessToken]) {
      expect(logs).not.toContain(secret);
      expect(JSON.stringify(events)).not.toContain(secret);
    }
    expect((await sm.send(new DescribeSecretCommand({ SecretId: arn }))).Tags).not.toEqual(expect.arrayContaining([expect.objectContaining({ Key: 'keyrotor:refresh-state' })]));
  });

  it('publishes a rejected client as TokenRefreshFailed once, records the state, and publishes the recovery; the notifier alerts for each, never with a secret', async () => {
    // Prepare: a client secret the platform rejects
    const arn = await createTokenSecrets('oauth-client-secret-WRONG');
    const output = captureProcessOutput();
    const handler = refresher();
    // Act: two failing runs
    const failed = await handler({}, LAMBDA_CONTEXT);
    await handler({}, LAMBDA_CONTEXT);
    // Assess
    expect(failed.failed).toEqual([{ secret: 'keyrotor/thrive-api/token', errorName: 'RenewalFailed' }]);
    const failures = await delivered();
    expect(failures.map((e) => [e['detail-type'], (e.detail as { severity: string }).severity])).toEqual([['TokenRefreshFailed', 'CRITICAL']]);
    expect((await sm.send(new DescribeSecretCommand({ SecretId: arn }))).Tags).toContainEqual({ Key: 'keyrotor:refresh-state', Value: 'expired' });
    // Act: a person fixes the client
    await sm.send(new PutSecretValueCommand({ SecretId: 'keyrotor/thrive-api/client', SecretString: JSON.stringify({ clientId: 'client-1', clientSecret: 'oauth-client-secret-0001' }) }));
    const recovered = await handler({}, LAMBDA_CONTEXT);
    // Assess
    expect(recovered.renewed).toEqual(['keyrotor/thrive-api/token']);
    const recovery = await delivered();
    expect(recovery.map((e) => [e['detail-type'], (e.detail as { severity: string }).severity])).toEqual([['TokenRefreshed', 'WARNING']]);
    expect((await sm.send(new DescribeSecretCommand({ SecretId: arn }))).Tags).toContainEqual({ Key: 'keyrotor:refresh-state', Value: 'ok' });
    const { alerts } = await throughNotifier([...failures, ...recovery]);
    expect(alerts.map((a) => a.subject)).toEqual([
      '[CRITICAL] keyrotor: token renewal failing - keyrotor/thrive-api/token',
      '[WARNING] keyrotor: token renewed - keyrotor/thrive-api/token',
    ]);
    expect(alerts[0]?.body).toContain('Check the source secret keyrotor/thrive-api/client');
    const token = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }))).SecretString as string) as { accessToken: string };
    for (const text of [output.join(''), JSON.stringify([...failures, ...recovery]), JSON.stringify(alerts)]) {
      for (const secret of ['oauth-client-secret-WRONG', 'oauth-client-secret-0001', token.accessToken]) expect(text).not.toContain(secret);
    }
  });

  it('renews a young token on the next run after its source got a new AWSCURRENT version, says why, and then leaves it alone', async () => {
    // Prepare: a token minted from the first client
    const arn = await createTokenSecrets('oauth-client-secret-0001');
    const output = captureProcessOutput();
    const handler = refresher();
    await handler({}, LAMBDA_CONTEXT);
    const currentOf = async (secretId: string) => sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }));
    const first = JSON.parse((await currentOf(arn)).SecretString as string) as { accessToken: string; sourceVersionId?: string };
    expect(first.sourceVersionId).toBe((await currentOf('keyrotor/thrive-api/client')).VersionId);
    expect((await handler({}, LAMBDA_CONTEXT)).fresh).toEqual(['keyrotor/thrive-api/token']);
    await delivered();
    // Act: a person replaces the client (the old one is revoked at the platform, as after a compromise)
    oauth.addClient({ clientId: 'client-2', clientSecret: 'oauth-client-secret-0002', scopes: ['api/read'] });
    oauth.revokeClient('client-1');
    const { VersionId: replaced } = await sm.send(
      new PutSecretValueCommand({ SecretId: 'keyrotor/thrive-api/client', SecretString: JSON.stringify({ clientId: 'client-2', clientSecret: 'oauth-client-secret-0002' }) }),
    );
    const renewed = await handler({}, LAMBDA_CONTEXT);
    const after = await handler({}, LAMBDA_CONTEXT);
    // Assess
    expect(renewed).toEqual({ renewed: ['keyrotor/thrive-api/token'], fresh: [], failed: [] });
    expect(after).toEqual({ renewed: [], fresh: ['keyrotor/thrive-api/token'], failed: [] });
    const token = JSON.parse((await currentOf(arn)).SecretString as string) as { accessToken: string; sourceVersionId?: string };
    expect(token.sourceVersionId).toBe(replaced);
    expect(token.accessToken).not.toBe(first.accessToken);
    expect(oauth.issued().at(-1)).toMatchObject({ clientId: 'client-2', accessToken: token.accessToken });
    const events = await delivered();
    expect(events).toEqual([
      expect.objectContaining({
        'detail-type': 'TokenRefreshed',
        detail: expect.objectContaining({ severity: 'INFO', summary: expect.stringContaining('because its source key was replaced (keyrotor/thrive-api/client has a new current version)') }),
      }),
    ]);
    const logs = output.join('');
    expect(logs).toContain('"reason":"source-replaced"');
    for (const secret of ['oauth-client-secret-0001', 'oauth-client-secret-0002', first.accessToken, token.accessToken]) expect(logs + JSON.stringify(events)).not.toContain(secret);
  });

  it('reads and validates its environment once (names only, no secrets)', () => {
    expect(() => readRefreshEnvironment({})).toThrow(/KEYROTOR_EVENT_BUS: .*KEYROTOR_REFRESH_RATE_MINUTES: /s);
    expect(() => readRefreshEnvironment({})).not.toThrow(/KEYROTOR_ALERTS_TOPIC_ARN/);
    expect(
      readRefreshEnvironment({
        KEYROTOR_EVENT_BUS: 'keyrotor',
        KEYROTOR_REFRESH_RATE_MINUTES: '5',
        KEYROTOR_RENEW_AT_FRACTION: '0.75',
        KEYROTOR_RENEW_JITTER_FRACTION: '0.05',
        KEYROTOR_REFRESH_CONCURRENCY: '4',
      }),
    ).toMatchObject({ KEYROTOR_EVENT_BUS: 'keyrotor', KEYROTOR_REFRESH_RATE_MINUTES: 5, KEYROTOR_RENEW_JITTER_FRACTION: 0.05 });
  });
});

/** Hands delivered events to the real notifier, in order, with one in-memory deduper. */
async function throughNotifier(events: readonly Record<string, unknown>[]): Promise<{ alerts: Alert[]; results: NotifyResult[] }> {
  const alerts: Alert[] = [];
  const deduper = new InMemoryAlertDeduper();
  const results: NotifyResult[] = [];
  for (const event of events) results.push(await notify(event, { notifier: { notify: async (alert) => void alerts.push(alert) }, deduper, logger: SILENT_LOGGER }));
  return { alerts, results };
}
