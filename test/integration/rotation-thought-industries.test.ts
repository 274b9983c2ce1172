import { SecretsManagerInventory } from '../../lambdas/adapters/secrets-manager-inventory';
import { NO_EVENTS } from '../../lambdas/core/events';
import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { createLogger, loggerPort } from '../../lambdas/adapters/logger';
import { clearRegisteredSecrets } from '../../lambdas/core/redaction';
import { createRotateHandler } from '../../lambdas/handlers/rotate';
import { createProviderRegistry } from '../../lambdas/providers/registry';
import type { CliDeps } from '../../bin/cli/commands';
import { runCli } from '../support/cli-harness';
import { captureProcessOutput } from '../support/capture-output';
import { describeWithMoto, startMotoServer, type MotoServer } from '../support/moto-server';
import { makeThoughtIndustriesKey, startThoughtIndustriesSandbox, type ThoughtIndustriesSandbox } from '../support/sandboxes/thought-industries-sandbox';
import { createManagedSecret, MotoRotationService, type RotationHandler } from '../support/service/moto-rotation-service';
import { rotationFakes, tiTags } from '../support/fixtures';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger } from '../../lambdas/adapters/dynamodb-ledger';
import { createLedgerTable } from '../support/service/ledger-table';

/**
 * The four rotation steps with the real AWS SDK against moto_server, and a Thought Industries
 * sandbox over real HTTP. A person's key arrives through the real CLI code (`keyrotor submit`).
 */
