import { fingerprintTagValue } from '../../lambdas/core/fingerprint';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TAG } from '../../lambdas/core/contracts';
import { tiTags } from '../support/fixtures';
import { describeWithMoto, startMotoServer, type MotoServer } from '../support/moto-server';
import { makeThoughtIndustriesKey, startThoughtIndustriesSandbox, type ThoughtIndustriesSandbox } from '../support/sandboxes/thought-industries-sandbox';
import { createLedgerTable } from '../support/service/ledger-table';
import { createManagedSecret } from '../support/service/moto-rotation-service';

const BINARY = path.join(__dirname, '..', '..', 'bin', 'keyrotor.cjs');

interface Run {
  readonly status: number | null;
  readonly out: string;
  readonly err: string;
  readonly argv: readonly string[];
}

/**
 * The operator CLI as people run it: the real `bin/keyrotor.cjs` in its own Node process, with
 * the AWS SDK pointed at moto_server through the standard `AWS_ENDPOINT_URL` and the secret on
 * stdin — exit codes, `--json` shapes, and that no key is ever in argv or output.
 */
describeWithMoto('Integration: the keyrotor binary against moto_server', () => {
  let moto: MotoServer;
  let platform: ThoughtIndustriesSandbox;
  let sm: SecretsManagerClient;
  let key: string;
  let revoked: string;
  let secret: string;
  const runs: Run[] = [];

  function run(args: string[], stdin = ''): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BINARY, ...args], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ENDPOINT_URL: moto.endpoint,
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
          KEYROTOR_LEDGER_TABLE: 'keyrotor-ledger',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => (out += String(c)));
      child.stderr.on('data', (c) => (err += String(c)));
      child.on('error', reject);
      child.on('close', (status) => {
        const result = { status, out, err, argv: child.spawnargs };
        runs.push(result);
        resolve(result);
      });
      child.stdin.end(stdin);
    });
  }

  beforeAll(async () => {
    [moto, platform] = await Promise.all([startMotoServer(), startThoughtIndustriesSandbox()]);
    const aws = moto.clientConfig;
    sm = new SecretsManagerClient(aws);
    const dynamo = new DynamoDBClient(aws);
    const eventbridge = new EventBridgeClient(aws);
    await createLedgerTable(dynamo, 'keyrotor-ledger');
    await eventbridge.send(new CreateEventBusCommand({ Name: 'keyrotor' }));
    dynamo.destroy();
    eventbridge.destroy();
    key = makeThoughtIndustriesKey('production');
    revoked = makeThoughtIndustriesKey('production');
    platform.addKey(key);
    platform.addKey(revoked);
    platform.revokeKey(revoked);
    secret = `keyrotor/acme-prod-${randomUUID().slice(0, 8)}`;
    await createManagedSecret(sm, secret, JSON.stringify({ provider: 'thought-industries', environment: 'production', baseUrl: platform.baseUrl, apiKey: key }), tiTags('production', platform.baseUrl));
  }, 60_000);

  afterAll(async () => {
    sm?.destroy();
    await Promise.all([moto?.stop(), platform?.close()]);
    // Whatever the outcome, no run ever had a key in its argv or printed one.
    for (const { argv, out, err } of runs) {
      for (const value of [key, revoked]) {
        expect(argv.join(' ')).not.toContain(value);
        expect(out + err).not.toContain(value);
      }
    }
  });

  it('--help exits 0 and lists the commands; an unknown command exits 2', async () => {
    const help = await run(['--help']);
    expect(help.status).toBe(0);
    expect(help.out).toMatch(/status {15}every managed key/);
    const bogus = await run(['rotate-everything']);
    expect(bogus).toMatchObject({ status: 2, err: expect.stringContaining('unknown command "rotate-everything"') });
  });

  it('status --json lists the managed key with its fingerprint and exits 0; a secret awaiting its first key makes it exit 3', async () => {
    const fine = await run(['status', '--json']);
    expect(fine.status).toBe(0);
    expect(JSON.parse(fine.out)).toEqual({
      needsAttention: 0,
      secrets: [expect.objectContaining({ secret, provider: 'thought-industries', environment: 'production', fingerprint: expect.stringMatching(/^…/), attention: [] })],
    });
    await createManagedSecret(sm, `keyrotor/waiting-${randomUUID().slice(0, 8)}`, '{"keyrotor":"awaiting-first-key","bootstrap":"x"}', tiTags('production', platform.baseUrl));
    const attention = await run(['status', '--json']);
    expect(attention.status).toBe(3);
    expect(JSON.parse(attention.out)).toMatchObject({ needsAttention: 1 });
  });

  it('verify checks the current key live (exit 0), and a revoked key given on stdin answers invalid (exit 1)', async () => {
    expect(await run(['verify', secret])).toMatchObject({ status: 0, out: expect.stringMatching(/^valid: keyrotor\/acme-prod-\w+ key …/) });
    const invalid = await run(['verify', '--provider', 'thought-industries', '--base-url', platform.baseUrl, '--environment', 'production', '--json'], revoked);
    expect(invalid.status).toBe(1);
    expect(JSON.parse(invalid.out)).toMatchObject({ valid: false, errorName: 'ProviderAuthError' });
  });

  it('refuses a key in argv with exit 2, before touching AWS', async () => {
    const refused = await run(['submit', secret, 'ti_live_NOTAREALKEYnotareal0000000']);
    expect(refused.status).toBe(2);
    expect(refused.err).toContain('the key itself is read from stdin');
    expect(refused.err).not.toContain('ti_live_NOTAREALKEYnotareal0000000');
  });

  it('compromised --json marks the secret and records it; history --json shows it', async () => {
    const reported = await run(['compromised', secret, '--reason', 'pasted in a ticket', '--json']);
    expect(reported.status).toBe(0);
    const outcome = JSON.parse(reported.out) as { revocation: string; fingerprint: string };
    expect(outcome).toMatchObject({ ok: true, command: 'compromised', stage: 'AWSCURRENT', revocation: 'person-must-remove' });
    const tags = (await sm.send(new DescribeSecretCommand({ SecretId: secret }))).Tags ?? [];
    expect(tags).toContainEqual({ Key: TAG.compromised, Value: fingerprintTagValue(outcome.fingerprint) });
    expect(fingerprintTagValue(outcome.fingerprint)).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u); // what AWS accepts in a tag value
    const history = await run(['history', secret, '--json']);
    expect(history.status).toBe(0);
    expect(JSON.parse(history.out)).toMatchObject({ secret, events: [{ state: 'compromised', fingerprint: outcome.fingerprint }] });
  });

  it('a missing secret fails with exit 1 and says what to check', async () => {
    const missing = await run(['history', 'keyrotor/does-not-exist']);
    expect(missing.status).toBe(1);
    // (On Node 20 the AWS SDK adds its own Node-version warning above it.)
    expect(missing.err).toMatch(/^keyrotor: SecretStateError: secret keyrotor\/does-not-exist does not exist \(check the name, region and account\)$/m);
  });
});
