import * as fc from 'fast-check';
import { DEFAULT_REFRESH_POLICY, isDue, mapWithConcurrency, refreshAtFor, refreshTokens, tokenSpecOf, type RefreshDeps } from '../../../../lambdas/core/token-refresh';
import { ProviderAuthError, ProviderUnavailableError, ValidationError } from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import type { MintedToken, TokenMinter, TokenSpec } from '../../../../lambdas/ports/token-minter';
import { CapturingMetrics, CapturingNotifier, InMemoryTokenStore } from '../../../support/fakes/in-memory-token-store';
import { captureLogger } from '../../../support/fixtures';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-23T00:00:00Z');
const TOKEN_TAGS = {
  'keyrotor:kind': 'token',
  'keyrotor:provider': 'thrive',
  'keyrotor:environment': 'production',
  'keyrotor:token-grant': 'client-credentials',
  'keyrotor:token-source': 'keyrotor/thrive-prod/client',
  'keyrotor:token-url': 'https://api.example.com/oauth2/token/eu-west-2_Abc',
  'keyrotor:token-scopes': 'api/read api/write',
};

/** A minter that issues 1-hour tokens from a client secret, and can be told to fail. */
class FakeMinter implements TokenMinter {
  public failure: Error | undefined;
  public readonly calls: TokenSpec[] = [];
  public count = 0;
  public constructor(private readonly now: () => number) {}
  public async mint(spec: TokenSpec, source: string): Promise<MintedToken> {
    this.calls.push(spec);
    if (this.failure) throw this.failure;
    if (!source.includes('clientSecret')) throw new ValidationError('client secret', ['clientSecret: is missing']);
    this.count += 1;
    const issued = this.now();
    return { accessToken: `access-token-${this.count}-abcdefgh`, tokenType: 'Bearer', issuedAt: new Date(issued).toISOString(), expiresAt: new Date(issued + HOUR).toISOString() };
  }
}

describe('Function: refreshTokens', () => {
  let clock: number;
  let store: InMemoryTokenStore;
  let minter: FakeMinter;
  let notifier: CapturingNotifier;
  let metrics: CapturingMetrics;
  let deps: RefreshDeps;

  beforeEach(() => {
    clearRegisteredSecrets();
    clock = T0;
    store = new InMemoryTokenStore();
    store.now = () => clock;
    minter = new FakeMinter(() => clock);
    notifier = new CapturingNotifier();
    metrics = new CapturingMetrics();
    deps = { store, minter, notifier, metrics, logger: captureLogger().logger, policy: DEFAULT_REFRESH_POLICY, now: () => new Date(clock), random: () => 0.5 };
    store.addSecret('keyrotor/thrive-prod/client', JSON.stringify({ clientId: 'id', clientSecret: 'client-secret-value-123' }));
    store.addSecret('keyrotor/thrive-prod/token', undefined, TOKEN_TAGS);
  });

  const token = () => JSON.parse(store.value('keyrotor/thrive-prod/token') as string) as { accessToken: string; expiresAt: string; refreshAt: string };

  it('mints a missing token, with a refresh time between 75% and 80% of its lifetime', async () => {
    const report = await refreshTokens(deps);
    expect(report).toEqual({ renewed: ['keyrotor/thrive-prod/token'], fresh: [], failed: [] });
    expect(token()).toMatchObject({ accessToken: 'access-token-1-abcdefgh', tokenType: 'Bearer', expiresAt: new Date(T0 + HOUR).toISOString(), refreshAt: new Date(T0 + 0.775 * HOUR).toISOString() });
    expect(minter.calls[0]).toMatchObject({ grant: 'client-credentials', scopes: ['api/read', 'api/write'], clientAuth: 'basic', source: 'keyrotor/thrive-prod/client' });
    expect(metrics.counts.get('TokenRenewals')).toBe(1);
  });

  it('leaves a token alone until its refresh time, then renews it once', async () => {
    await refreshTokens(deps);
    clock = T0 + 0.77 * HOUR;
    expect((await refreshTokens(deps)).fresh).toEqual(['keyrotor/thrive-prod/token']);
    clock = T0 + 0.775 * HOUR;
    expect((await refreshTokens(deps)).renewed).toEqual(['keyrotor/thrive-prod/token']);
    expect((await refreshTokens(deps)).fresh).toEqual(['keyrotor/thrive-prod/token']);
    expect(store.writes).toHaveLength(2);
    expect(metrics.records.at(-1)).toEqual({ name: 'TokenLifetimeLeftAtRenewal', value: 0.225 * 3600, unit: 'Seconds' });
  });

  it('never overwrites a valid token when renewal fails; alerts once with the time left, then CRITICAL at expiry, then INFO on recovery', async () => {
    // Prepare
    await refreshTokens(deps);
    minter.failure = new ProviderUnavailableError('thrive', 'POST https://api.example.com/oauth2/token answered HTTP 503');
    // Act: failing runs while the token is still valid
    for (const at of [0.8, 0.85, 0.9]) {
      clock = T0 + at * HOUR;
      await refreshTokens(deps);
    }
    // Assess
    expect(token().accessToken).toBe('access-token-1-abcdefgh');
    expect(notifier.alerts).toHaveLength(1);
    expect(notifier.alerts[0]).toMatchObject({ severity: 'WARNING', subject: '[WARNING] keyrotor: token keyrotor/thrive-prod/token could not be renewed (12 min left)' });
    expect(notifier.alerts[0]?.body).toContain('valid until 2026-11-23T01:00:00.000Z');
    expect(store.tags('keyrotor/thrive-prod/token')['keyrotor:refresh-state']).toBe('failing');
    // Act: past expiry
    clock = T0 + 1.05 * HOUR;
    await refreshTokens(deps);
    await refreshTokens(deps);
    expect(notifier.alerts.map((a) => a.severity)).toEqual(['WARNING', 'CRITICAL']);
    expect(notifier.alerts[1]?.body).toContain('Applications reading it are failing now');
    // Act: recovery
    minter.failure = undefined;
    await refreshTokens(deps);
    expect(notifier.alerts.map((a) => a.severity)).toEqual(['WARNING', 'CRITICAL', 'INFO']);
    expect(store.tags('keyrotor/thrive-prod/token')['keyrotor:refresh-state']).toBe('ok');
    expect(metrics.counts.get('TokenRenewalFailures')).toBe(5);
  });

  it('tells a person to fix the source secret when the credentials are rejected, and never prints a secret', async () => {
    minter.failure = new ProviderAuthError('thrive', 'invalid_client');
    await refreshTokens(deps);
    const alert = notifier.alerts[0];
    expect(alert?.severity).toBe('CRITICAL'); // no token yet: nothing valid to fall back on
    expect(alert?.body).toContain('Check the source secret keyrotor/thrive-prod/client');
    expect(JSON.stringify(notifier.alerts)).not.toContain('client-secret-value-123');
  });

  it('reports a token secret with broken tags as failed, and renews the others', async () => {
    store.addSecret('keyrotor/broken/token', undefined, { 'keyrotor:kind': 'token', 'keyrotor:provider': 'thrive' });
    const report = await refreshTokens(deps);
    expect(report.renewed).toEqual(['keyrotor/thrive-prod/token']);
    expect(report.failed).toEqual([{ secret: 'keyrotor/broken/token', errorName: 'RenewalFailed' }]);
    expect(notifier.alerts[0]?.body).toMatch(/keyrotor:token-grant: must be one of/);
  });

  it('keeps the old token when storing the new one fails', async () => {
    await refreshTokens(deps);
    clock = T0 + 0.9 * HOUR;
    store.failWrites = true;
    const report = await refreshTokens(deps);
    expect(report.failed).toEqual([{ secret: 'keyrotor/thrive-prod/token', errorName: 'ThrottlingException' }]);
    expect(token().accessToken).toBe('access-token-1-abcdefgh');
  });
});

