import { SecretsManagerInventory } from '../../lambdas/adapters/secrets-manager-inventory';
import { NO_EVENTS } from '../../lambdas/core/events';
import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLogger, loggerPort } from '../../lambdas/adapters/logger';
import { DynamoDbLedger } from '../../lambdas/adapters/dynamodb-ledger';
import { TAG } from '../../lambdas/core/contracts';
import { clearRegisteredSecrets } from '../../lambdas/core/redaction';
import { createRotateHandler } from '../../lambdas/handlers/rotate';
import { createProviderRegistry } from '../../lambdas/providers/registry';
import type { CliDeps } from '../../bin/cli/commands';
import { runCli } from '../support/cli-harness';
import { captureProcessOutput } from '../support/capture-output';
import { rotationFakes } from '../support/fixtures';
import { describeWithMoto, startMotoServer, type MotoServer } from '../support/moto-server';
import { makeThinkificToken, startThinkificSandbox, type ThinkificSandbox } from '../support/sandboxes/thinkific-sandbox';
import { makeThriveApiKey, startThriveSandbox, type ThriveSandbox } from '../support/sandboxes/thrive-sandbox';
import { createLedgerTable } from '../support/service/ledger-table';
import { createManagedSecret, MotoRotationService, type RotationHandler } from '../support/service/moto-rotation-service';

/**
 * The platforms where a person is in the loop, end to end through the real CLI and handlers
 * against moto_server and the sandboxes: Thrive (keyrotor creates the key with a person's
 * 60-minute admin token) and Thinkific (a person creates the token and its expiry date).
 */
