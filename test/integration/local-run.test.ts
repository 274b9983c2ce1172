import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GetSecretValueCommand, ListSecretsCommand, ListSecretVersionIdsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { runLocal, type LocalRunSummary } from '../../bin/local';
import { clearRegisteredSecrets } from '../../lambdas/core/redaction';
import { describeWithMoto, type MotoServer } from '../support/moto-server';
import type * as MotoServerModule from '../support/moto-server';
import type * as ImburseSandboxModule from '../support/sandboxes/imburse-sandbox';
import type * as ThoughtIndustriesSandboxModule from '../support/sandboxes/thought-industries-sandbox';

const ROOT = join(__dirname, '..', '..');

// The run stops what it starts. To read back every key it stored, moto_server is kept alive until
// afterAll (its stop() is only counted), and the sandboxes' closes are counted too.
const mockStarted = { motoServers: [] as MotoServer[], motoStops: 0, sandboxes: 0, sandboxCloses: 0, handedKeys: [] as string[] };

jest.mock('../support/moto-server', () => {
  const actual = jest.requireActual<typeof MotoServerModule>('../support/moto-server');
  return {
    ...actual,
    startMotoServer: async () => {
      const server = await actual.startMotoServer();
      mockStarted.motoServers.push(server);
      return { ...server, stop: async () => void (mockStarted.motoStops += 1) };
    },
  };
});

jest.mock('../support/sandboxes/thought-industries-sandbox', () => {
  const actual = jest.requireActual<typeof ThoughtIndustriesSandboxModule>('../support/sandboxes/thought-industries-sandbox');
  return {
    ...actual,
    startThoughtIndustriesSandbox: async (...args: Parameters<typeof actual.startThoughtIndustriesSandbox>) => {
      const sandbox = await actual.startThoughtIndustriesSandbox(...args);
      mockStarted.sandboxes += 1;
      const addKey = sandbox.addKey.bind(sandbox);
      const close = sandbox.close.bind(sandbox);
      return Object.assign(sandbox, {
        addKey: (key: string, options?: { propagationFailures?: number }) => {
          mockStarted.handedKeys.push(key);
          addKey(key, options);
        },
        close: async () => {
          mockStarted.sandboxCloses += 1;
          await close();
        },
      });
    },
  };
});

jest.mock('../support/sandboxes/imburse-sandbox', () => {
  const actual = jest.requireActual<typeof ImburseSandboxModule>('../support/sandboxes/imburse-sandbox');
  return {
    ...actual,
    startImburseSandbox: async (...args: Parameters<typeof actual.startImburseSandbox>) => {
      const sandbox = await actual.startImburseSandbox(...args);
      mockStarted.sandboxes += 1;
      const addKey = sandbox.addKey.bind(sandbox);
      const close = sandbox.close.bind(sandbox);
      return Object.assign(sandbox, {
        addKey: (...addArgs: Parameters<typeof sandbox.addKey>) => {
          const key = addKey(...addArgs);
          mockStarted.handedKeys.push(key.privateKey);
          return key;
        },
        close: async () => {
          mockStarted.sandboxCloses += 1;
          await close();
        },
      });
    },
  };
});

/** Every credential string in every version of every secret the run left in moto (deprecated versions included). */
async function storedSecrets(endpoint: string): Promise<string[]> {
  const sm = new SecretsManagerClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const values: string[] = [];
  try {
    for (const secret of (await sm.send(new ListSecretsCommand({}))).SecretList ?? []) {
      const versions = await sm.send(new ListSecretVersionIdsCommand({ SecretId: secret.ARN, IncludeDeprecated: true }));
      for (const version of versions.Versions ?? []) {
        const { SecretString } = await sm.send(new GetSecretValueCommand({ SecretId: secret.ARN, VersionId: version.VersionId }));
        const value = JSON.parse(SecretString ?? '{}') as Record<string, unknown>;
        for (const field of ['apiKey', 'privateKey', 'accessToken', 'bootstrap']) if (typeof value[field] === 'string') values.push(value[field]);
      }
    }
  } finally {
    sm.destroy();
  }
  return values;
}

/** A timeline line: `HH:MM:SS.mmm  <actor, padded>  <text>`. */
function at(actor: string, text: RegExp): RegExp {
  return new RegExp(`^\\d{2}:\\d{2}:\\d{2}\\.\\d{3}  ${actor.padEnd(16)}  .*${text.source}`);
}

/** The index of each pattern's first match after the previous one's; -1 from the first that has none. */
function positionsInOrder(lines: readonly string[], patterns: readonly RegExp[]): number[] {
  const positions: number[] = [];
  let from = 0;
  for (const pattern of patterns) {
    const found = from < 0 ? -1 : lines.findIndex((line, index) => index >= from && pattern.test(line));
    positions.push(found);
    from = found < 0 ? -1 : found + 1;
  }
  return positions;
}