describe('Function: refreshAtFor', () => {
  it('is never before the renewal fraction, nor later than one refresh window before expiry', () => {
    fc.assert(
      fc.property(fc.integer({ min: 60, max: 86_400 * 2 }), fc.double({ min: 0, max: 1, noNaN: true }), (lifetimeSeconds, random) => {
        const token = { accessToken: 'a', tokenType: 'Bearer', issuedAt: new Date(T0).toISOString(), expiresAt: new Date(T0 + lifetimeSeconds * 1000).toISOString() };
        const at = refreshAtFor(token, DEFAULT_REFRESH_POLICY, random).getTime();
        const earliest = T0 + lifetimeSeconds * 1000 * 0.75;
        expect(at).toBeGreaterThanOrEqual(earliest);
        expect(at).toBeLessThanOrEqual(Math.max(earliest, T0 + lifetimeSeconds * 1000 - DEFAULT_REFRESH_POLICY.windowMs));
        expect(at).toBeLessThanOrEqual(earliest + lifetimeSeconds * 1000 * DEFAULT_REFRESH_POLICY.jitterFraction + 1);
      }),
    );
  });
});

describe('Function: isDue', () => {
  const token = { accessToken: 'a', tokenType: 'Bearer', issuedAt: new Date(T0).toISOString(), expiresAt: new Date(T0 + HOUR).toISOString(), refreshAt: new Date(T0 + 0.8 * HOUR).toISOString() };
  it('is due when missing, at its refresh time, or when it would expire before the next run', () => {
    expect(isDue(undefined, new Date(T0), DEFAULT_REFRESH_POLICY)).toBe(true);
    expect(isDue(token, new Date(T0 + 0.7 * HOUR), DEFAULT_REFRESH_POLICY)).toBe(false);
    expect(isDue(token, new Date(T0 + 0.8 * HOUR), DEFAULT_REFRESH_POLICY)).toBe(true);
    expect(isDue({ ...token, refreshAt: new Date(T0 + 2 * HOUR).toISOString() }, new Date(T0 + HOUR - 60_000), DEFAULT_REFRESH_POLICY)).toBe(true);
  });
  it('renews a token too short-lived for the schedule before the fraction rather than let it expire', () => {
    const short = { accessToken: 'a', tokenType: 'Bearer', issuedAt: new Date(T0).toISOString(), expiresAt: new Date(T0 + 12 * 60_000).toISOString() };
    // 75% is minute 9, but the run after minute 7 comes at minute 12, when it has expired
    expect(isDue(short, new Date(T0 + 7 * 60_000), DEFAULT_REFRESH_POLICY)).toBe(true);
    expect(isDue(short, new Date(T0 + 6 * 60_000), DEFAULT_REFRESH_POLICY)).toBe(false);
  });
});

describe('Function: tokenSpecOf', () => {
  it('names every missing or wrong tag', () => {
    expect(() => tokenSpecOf({ arn: 'a', name: 'n', tags: { 'keyrotor:token-grant': 'password', 'keyrotor:client-auth': 'jwt' } })).toThrow(
      /keyrotor:token-grant: must be one of .*keyrotor:provider: must be a known provider.*keyrotor:token-source: is required.*keyrotor:client-auth: must be basic or body/,
    );
  });
});

describe('Function: mapWithConcurrency', () => {
  it('keeps at most `limit` in flight and returns results in order', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapWithConcurrency([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight -= 1;
      return n * 2;
    });
    expect(results).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(peak).toBe(3);
  });
});