describeWithMoto('Integration: Thought Industries rotation (moto_server + platform sandbox)', () => {
  let moto: MotoServer;
  let sandbox: ThoughtIndustriesSandbox;
  let client: SecretsManagerClient;
  let dynamo: DynamoDBClient;
  let ledger: DynamoDbLedger;
  let service: MotoRotationService;
  let logLines: string[];
  let oldKey: string;
  let secretArn: string;
  const providers = () => createProviderRegistry({ sleep: async () => undefined, baseBackoffMs: 1 });

  beforeAll(async () => {
    [moto, sandbox] = await Promise.all([startMotoServer(), startThoughtIndustriesSandbox()]);
    const aws = moto.clientConfig;
    client = new SecretsManagerClient(aws);
    dynamo = new DynamoDBClient(aws);
  });

  afterAll(async () => {
    client?.destroy();
    dynamo?.destroy();
    await Promise.all([moto?.stop(), sandbox?.close()]);
  });

  beforeEach(async () => {
    await moto.reset();
    clearRegisteredSecrets();
    await createLedgerTable(dynamo, 'keyrotor-ledger');
    ledger = new DynamoDbLedger('keyrotor-ledger', dynamo);
    logLines = captureProcessOutput();
    const logger = createLogger('keyrotor-rotate');
    service = new MotoRotationService(client);
    const handler = createRotateHandler(
      { store: service, providers: providers(), logger: loggerPort(logger), propagation: { attempts: 3, initialDelayMs: 1, sleep: async () => undefined }, now: () => new Date(), ...rotationFakes(), ledger },
      logger,
    );
    service.handler = handler as unknown as RotationHandler;
    oldKey = makeThoughtIndustriesKey('production');
    sandbox.addKey(oldKey);
    secretArn = await createManagedSecret(
      client,
      `keyrotor/acme-prod-${randomUUID().slice(0, 8)}`,
      JSON.stringify({ provider: 'thought-industries', environment: 'production', baseUrl: sandbox.baseUrl, apiKey: oldKey }),
      tiTags('production', sandbox.baseUrl),
    );
  });

  afterEach(() => jest.restoreAllMocks());

  async function current(): Promise<Record<string, unknown>> {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: 'AWSCURRENT' }));
    return JSON.parse(out.SecretString as string) as Record<string, unknown>;
  }

  async function submit(key: string): Promise<{ status: number; stdout: string; stderr: string }> {
    const deps: CliDeps = { store: () => service, ledger: () => ledger, inventory: () => new SecretsManagerInventory(client), events: () => NO_EVENTS, providers: providers(), propagation: { attempts: 2, initialDelayMs: 1, sleep: async () => undefined }, now: () => new Date() };
    const { status, out, err } = await runCli(['submit', secretArn, '--json'], `${key}
`, deps);
    return { status, stdout: out, stderr: err };
  }

  it('promotes a submitted key: AWSCURRENT holds it, the old key is AWSPREVIOUS', async () => {
    // Prepare: a person created a new key in the admin panel
    const newKey = makeThoughtIndustriesKey('production');
    sandbox.addKey(newKey);
    // Act
    const result = await submit(newKey);
    // Assess
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, command: 'submit', joinedRotation: false });
    expect(service.failures).toEqual([]);
    const value = await current();
    expect(value).toMatchObject({ provider: 'thought-industries', environment: 'production', apiKey: newKey });
    expect(value.fingerprint).toMatch(/^…[A-Za-z0-9]{4}#[0-9a-f]{8}$/);
    const previous = await client.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: 'AWSPREVIOUS' }));
    expect(JSON.parse(previous.SecretString as string).apiKey).toBe(oldKey);
    // The pending key was proven with a Bearer read under /incoming/v2/
    expect(sandbox.requests.filter((r) => r.path === '/incoming/v2/users' && r.status === 200).length).toBeGreaterThanOrEqual(2);
    // The ledger (DynamoDB) tells the story, and `keyrotor history` reads it
    const token = (JSON.parse(result.stdout) as { token: string }).token;
    expect((await ledger.history(secretArn)).map((e) => `${e.token === token ? 'T' : '?'}:${e.state}`)).toEqual(['T:stored-pending', 'T:tested', 'T:promoted']);
    const history = await runCli(['history', secretArn], '', { store: () => service, ledger: () => ledger, inventory: () => new SecretsManagerInventory(client), events: () => NO_EVENTS, providers: providers(), propagation: { attempts: 1, initialDelayMs: 1, sleep: async () => undefined }, now: () => new Date() });
    expect(history.status).toBe(0);
    expect(history.out).toContain('promoted');
    expect(history.out).not.toContain(newKey);
  });

  it('joins a scheduled rotation that is waiting for a person', async () => {
    // Prepare: the schedule fired and createSecret asked for a person
    const scheduled = await service.scheduledRotation(secretArn);
    expect(scheduled.ok).toBe(false);
    expect((service.failures[0] as Error).name).toBe('ManualActionRequiredError');
    expect((service.failures[0] as Error).message).toContain(`npx keyrotor submit ${(await client.send(new DescribeSecretCommand({ SecretId: secretArn }))).Name}`);
    const newKey = makeThoughtIndustriesKey('production');
    sandbox.addKey(newKey);
    // Act
    const result = await submit(newKey);
    // Assess: the key went into that rotation's own pending version
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ token: scheduled.token, joinedRotation: true });
    expect((await current()).apiKey).toBe(newKey);
    expect((await ledger.history(secretArn)).map((e) => e.state)).toEqual(['manual-action-required', 'stored-pending', 'tested', 'promoted']);
  });

  it('refuses a revoked key at submit and at testSecret: AWSCURRENT is unchanged', async () => {
    // Prepare
    const revoked = makeThoughtIndustriesKey('production');
    sandbox.addKey(revoked);
    sandbox.revokeKey(revoked);
    // Act
    const result = await submit(revoked);
    // Assess: the CLI refuses before storing anything
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid or expired API key.');
    expect((await current()).apiKey).toBe(oldKey);
    const described = await client.send(new DescribeSecretCommand({ SecretId: secretArn }));
    expect(Object.values(described.VersionIdsToStages ?? {}).flat()).not.toContain('AWSPENDING');

    // And a key that dies between submit and testSecret is never promoted
    const flaky = makeThoughtIndustriesKey('production');
    sandbox.addKey(flaky);
    const origStart = service.startRotation.bind(service);
    service.startRotation = async (id, token) => {
      sandbox.revokeKey(flaky);
      return origStart(id, token);
    };
    expect((await submit(flaky)).status).toBe(0);
    expect((service.failures[0] as Error).name).toBe('ProviderAuthError');
    expect((await current()).apiKey).toBe(oldKey);
  });

  it('refuses a sandbox (ti_test_) key for a production secret', async () => {
    const sandboxKey = makeThoughtIndustriesKey('sandbox');
    sandbox.addKey(sandboxKey);
    const result = await submit(sandboxKey);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/EnvironmentMismatchError: .*sandbox key \(ti_test_…\) but the secret is production/);
    expect((await current()).apiKey).toBe(oldKey);
  });

  it('treats a retried step as a no-op', async () => {
    // Prepare: a completed rotation
    const newKey = makeThoughtIndustriesKey('production');
    sandbox.addKey(newKey);
    const { stdout } = await submit(newKey);
    const { token } = JSON.parse(stdout) as { token: string };
    const before = (await client.send(new DescribeSecretCommand({ SecretId: secretArn }))).VersionIdsToStages;
    const platformCalls = sandbox.requests.length;
    // Act: Secrets Manager retries every step
    expect(await service.runSteps(secretArn, token)).toBe(true);
    // Assess
    const after = (await client.send(new DescribeSecretCommand({ SecretId: secretArn }))).VersionIdsToStages;
    expect(after).toEqual(before);
    expect(sandbox.requests.length).toBe(platformCalls);
    expect((await current()).apiKey).toBe(newKey);
  });

  it('honours 429 Retry-After from the platform during testSecret', async () => {
    const newKey = makeThoughtIndustriesKey('production');
    sandbox.addKey(newKey);
    const origStart = service.startRotation.bind(service);
    service.startRotation = async (id, token) => {
      sandbox.failNext(1, 429, 1);
      return origStart(id, token);
    };
    expect((await submit(newKey)).status).toBe(0);
    expect(service.failures).toEqual([]);
    expect(sandbox.requests.some((r) => r.status === 429)).toBe(true);
    expect((await current()).apiKey).toBe(newKey);
  });

  it('never writes a key to any captured log line', async () => {
    // Prepare: a success, a refusal at testSecret and a guard failure, all logged
    const newKey = makeThoughtIndustriesKey('production');
    const badKey = makeThoughtIndustriesKey('production');
    sandbox.addKey(newKey);
    sandbox.addKey(badKey);
    await submit(newKey);
    const origStart = service.startRotation.bind(service);
    service.startRotation = async (id, token) => {
      sandbox.revokeKey(badKey);
      return origStart(id, token);
    };
    await submit(badKey);
    await service.runSteps(secretArn, randomUUID());
    // Assess
    const captured = logLines.join('');
    expect(captured).toContain('rotation step complete'); // the handler's logs were captured
    expect(captured).toContain('ProviderAuthError');
    expect(captured).toContain('SecretStateError');
    for (const key of [oldKey, newKey, badKey]) expect(captured).not.toContain(key);
  });
});