describeWithMoto('Integration: person-assisted rotations (Thrive admin token, Thinkific expiry)', () => {
  let moto: MotoServer;
  let thrive: ThriveSandbox;
  let thinkific: ThinkificSandbox;
  let sm: SecretsManagerClient;
  let dynamo: DynamoDBClient;
  let service: MotoRotationService;
  let ledger: DynamoDbLedger;
  let output: string[];
  const providers = () => createProviderRegistry({ sleep: async () => undefined, baseBackoffMs: 1 });

  beforeAll(async () => {
    [moto, thrive, thinkific] = await Promise.all([startMotoServer(), startThriveSandbox(), startThinkificSandbox()]);
    const aws = moto.clientConfig;
    sm = new SecretsManagerClient(aws);
    dynamo = new DynamoDBClient(aws);
  });
  afterAll(async () => {
    sm?.destroy();
    dynamo?.destroy();
    await Promise.all([moto?.stop(), thrive?.close(), thinkific?.close()]);
  });
  beforeEach(async () => {
    await moto.reset();
    clearRegisteredSecrets();
    await createLedgerTable(dynamo, 'keyrotor-ledger');
    ledger = new DynamoDbLedger('keyrotor-ledger', dynamo);
    service = new MotoRotationService(sm);
    const logger = createLogger('keyrotor-rotate');
    service.handler = createRotateHandler(
      { store: service, providers: providers(), logger: loggerPort(logger), propagation: { attempts: 2, initialDelayMs: 1, sleep: async () => undefined }, now: () => new Date(), ...rotationFakes(), ledger },
      logger,
    ) as unknown as RotationHandler;
    output = captureProcessOutput();
  });
  afterEach(() => jest.restoreAllMocks());

  const cliDeps = (): CliDeps => ({ store: () => service, ledger: () => ledger, inventory: () => new SecretsManagerInventory(sm), events: () => NO_EVENTS, providers: providers(), propagation: { attempts: 2, initialDelayMs: 1, sleep: async () => undefined }, now: () => new Date() });
  const current = async (arn: string) =>
    JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }))).SecretString as string) as Record<string, string>;

  it('Thrive: keyrotor creates the key with the admin token, stores it, verifies it with Basic tenantId:apiKey and promotes it', async () => {
    // Prepare
    const oldKey = makeThriveApiKey();
    thrive.addApiKey(oldKey);
    const arn = await createManagedSecret(
      sm,
      `keyrotor/thrive-${randomUUID().slice(0, 8)}`,
      JSON.stringify({ provider: 'thrive', environment: 'sandbox', baseUrl: thrive.baseUrl, tenantsUrl: thrive.tenantsUrl, tenantId: thrive.tenantId, apiKey: oldKey }),
      { [TAG.provider]: 'thrive', [TAG.environment]: 'sandbox', [TAG.kind]: 'api-key', [TAG.baseUrl]: thrive.baseUrl },
    );
    const session = thrive.issueAdminToken();
    // Act: the person pastes the whole header value, "Bearer …"
    const result = await runCli(['submit', arn, '--admin-token', '--correlation-id', session.correlationId, '--json'], `Bearer ${session.token}\n`, cliDeps());
    // Assess
    expect(result.err).toBe('');
    expect(result.status).toBe(0);
    expect(service.failures).toEqual([]);
    const promoted = await current(arn);
    expect(promoted.apiKey).not.toBe(oldKey);
    expect(promoted.tenantId).toBe(thrive.tenantId);
    expect(Date.parse(promoted.expiresAt ?? '')).toBeGreaterThan(Date.now() + 300 * 86_400_000); // validUntil, a year ahead
    expect(thrive.generatedKeyCount).toBe(1);
    // The admin token was used once and appears nowhere
    for (const text of [result.out, result.err, output.join(''), JSON.stringify(await ledger.history(arn)), JSON.stringify(promoted)]) {
      expect(text).not.toContain(session.token);
    }
    expect(output.join('')).not.toContain(promoted.apiKey);
  });

  it('Thrive: an expired admin token is refused with what to do, and nothing is stored', async () => {
    const oldKey = makeThriveApiKey();
    thrive.addApiKey(oldKey);
    const arn = await createManagedSecret(
      sm,
      `keyrotor/thrive-${randomUUID().slice(0, 8)}`,
      JSON.stringify({ provider: 'thrive', environment: 'sandbox', baseUrl: thrive.baseUrl, tenantsUrl: thrive.tenantsUrl, tenantId: thrive.tenantId, apiKey: oldKey }),
      { [TAG.provider]: 'thrive', [TAG.environment]: 'sandbox', [TAG.kind]: 'api-key', [TAG.baseUrl]: thrive.baseUrl },
    );
    const session = thrive.issueAdminToken({ ttlMs: -1 });
    const result = await runCli(['submit', arn, '--admin-token', '--correlation-id', session.correlationId], session.token, cliDeps());
    expect(result.status).toBe(1);
    expect(result.err).toMatch(/60 minutes/);
    expect(result.err).not.toContain(session.token);
    expect((await current(arn)).apiKey).toBe(oldKey);
  });

  it('Thinkific: the expiry date chosen in the dashboard is stored as expiresAt; without it the hand-over is refused', async () => {
    // Prepare
    const oldToken = makeThinkificToken();
    const newToken = makeThinkificToken();
    thinkific.addToken(oldToken);
    thinkific.addToken(newToken, { expiresAt: '2027-12-31T23:59:59Z' });
    const arn = await createManagedSecret(
      sm,
      `keyrotor/thinkific-${randomUUID().slice(0, 8)}`,
      JSON.stringify({ provider: 'thinkific', environment: 'production', baseUrl: thinkific.baseUrl, apiKey: oldToken }),
      { [TAG.provider]: 'thinkific', [TAG.environment]: 'production', [TAG.kind]: 'api-key', [TAG.baseUrl]: thinkific.baseUrl },
    );
    // Act
    const refused = await runCli(['submit', arn], newToken, cliDeps());
    const accepted = await runCli(['submit', arn, '--expires-at', '2027-12-31'], newToken, cliDeps());
    // Assess
    expect(refused.status).toBe(1);
    expect(refused.err).toContain('--expires-at');
    expect(accepted.status).toBe(0);
    expect(await current(arn)).toMatchObject({ apiKey: newToken, expiresAt: '2027-12-31T23:59:59.999Z' });
    expect(`${refused.err}${accepted.out}${output.join('')}`).not.toContain(newToken);
  });
});
