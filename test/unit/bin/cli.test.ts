import { NO_EVENTS } from '../../../lambdas/core/events';
import type { CliDeps } from '../../../bin/cli/commands';
import { runCli } from '../../support/cli-harness';
import { clearRegisteredSecrets } from '../../../lambdas/core/redaction';
import { createProviderRegistry } from '../../../lambdas/providers/registry';
import { InMemorySecretStore } from '../../support/fakes/in-memory-secret-store';
import { InMemoryLedger } from '../../support/fakes/in-memory-ledger';
import { CapturingEvents } from '../../support/fakes/capturing-events';
import { InMemorySecretInventory } from '../../support/fakes/in-memory-secret-inventory';
import { stubThoughtIndustries, type StubbedPlatform } from '../../support/fakes/platform-fetch';
import { BASE_URL, NO_WAIT, TI_LIVE_NEW, TI_LIVE_OLD, TI_TEST_KEY, tiTags, tiValue } from '../../support/fixtures';

describe('CLI: keyrotor', () => {
  let platform: StubbedPlatform;
  let store: InMemorySecretStore;
  let deps: CliDeps;
  let ledger: InMemoryLedger;

  beforeEach(() => {
    clearRegisteredSecrets();
    platform = stubThoughtIndustries([TI_LIVE_OLD, TI_LIVE_NEW]);
    store = new InMemorySecretStore();
    store.create('keyrotor/acme-prod', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
    ledger = new InMemoryLedger();
    deps = { store: () => store, inventory: () => new InMemorySecretInventory(store), ledger: () => ledger, events: () => NO_EVENTS, providers: createProviderRegistry({ fetch: platform.fetch, sleep: async () => undefined }), propagation: NO_WAIT, now: () => new Date() };
  });

  const run = (argv: string[], stdinText = '') => runCli(argv, stdinText, deps);

  it('prints help with exit 0, and usage with exit 2 when no command is given', async () => {
    expect(await run(['--help'])).toMatchObject({ status: 0, out: expect.stringContaining('submit <secret-id>') });
    expect((await run([])).status).toBe(2);
    for (const command of ['submit', 'verify']) {
      const help = await run([command, '--help']);
      expect(help.status).toBe(0);
      expect(help.out).toContain(`npx keyrotor ${command}`);
    }
  });

  it('rejects an unknown command and unknown options with exit 2', async () => {
    expect(await run(['rotate-everything'])).toMatchObject({ status: 2, err: expect.stringContaining('unknown command "rotate-everything"') });
    expect((await run(['verify', '--colour'])).status).toBe(2);
  });

  it('never takes a key from argv', async () => {
    const result = await run(['submit', 'keyrotor/acme-prod', TI_LIVE_NEW]);
    expect(result.status).toBe(2);
    expect(result.err).toContain('the key itself is read from stdin');
    expect(result.err + result.out).not.toContain(TI_LIVE_NEW);
  });

  describe('Command: verify (offline)', () => {
    const flags = ['verify', '--provider', 'thought-industries', '--base-url', BASE_URL, '--environment', 'production'];

    it('exits 0 with a one-line verdict for a key the platform accepts', async () => {
      const result = await run(flags, `${TI_LIVE_NEW}\n`);
      expect(result.status).toBe(0);
      expect(result.out).toMatch(/^valid: thought-industries production credential key …0002#[0-9a-f]{8} \(GET https:\/\/acme\.thoughtindustries\.com\/incoming\/v2\/users → 200\)\n$/);
      expect(result.out).not.toContain(TI_LIVE_NEW);
    });

    it('exits 1 with the platform message for a rejected key, as JSON with --json', async () => {
      const result = await run([...flags, '--json'], 'ti_live_REVOKEDrevoked000000009');
      expect(result.status).toBe(1);
      expect(JSON.parse(result.out)).toMatchObject({ valid: false, errorName: 'ProviderAuthError', platformMessage: 'Invalid or expired API key.' });
      expect(result.out).not.toContain('ti_live_REVOKEDrevoked000000009');
    });

    it('accepts the JSON the secret would hold on stdin', async () => {
      expect((await run(flags, JSON.stringify({ apiKey: TI_LIVE_NEW }))).status).toBe(0);
    });

    it('exits 1 for a sandbox key checked as production, without calling the platform', async () => {
      const result = await run(flags, TI_TEST_KEY);
      expect(result.status).toBe(1);
      expect(result.out).toContain('sandbox key (ti_test_…) but the secret is production');
      expect(platform.calls).toHaveLength(0);
    });

    it('names every missing or wrong flag with exit 2', async () => {
      const result = await run(['verify', '--provider', 'nope', '--base-url', 'http://example.com'], TI_LIVE_NEW);
      expect(result.status).toBe(2);
      expect(result.err).toContain('--provider must be one of');
      expect(result.err).toContain('--base-url must use https://');
      expect(result.err).toContain('--environment is required');
    });

    it('exits 2 when stdin is empty', async () => {
      expect(await run(flags, '')).toMatchObject({ status: 2, err: expect.stringContaining('no credential given') });
    });
  });

  describe('Command: verify <secret-id>', () => {
    it('checks the current key of a managed secret', async () => {
      const result = await run(['verify', 'keyrotor/acme-prod']);
      expect(result).toMatchObject({ status: 0, out: expect.stringMatching(/^valid: keyrotor\/acme-prod key …0001#/) });
    });

    it('exits 1 when the current key was revoked outside keyrotor', async () => {
      platform.validKeys.delete(TI_LIVE_OLD);
      const result = await run(['verify', 'keyrotor/acme-prod']);
      expect(result.status).toBe(1);
      expect(result.out).toContain('Invalid or expired API key.');
    });

    it('exits 1 with a reason for a secret that does not exist', async () => {
      const result = await run(['verify', 'keyrotor/missing']);
      expect(result.status).toBe(1);
      expect(result.err).toMatch(/ResourceNotFoundException/);
    });
  });

  describe('Command: submit', () => {
    it('hands over a key from stdin, records it in the ledger and prints the rotation it started', async () => {
      store.rotationFunction = async () => undefined;
      const result = await run(['submit', 'keyrotor/acme-prod', '--json'], `${TI_LIVE_NEW}\n`);
      expect(result.status).toBe(0);
      const printed = JSON.parse(result.out) as { token: string; fingerprint: string };
      expect(printed).toMatchObject({ ok: true, secretName: 'keyrotor/acme-prod', joinedRotation: false });
      expect(result.out).not.toContain(TI_LIVE_NEW);
      expect(ledger.events).toEqual([
        expect.objectContaining({ state: 'stored-pending', token: printed.token, fingerprint: printed.fingerprint, actor: 'keyrotor submit' }),
      ]);
    });

    it('still hands over the key when the ledger is unreachable', async () => {
      store.rotationFunction = async () => undefined;
      ledger.down = true;
      expect((await run(['submit', 'keyrotor/acme-prod'], TI_LIVE_NEW)).status).toBe(0);
    });

    it('needs --correlation-id with --admin-token, and refuses an admin token for a platform that takes keys', async () => {
      expect(await run(['submit', 'keyrotor/acme-prod', '--admin-token'], 'tok')).toMatchObject({ status: 2, err: expect.stringContaining('--admin-token needs --correlation-id') });
      const result = await run(['submit', 'keyrotor/acme-prod', '--admin-token', '--correlation-id', 'c-1'], 'Bearer eyJhbGciOi.admin.token');
      expect(result.status).toBe(1);
      expect(result.err).toContain('are not created with an admin token');
      expect(result.err).not.toContain('eyJhbGciOi.admin.token');
    });
  });

  describe('Command: history', () => {
    it('prints the ledger of a secret as a table, and as JSON with --json', async () => {
      // Prepare
      const arn = (await store.describe('keyrotor/acme-prod')).arn;
      await ledger.record({ secretArn: arn, token: 'tok-1', state: 'stored-pending', at: '2026-11-23T10:00:00.000Z', actor: 'keyrotor submit', fingerprint: '…0002#abcd1234' });
      await ledger.record({ secretArn: arn, token: 'tok-1', state: 'promoted', at: '2026-11-23T10:00:05.000Z', actor: 'rotation-lambda', fingerprint: '…0002#abcd1234' });
      // Act
      const table = await run(['history', 'keyrotor/acme-prod']);
      const json = await run(['history', 'keyrotor/acme-prod', '--json']);
      // Assess
      expect(table.status).toBe(0);
      expect(table.out.split('\n')[1]).toMatch(/^time\s+state\s+fingerprint\s+provider key\s+actor\s+rotation\s+detail$/);
      expect(table.out).toMatch(/2026-11-23T10:00:00.000Z\s+stored-pending\s+…0002#abcd1234\s+keyrotor submit\s+tok-1/);
      expect(JSON.parse(json.out)).toMatchObject({ secret: 'keyrotor/acme-prod', events: [{ state: 'stored-pending' }, { state: 'promoted' }] });
    });

    it('says so when nothing was recorded', async () => {
      expect((await run(['history', 'keyrotor/acme-prod'])).out).toBe('keyrotor/acme-prod: no rotations recorded yet\n');
    });
  });

  describe('Command: compromised', () => {
    it('responds to a leaked Thought Industries key: marks it, tells the person exactly what to do, publishes a CRITICAL event', async () => {
      // Prepare
      const events = new CapturingEvents();
      deps = { ...deps, events: () => events };
      // Act
      const human = await run(['compromised', 'keyrotor/acme-prod', '--reason', 'pasted in Slack']);
      const json = await run(['compromised', 'keyrotor/acme-prod', '--json']);
      // Assess
      expect(human.status).toBe(0);
      expect(human.out).toMatch(/^keyrotor\/acme-prod: AWSCURRENT key …\S+ reported compromised\.\nDone: Marked keyrotor\/acme-prod as compromised/);
      expect(human.out).toMatch(/Still to do:\n1\. Remove the compromised key now: .*\n2\. Create a new key and hand it over .*npx keyrotor submit keyrotor\/acme-prod/);
      expect(JSON.parse(json.out)).toMatchObject({ ok: true, command: 'compromised', stage: 'AWSCURRENT', revocation: 'person-must-remove', secretName: 'keyrotor/acme-prod' });
      expect(events.events[0]).toMatchObject({ type: 'KeyCompromised', detail: { severity: 'CRITICAL', summary: expect.stringContaining('by keyrotor compromised: pasted in Slack') } });
      expect((await ledger.history((await store.describe('keyrotor/acme-prod')).arn))[0]).toMatchObject({ state: 'compromised', actor: 'compromise (keyrotor compromised)' });
      expect(platform.calls).toHaveLength(0);
      expect(human.out + human.err + json.out + JSON.stringify(events.events)).not.toContain(TI_LIVE_OLD);
    });

    it('needs exactly one secret id, and explains --revoke-now in its help', async () => {
      expect(await run(['compromised'])).toMatchObject({ status: 2, err: expect.stringContaining('compromised takes exactly one <secret-id>') });
      expect((await run(['compromised', 'keyrotor/acme-prod', '--colour'])).status).toBe(2);
      expect((await run(['compromised', '--help'])).out).toMatch(/--revoke-now\s+revoke the AWSCURRENT key by API at once/);
    });

    it('fails with exit 1 and a reason when the reported fingerprint is no key of the secret', async () => {
      const result = await run(['compromised', 'keyrotor/acme-prod', '--fingerprint', '…zzzz#00000000']);
      expect(result.status).toBe(1);
      expect(result.err).toMatch(/^keyrotor: SecretStateError: keyrotor\/acme-prod has no key …zzzz#00000000: its AWSCURRENT key is …/);
    });
  });

  describe('Command: status', () => {
    it('prints a table and the reasons for attention, exits 3 when something needs a person, and never colours a pipe', async () => {
      store.create('keyrotor/new-prod', { value: '{"keyrotor":"awaiting-first-key","bootstrap":"x"}', tags: tiTags() });
      const result = await run(['status']);
      expect(result.status).toBe(3);
      expect(result.out.split('\n')[0]).toMatch(/^secret\s+provider\s+env\s+fingerprint\s+age\s+next rotation\s+expires\s+last outcome\s+state$/);
      expect(result.out).toMatch(/keyrotor\/acme-prod\s+thought-industries\s+prod\s+…0001#[0-9a-f]{8}\s+\d+d\s+-\s+-\s+-\s+ok/);
      expect(result.out).toMatch(/1 of 2 need attention:\n {2}! keyrotor\/new-prod: awaits its first key \(npx keyrotor submit\)/);
      expect(result.out).not.toContain('\u001b[');
      expect(result.out).not.toContain(TI_LIVE_OLD);
    });

    it('answers --json with every row and exits 0 when all is well', async () => {
      const result = await run(['status', '--json']);
      expect(result.status).toBe(0);
      expect(JSON.parse(result.out)).toEqual({ needsAttention: 0, secrets: [expect.objectContaining({ secret: 'keyrotor/acme-prod', provider: 'thought-industries', attention: [] })] });
    });
  });

  describe('Command: rotate', () => {
    beforeEach(() => {
      store.rotationFunction = async () => undefined;
    });

    it('starts a rotation of one secret and says a person must hand over the key for a person-made platform', async () => {
      const result = await run(['rotate', 'keyrotor/acme-prod', '--json']);
      expect(result.status).toBe(0);
      expect(JSON.parse(result.out)).toMatchObject({ ok: true, command: 'rotate', secret: 'keyrotor/acme-prod', waitsForPerson: true, token: expect.any(String) });
      expect(store.calls.filter((c) => c.op === 'RotateSecret')).toHaveLength(1);
    });

    it('rotates a fleet only with --yes when not on a terminal, paced, and lists what needs a person', async () => {
      const imburse = (i: number) =>
        store.create(`keyrotor/imb-${i}`, {
          value: JSON.stringify({ provider: 'imburse', environment: 'sandbox', baseUrl: 'https://sandbox-api.imburse.net', tenantId: 't', publicKey: `p${i}`, privateKey: `k${i}` }),
          tags: { 'keyrotor:provider': 'imburse', 'keyrotor:environment': 'sandbox', 'keyrotor:kind': 'api-key', 'keyrotor:base-url': 'https://sandbox-api.imburse.net' },
        });
      imburse(1);
      imburse(2);
      expect(await run(['rotate', '--all'])).toMatchObject({ status: 2, err: expect.stringContaining('add --yes to confirm') });
      expect(await run(['rotate', 'keyrotor/imb-1', '--provider', 'imburse'])).toMatchObject({ status: 2, err: expect.stringContaining('go with --all') });
      expect((await run(['rotate', '--all', '--rate', '60', '--yes'])).err).toContain('--rate must be a number above 0 and at most 25');
      const dry = await run(['rotate', '--all', '--provider', 'imburse', '--dry-run']);
      expect(dry.out).toBe('would start a rotation of 2 secrets (imburse), at 22/s:\n  keyrotor/imb-1\n  keyrotor/imb-2\n');
      const result = await run(['rotate', '--all', '--yes']);
      expect(result.status).toBe(0);
      expect(result.out).toMatch(/^started 2, already rotating 0, need a person 1, failed 0 \(\d+\.\d s\)\n {2}needs a person: keyrotor\/acme-prod/);
      expect(result.err.trim().split('\n')).toEqual(expect.arrayContaining([expect.stringMatching(/^\[\d\/3\] keyrotor\/imb-1: started$/)]));
    });
  });
});
