import { DEFAULT_CLI_DEPS, type CliDeps } from '../../bin/cli/commands';
import { clearRegisteredSecrets } from '../../lambdas/core/redaction';
import { createProviderRegistry } from '../../lambdas/providers/registry';
import { runCli } from '../support/cli-harness';
import { startBossInsightsSandbox } from '../support/sandboxes/boss-insights-sandbox';
import { startImburseSandbox } from '../support/sandboxes/imburse-sandbox';
import { makeThinkificToken, startThinkificSandbox } from '../support/sandboxes/thinkific-sandbox';
import { makeThoughtIndustriesKey, startThoughtIndustriesSandbox } from '../support/sandboxes/thought-industries-sandbox';
import { makeThriveApiKey, startThriveSandbox } from '../support/sandboxes/thrive-sandbox';

interface Case {
  readonly provider: string;
  readonly environment: 'production' | 'sandbox';
  /** Starts the platform and returns a valid credential (as stdin), a revoked one, and the secrets to look for in output. */
  readonly start: () => Promise<{ baseUrl: string; valid: string; revoked: string; secrets: string[]; close: () => Promise<void> }>;
}

const CASES: Case[] = [
  {
    provider: 'thought-industries',
    environment: 'production',
    start: async () => {
      const s = await startThoughtIndustriesSandbox();
      const [valid, revoked] = [makeThoughtIndustriesKey('production'), makeThoughtIndustriesKey('production')];
      s.addKey(valid);
      s.addKey(revoked);
      s.revokeKey(revoked);
      return { baseUrl: s.baseUrl, valid, revoked, secrets: [valid, revoked], close: () => s.close() };
    },
  },
  {
    provider: 'thinkific',
    environment: 'production',
    start: async () => {
      const s = await startThinkificSandbox();
      const [valid, revoked] = [makeThinkificToken(), makeThinkificToken()];
      s.addToken(valid);
      s.addToken(revoked);
      s.removeToken(revoked);
      return { baseUrl: s.baseUrl, valid, revoked, secrets: [valid, revoked], close: () => s.close() };
    },
  },
  {
    provider: 'thrive',
    environment: 'sandbox',
    start: async () => {
      const s = await startThriveSandbox();
      const [valid, revoked] = [makeThriveApiKey(), makeThriveApiKey()];
      s.addApiKey(valid);
      s.addApiKey(revoked);
      s.revokeApiKey(revoked);
      const json = (apiKey: string) => JSON.stringify({ tenantId: s.tenantId, apiKey });
      return { baseUrl: s.baseUrl, valid: json(valid), revoked: json(revoked), secrets: [valid, revoked], close: () => s.close() };
    },
  },
  {
    provider: 'boss-insights',
    environment: 'production',
    start: async () => {
      const s = await startBossInsightsSandbox();
      const valid = s.addKey({ scopes: ['admin'] });
      const revoked = s.addKey({ scopes: ['admin'], active: false });
      const json = (apiKey: string) => JSON.stringify({ apiKey, accountKey: s.accountKey });
      return { baseUrl: s.baseUrl, valid: json(valid.key), revoked: json(revoked.key), secrets: [valid.key, revoked.key, s.accountKey], close: () => s.close() };
    },
  },
  {
    provider: 'imburse',
    environment: 'sandbox',
    start: async () => {
      const s = await startImburseSandbox();
      const valid = s.addKey();
      const revoked = s.addKey();
      s.revokeKey(revoked.publicKey);
      const json = (key: { publicKey: string; privateKey: string }) => JSON.stringify({ tenantId: s.tenantId, ...key });
      return { baseUrl: s.baseUrl, valid: json(valid), revoked: json(revoked), secrets: [valid.privateKey, revoked.privateKey], close: () => s.close() };
    },
  },
];

describe('CLI: keyrotor verify --provider … (every platform, against its sandbox, without AWS)', () => {
  const deps: CliDeps = { ...DEFAULT_CLI_DEPS, providers: createProviderRegistry({ sleep: async () => undefined, baseBackoffMs: 1 }), propagation: { attempts: 1, initialDelayMs: 1, sleep: async () => undefined } };

  beforeEach(() => clearRegisteredSecrets());

  it.each(CASES)('$provider: exit 0 for a working credential, 1 with the reason for a revoked one, never printing it', async ({ provider, environment, start }) => {
    const platform = await start();
    try {
      const flags = ['verify', '--provider', provider, '--base-url', platform.baseUrl, '--environment', environment];
      const ok = await runCli(flags, platform.valid, deps);
      const bad = await runCli([...flags, '--json'], platform.revoked, deps);
      expect(ok).toMatchObject({ status: 0, out: expect.stringMatching(/^valid: /) });
      expect(bad.status).toBe(1);
      expect(JSON.parse(bad.out)).toMatchObject({ valid: false, errorName: 'ProviderAuthError' });
      for (const secret of platform.secrets) expect(`${ok.out}${ok.err}${bad.out}${bad.err}`).not.toContain(secret);
    } finally {
      await platform.close();
    }
  });
});