describeWithMoto('bin/local.ts: `npm run local` (moto_server + platform sandboxes)', () => {
  const lines: string[] = [];
  let summary: LocalRunSummary;
  let stored: string[];

  beforeAll(async () => {
    clearRegisteredSecrets();
    summary = await runLocal({ out: (line) => lines.push(line) });
    stored = await storedSecrets(mockStarted.motoServers[0]!.endpoint);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(mockStarted.motoServers.map((server) => server.stop()));
  });

  it('runs the four phases in order, each printed as timeline lines', () => {
    const phases: RegExp[] = [
      // 1. Thought Industries: a person hands a key over with keyrotor submit; the rotation promotes it
      at('person', /\$ npx keyrotor submit keyrotor\/acme-prod/),
      // (submit runs the rotation before it returns: Secrets Manager is played in-process)
      at('rotate λ', /finishSecret: moved AWSCURRENT to the new key/),
      at('keyrotor CLI', /submitted …\S{4}#[0-9a-f]{8} for keyrotor\/acme-prod: verified/),
      at('Secrets Manager', /keyrotor\/acme-prod: promoted …\S{4}#[0-9a-f]{8} to AWSCURRENT/),
      at('TI sandbox', /old key …\S{4}#[0-9a-f]{8} now answers 401/),
      // 2. Imburse: scheduled rotation, promoted, revocation scheduled, revoked after the grace period
      at('Secrets Manager', /rotation schedule of keyrotor\/payments-sandbox fires: scheduled rotation/),
      at('rotate λ', /createSecret: created a new key at the platform by API/),
      at('Secrets Manager', /keyrotor\/payments-sandbox: promoted/),
      at('Scheduler', /revoke-\S+ waits until \S+ to revoke old key/),
      at('local', /25 h pass on keyrotor's clock/),
      at('revoke λ', /old key …\S{4}#[0-9a-f]{8}: revoked$/),
      at('Imburse sandbox', /old key …\S{4}#[0-9a-f]{8} now answers 401/),
      // 3. Token renewal
      at('refresh λ', /token minted from keyrotor\/payments-sandbox's current key .* written to keyrotor\/payments-sandbox-token\/token/),
      // 4. Compromise: reported, rotation, the compromised key revoked at once
      at('security tool', /compromise reported: KeyCompromised for keyrotor\/payments-sandbox/),
      at('rotate λ', /createSecret: created a new key/),
      at('bus', /KeyRevoked \[WARNING\] the compromised key …\S{4}#[0-9a-f]{8} of keyrotor\/payments-sandbox was revoked the moment/),
      at('Imburse sandbox', /compromised key …\S{4}#[0-9a-f]{8} now answers 401/),
      at('Scheduler', /no revocation left waiting/),
      // Then the summary, and everything stopped
      /^── Summary ──$/,
      at('local', /stopped moto_server and the sandboxes$/),
    ];
    const positions = positionsInOrder(lines, phases);
    expect(phases.find((_, index) => positions[index] === -1)).toBeUndefined();
    for (const line of lines.filter((l) => /^\d/.test(l))) expect(line).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} {2}\S.{15} {2}\S/);
  });

  it('prints the alerts a person would get, a CRITICAL one for the compromise', () => {
    const critical = at('notifier', /alert: \[CRITICAL\] keyrotor: key compromised - keyrotor\/payments-sandbox$/);
    expect(positionsInOrder(lines, [at('security tool', /compromise reported/), critical])).not.toContain(-1);
    expect(summary.alerts).toEqual(
      expect.arrayContaining([
        { severity: 'CRITICAL', subject: '[CRITICAL] keyrotor: key compromised - keyrotor/payments-sandbox' },
        { severity: 'WARNING', subject: '[WARNING] keyrotor: action required: remove the old key - keyrotor/acme-prod' },
      ]),
    );
    expect(summary.events.map((e) => e.type)).toEqual(expect.arrayContaining(['RotationSucceeded', 'KeyRevoked', 'TokenRefreshed', 'KeyCompromised']));
  });

  it('ends with each secret\'s current fingerprint and its ledger', () => {
    expect(summary.secrets.map((s) => [s.name, s.kind])).toEqual([
      ['keyrotor/acme-prod', 'api-key'],
      ['keyrotor/payments-sandbox', 'api-key'],
      ['keyrotor/payments-sandbox-token/token', 'token'],
    ]);
    for (const secret of summary.secrets) expect(secret.fingerprint).toMatch(/^…\S{4}#[0-9a-f]{8}$/);
    expect(summary.secrets[0]!.ledger.map((e) => e.state)).toEqual(['stored-pending', 'tested', 'promoted']);
    expect(summary.secrets[1]!.ledger.map((e) => e.state)).toEqual([
      ...['intent', 'stored-pending', 'tested', 'promoted', 'revocation-scheduled', 'revoked'],
      ...['compromised', 'intent', 'stored-pending', 'tested', 'promoted', 'revoked'],
    ]);
    expect(lines).toContain(`keyrotor/payments-sandbox  (imburse, sandbox, api-key)  AWSCURRENT ${summary.secrets[1]!.fingerprint}`);
  });

  it('prints no key, private key or token, not even redacted', () => {
    // Prepare: every key the run handed to a platform and every credential it stored, in any version
    const keys = [...new Set([...mockStarted.handedKeys, ...stored])];
    expect(mockStarted.handedKeys).toHaveLength(3); // two Thought Industries keys, the first Imburse key
    expect(stored.length).toBeGreaterThanOrEqual(8); // + the Imburse keys made by API, the access token, the bootstrap value
    // Assess
    const printed = lines.join('\n') + JSON.stringify(summary);
    for (const key of keys) expect(printed).not.toContain(key);
    expect(printed).not.toContain('[REDACTED]');
    expect(printed).not.toMatch(/ti_(live|test)_/);
  });

  it('stops moto_server and both sandboxes it started', () => {
    expect(mockStarted).toMatchObject({ motoStops: 1, sandboxes: 2, sandboxCloses: 2 });
  });
});

describe('bin/local.ts without moto_server', () => {
  // A PATH with node and nothing from Python: moto_server cannot be found there (unless it sits next to node).
  const nodeOnly = dirname(process.execPath);
  const runnable = !existsSync(join(nodeOnly, 'moto_server'));

  (runnable ? it : it.skip)('says how to install it and exits 1, without a stack trace', () => {
    const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bin/local.ts'], {
      cwd: ROOT,
      env: { ...process.env, PATH: nodeOnly },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('moto_server not found: pip install "moto[server]"');
    expect(result.stderr).toContain('looks for an executable `moto_server` on PATH');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
