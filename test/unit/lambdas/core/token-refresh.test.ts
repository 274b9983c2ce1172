import * as fc from 'fast-check';
import { DEFAULT_REFRESH_POLICY, isDue, refreshAtFor, refreshTokens, tokenSpecOf, type RefreshDeps } from '../../../../lambdas/core/token-refresh';
import { ProviderAuthError, ProviderRateLimitError, ProviderUnavailableError, ValidationError } from '../../../../lambdas/core/errors';
import { fingerprintOf } from '../../../../lambdas/core/fingerprint';
import { clearRegisteredSecrets, registerSecret } from '../../../../lambdas/core/redaction';
import type { MintedToken, TokenMinter, TokenSpec } from '../../../../lambdas/ports/token-minter';
import { NotifiedEvents } from '../../../support/fakes/capturing-events';
import { CapturingMetrics, InMemoryTokenStore } from '../../../support/fakes/in-memory-token-store';
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

/** The source secret's tags: its keyrotor:kind makes the listing show its AWSCURRENT version. */
const CLIENT_TAGS = { 'keyrotor:kind': 'oauth-client', 'keyrotor:provider': 'thrive', 'keyrotor:environment': 'production' };

/** A minter that issues 1-hour tokens from a client secret, and can be told to fail. */
class FakeMinter implements TokenMinter {
  public failure: Error | undefined;
  public readonly calls: TokenSpec[] = [];
  public count = 0;
  public constructor(private readonly now: () => number) {}
  public async mint(spec: TokenSpec, source: string): Promise<MintedToken> {
    this.calls.push(spec);
    if (!source.includes('clientSecret')) throw new ValidationError('client secret', ['clientSecret: is missing']);
    // As the real minter does: the client secret is registered for redaction before any request.
    registerSecret((JSON.parse(source) as { clientSecret: string }).clientSecret);
    if (this.failure) throw this.failure;
    this.count += 1;
    const issued = this.now();
    return { accessToken: `access-token-${this.count}-abcdefgh`, tokenType: 'Bearer', issuedAt: new Date(issued).toISOString(), expiresAt: new Date(issued + HOUR).toISOString() };
  }
}

describe('Function: refreshTokens', () => {
  let clock: number;
  let store: InMemoryTokenStore;
  let minter: FakeMinter;
  let events: NotifiedEvents;
  let metrics: CapturingMetrics;
  let log: ReturnType<typeof captureLogger>;
  let deps: RefreshDeps;

  beforeEach(() => {
    clearRegisteredSecrets();
    clock = T0;
    store = new InMemoryTokenStore();
    store.now = () => clock;
    minter = new FakeMinter(() => clock);
    events = new NotifiedEvents(() => new Date(clock));
    metrics = new CapturingMetrics();
    log = captureLogger();
    deps = { store, minter, events, metrics, logger: log.logger, policy: DEFAULT_REFRESH_POLICY, now: () => new Date(clock), random: () => 0.5 };
    store.addSecret('keyrotor/thrive-prod/client', JSON.stringify({ clientId: 'id', clientSecret: 'client-secret-value-123' }), CLIENT_TAGS);
    store.addSecret('keyrotor/thrive-prod/token', undefined, TOKEN_TAGS);
  });

  const token = () => JSON.parse(store.value('keyrotor/thrive-prod/token') as string) as { accessToken: string; expiresAt: string; refreshAt: string };
  const refreshState = () => store.tags('keyrotor/thrive-prod/token')['keyrotor:refresh-state'];
  /** What went on the bus: type and severity of each event. */
  const published = () => events.events.map((e) => `${e.type}/${e.detail.severity}`);

  it('mints a missing token, with a refresh time between 75% and 80% of its lifetime', async () => {
    const report = await refreshTokens(deps);
    expect(report).toEqual({ renewed: ['keyrotor/thrive-prod/token'], fresh: [], failed: [] });
    expect(token()).toMatchObject({ accessToken: 'access-token-1-abcdefgh', tokenType: 'Bearer', expiresAt: new Date(T0 + HOUR).toISOString(), refreshAt: new Date(T0 + 0.775 * HOUR).toISOString() });
    expect(minter.calls[0]).toMatchObject({ grant: 'client-credentials', scopes: ['api/read', 'api/write'], clientAuth: 'basic', source: 'keyrotor/thrive-prod/client' });
    expect(metrics.counts.get('TokenRenewals')).toBe(1);
  });

  it('publishes TokenRefreshed at INFO for each renewal, naming provider, environment, expiry and fingerprint; nobody is alerted', async () => {
    // Act
    await refreshTokens(deps);

    // Assess
    expect(events.events).toEqual([
      {
        type: 'TokenRefreshed',
        detail: {
          version: '1',
          secret: 'keyrotor/thrive-prod/token',
          provider: 'thrive',
          environment: 'production',
          severity: 'INFO',
          step: 'refresh',
          fingerprint: fingerprintOf('access-token-1-abcdefgh'),
          expiresAt: new Date(T0 + HOUR).toISOString(),
          summary: `Renewed the access token in keyrotor/thrive-prod/token; the new token is valid until ${new Date(T0 + HOUR).toISOString()}.`,
        },
      },
    ]);
    expect(events.outcomes.map((o) => o.outcome)).toEqual(['no-alert']);
    expect(events.alerts).toEqual([]);
    expect(refreshState()).toBeUndefined();
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
    expect(published()).toEqual(['TokenRefreshed/INFO', 'TokenRefreshed/INFO']);
  });

  it('never overwrites a valid token when renewal fails; publishes every failure, and the notifier alerts once with the time left, then CRITICAL at expiry, then on recovery', async () => {
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
    expect(published()).toEqual(['TokenRefreshed/INFO', 'TokenRefreshFailed/WARNING', 'TokenRefreshFailed/WARNING', 'TokenRefreshFailed/WARNING']);
    expect(events.events[1]?.detail).toMatchObject({
      step: 'refresh',
      errorName: 'ProviderUnavailableError',
      expiresAt: '2026-11-23T01:00:00.000Z',
      fingerprint: fingerprintOf('access-token-1-abcdefgh'),
      summary: expect.stringContaining('valid until 2026-11-23T01:00:00.000Z (12 min left)'),
    });
    expect(events.outcomes.slice(1).map((o) => o.outcome)).toEqual(['published', 'duplicate', 'duplicate']);
    expect(events.alerts).toHaveLength(1);
    expect(events.alerts[0]).toMatchObject({ severity: 'WARNING', subject: '[WARNING] keyrotor: token renewal failing - keyrotor/thrive-prod/token' });
    expect(events.alerts[0]?.body).toContain('valid until 2026-11-23T01:00:00.000Z (12 min left)');
    expect(events.alerts[0]?.body).toContain('the platform was unavailable or rate limiting');
    expect(refreshState()).toBe('failing');
    // Act: past expiry
    clock = T0 + 1.05 * HOUR;
    await refreshTokens(deps);
    await refreshTokens(deps);
    expect(published().slice(4)).toEqual(['TokenRefreshFailed/CRITICAL', 'TokenRefreshFailed/CRITICAL']);
    expect(events.alerts.map((a) => a.severity)).toEqual(['WARNING', 'CRITICAL']);
    expect(events.alerts[1]?.body).toContain('Applications reading it are failing now');
    expect(refreshState()).toBe('expired');
    // Act: recovery
    minter.failure = undefined;
    await refreshTokens(deps);
    expect(published().at(-1)).toBe('TokenRefreshed/WARNING');
    expect(events.alerts.map((a) => a.subject)).toEqual([
      '[WARNING] keyrotor: token renewal failing - keyrotor/thrive-prod/token',
      '[CRITICAL] keyrotor: token renewal failing - keyrotor/thrive-prod/token',
      '[WARNING] keyrotor: token renewed - keyrotor/thrive-prod/token',
    ]);
    expect(events.alerts[2]?.body).toContain('renewed again after earlier failures (it had expired or was missing)');
    expect(events.alerts[2]?.body).toContain('Nothing to do');
    expect(refreshState()).toBe('ok');
    expect(metrics.counts.get('TokenRenewalFailures')).toBe(5);
    // Act: later renewals are quiet again
    clock = T0 + 1.05 * HOUR + 0.8 * HOUR;
    await refreshTokens(deps);
    expect(published().at(-1)).toBe('TokenRefreshed/INFO');
    expect(events.alerts).toHaveLength(3);
  });

  it('alerts again for a different failure in the same state (a new error class), still not once per run', async () => {
    // Prepare
    await refreshTokens(deps);
    // Act
    for (const [at, failure] of [
      [0.8, new ProviderUnavailableError('thrive', 'HTTP 503')],
      [0.85, new ProviderRateLimitError('thrive', 60_000)],
      [0.9, new ProviderRateLimitError('thrive', 60_000)],
      [0.95, new ProviderUnavailableError('thrive', 'HTTP 503')],
    ] as const) {
      clock = T0 + at * HOUR;
      minter.failure = failure;
      await refreshTokens(deps);
    }
    // Assess
    expect(events.alerts.map((a) => a.body.match(/^ *Error: +(\w+)$/m)?.[1])).toEqual(['ProviderUnavailableError', 'ProviderRateLimitError']);
  });

  it('tells a person to fix the source secret when the credentials are rejected, alerts once for a token that never existed, and never prints a secret', async () => {
    // Prepare
    minter.failure = new ProviderAuthError('thrive', 'invalid_client');
    // Act
    await refreshTokens(deps);
    clock = T0 + 5 * 60_000;
    await refreshTokens(deps);
    clock = T0 + 26 * HOUR;
    await refreshTokens(deps);
    // Assess: no token yet, so nothing valid to fall back on; no expiry to dedupe by, so only the change is published
    expect(published()).toEqual(['TokenRefreshFailed/CRITICAL']);
    expect(events.events[0]?.detail.expiresAt).toBeUndefined();
    const alert = events.alerts[0];
    expect(events.alerts).toHaveLength(1);
    expect(alert?.severity).toBe('CRITICAL');
    expect(alert?.body).toContain('is missing and renewing it failed');
    expect(alert?.body).toContain('Check the source secret keyrotor/thrive-prod/client');
    expect(refreshState()).toBe('expired');
    for (const text of [JSON.stringify(events.events), JSON.stringify(events.alerts), log.text()]) expect(text).not.toContain('client-secret-value-123');
  });

  it('publishes no secret value in any event, alert or log line, whatever the platform says in its error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('invalid_client', 'client_secret=client-secret-value-123 is wrong', 'Bearer access-token-1-abcdefgh expired'), async (message) => {
        // Prepare
        clearRegisteredSecrets();
        const local = new NotifiedEvents(() => new Date(clock));
        const logs = captureLogger();
        const run = { ...deps, events: local, logger: logs.logger };
        clock = T0;
        store.addSecret('keyrotor/thrive-prod/token', undefined, TOKEN_TAGS);
        minter.failure = undefined;
        await refreshTokens(run);
        // Act
        clock = T0 + 0.8 * HOUR;
        minter.failure = new ProviderAuthError('thrive', message);
        await refreshTokens(run);
        // Assess
        expect(local.alerts).toHaveLength(1);
        for (const text of [JSON.stringify(local.events), JSON.stringify(local.alerts), logs.text()]) {
          expect(text).not.toContain('client-secret-value-123');
          expect(text).not.toContain('access-token-1-abcdefgh');
        }
      }),
      { numRuns: 10 },
    );
  });

  it('keeps one alert per state end to end for any sequence of platform outages (one error class)', async () => {
    await fc.assert(
      // Stretches of runs with the platform up or down, long enough for a token to expire
      fc.asyncProperty(fc.array(fc.record({ up: fc.boolean(), runs: fc.integer({ min: 1, max: 24 }) }), { minLength: 1, maxLength: 12 }), async (stretches) => {
        // Prepare
        clearRegisteredSecrets();
        const local = new NotifiedEvents(() => new Date(clock));
        const run = { ...deps, events: local };
        clock = T0;
        store.addSecret('keyrotor/thrive-prod/token', undefined, TOKEN_TAGS);
        const before = store.writes.length;
        // Act: a run every 5 minutes
        for (const { up, runs } of stretches) {
          minter.failure = up ? undefined : new ProviderUnavailableError('thrive', 'HTTP 503');
          for (let i = 0; i < runs; i += 1) {
            await refreshTokens(run);
            clock += DEFAULT_REFRESH_POLICY.windowMs;
          }
        }
        // Assess: alerts follow the states (WARNING, then CRITICAL, then the all-clear), never a repeat of the same one
        const kinds = local.alerts.map((a) => (a.subject.includes('renewed') ? 'R' : a.severity === 'WARNING' ? 'W' : 'C')).join('');
        expect(kinds).toMatch(/^((WC?|C)R)*(WC?|C)?$/);
        // Every failed renewal is on the bus (it always had a token after the first success, or it is the first change)
        const failedRuns = local.events.filter((e) => e.type === 'TokenRefreshFailed').length;
        expect(failedRuns).toBeGreaterThanOrEqual(local.alerts.filter((a) => !a.subject.includes('renewed')).length);
        // Only successful renewals write the secret
        expect(store.writes.length - before).toBe(local.events.filter((e) => e.type === 'TokenRefreshed').length);
      }),
      { numRuns: 60 },
    );
  });

  it('publishes a failure that did not reach the bus again on the next run, and records the state only once it did', async () => {
    // Prepare
    await refreshTokens(deps);
    minter.failure = new ProviderUnavailableError('thrive', 'HTTP 503');
    events.failing = true;
    // Act: EventBridge is down during the first failing run
    clock = T0 + 0.8 * HOUR;
    await refreshTokens(deps);
    // Assess
    expect(refreshState()).toBeUndefined();
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'could not publish a keyrotor event' }));
    expect(events.alerts).toEqual([]);
    // Act: it is back
    events.failing = false;
    clock = T0 + 0.85 * HOUR;
    await refreshTokens(deps);
    // Assess
    expect(refreshState()).toBe('failing');
    expect(events.alerts.map((a) => a.severity)).toEqual(['WARNING']);
  });

  it('reports a token secret with broken tags as failed, says which, and renews the others', async () => {
    store.addSecret('keyrotor/broken/token', undefined, { 'keyrotor:kind': 'token', 'keyrotor:provider': 'thrive', 'keyrotor:environment': 'sandbox' });
    const report = await refreshTokens(deps);
    expect(report.renewed).toEqual(['keyrotor/thrive-prod/token']);
    expect(report.failed).toEqual([{ secret: 'keyrotor/broken/token', errorName: 'RenewalFailed' }]);
    expect(events.alerts).toHaveLength(1);
    expect(events.alerts[0]?.body).toMatch(/keyrotor:token-grant: must be one of/);
  });

  it('cannot name a token secret without a keyrotor:environment tag in an event: logs it and tries again on the next run', async () => {
    // Prepare: a token secret tagged by hand, without its environment
    const { 'keyrotor:environment': _environment, ...tags } = TOKEN_TAGS;
    store.addSecret('keyrotor/thrive-prod/token', undefined, tags);
    minter.failure = new ProviderAuthError('thrive', 'invalid_client');
    // Act
    await refreshTokens(deps);
    // Assess
    expect(events.events).toEqual([]);
    expect(log.lines).toContainEqual({ level: 'warn', message: 'could not publish a keyrotor event', attributes: { type: 'TokenRefreshFailed', secret: 'keyrotor/thrive-prod/token', errorName: 'SecretStateError' } });
    expect(refreshState()).toBeUndefined();
  });

  it('keeps the old token when storing the new one fails', async () => {
    await refreshTokens(deps);
    clock = T0 + 0.9 * HOUR;
    store.failWrites = true;
    const report = await refreshTokens(deps);
    expect(report.failed).toEqual([{ secret: 'keyrotor/thrive-prod/token', errorName: 'ThrottlingException' }]);
    expect(token().accessToken).toBe('access-token-1-abcdefgh');
  });

  describe('when the source key is replaced', () => {
    const SOURCE = 'keyrotor/thrive-prod/client';
    const TOKEN = 'keyrotor/thrive-prod/token';
    const NEW_CLIENT = JSON.stringify({ clientId: 'id', clientSecret: 'client-secret-value-456' });
    /** The source version the stored token says it was minted from. */
    const mintedFrom = () => (JSON.parse(store.value(TOKEN) as string) as { sourceVersionId?: string }).sourceVersionId;
    /** How often the source's value was read (GetSecretValue) since `from`. */
    const sourceReads = (from = 0) => store.reads.slice(from).filter((id) => id === SOURCE).length;

    it('records the source version each token is minted from', async () => {
      // Act
      await refreshTokens(deps);

      // Assess
      expect(mintedFrom()).toBe(store.versionId(SOURCE));
    });

    it('renews a young token on the next run after its source was rotated, and says why in the log line and the event', async () => {
      // Prepare: a token minted 5 minutes ago, far from its refresh time
      await refreshTokens(deps);
      clock = T0 + 5 * 60_000;
      const rotated = store.replaceValue(SOURCE, NEW_CLIENT);

      // Act
      clock = T0 + 10 * 60_000;
      const report = await refreshTokens(deps);

      // Assess
      expect(report.renewed).toEqual([TOKEN]);
      expect(token().accessToken).toBe('access-token-2-abcdefgh');
      expect(mintedFrom()).toBe(rotated);
      expect(metrics.counts.get('TokenRenewalsForReplacedSource')).toBe(1);
      expect(events.events.at(-1)).toMatchObject({
        type: 'TokenRefreshed',
        detail: {
          severity: 'INFO',
          summary: `Renewed the access token in ${TOKEN} because its source key was replaced (${SOURCE} has a new current version); the new token is valid until ${new Date(clock + HOUR).toISOString()}.`,
        },
      });
      expect(log.lines).toContainEqual(expect.objectContaining({ level: 'info', message: 'token renewed', attributes: expect.objectContaining({ secret: TOKEN, reason: 'source-replaced' }) }));
      expect(log.lines).toContainEqual({ level: 'info', message: 'renewing the token now: its source key was replaced', attributes: { secret: TOKEN, source: SOURCE, reason: 'source-replaced' } });
      // Act: the run after that leaves the new token alone
      clock += 5 * 60_000;
      expect((await refreshTokens(deps)).fresh).toEqual([TOKEN]);
      expect(log.text()).not.toContain('client-secret-value-456');
    });

    it('reads no source and renews nothing on runs where nothing changed', async () => {
      // Prepare
      await refreshTokens(deps);
      const reads = store.reads.length;

      // Act: every run up to the refresh time
      for (clock = T0 + 5 * 60_000; clock < T0 + 0.775 * HOUR; clock += 5 * 60_000) expect((await refreshTokens(deps)).fresh).toEqual([TOKEN]);

      // Assess: only the token secret was read, never its source, and nothing described
      expect(sourceReads(reads)).toBe(0);
      expect(store.describes).toEqual([]);
      expect(store.writes).toHaveLength(1);
      expect(published()).toEqual(['TokenRefreshed/INFO']);
    });

    it('treats a token minted before keyrotor recorded its source version as up to date, and records the version at its next renewal', async () => {
      // Prepare: a token as an earlier refresher wrote it, then a rotation of its source
      await refreshTokens(deps);
      const { sourceVersionId: _recorded, ...legacy } = token() as ReturnType<typeof token> & { sourceVersionId?: string };
      store.addSecret(TOKEN, JSON.stringify(legacy), TOKEN_TAGS);
      const rotated = store.replaceValue(SOURCE, NEW_CLIENT);
      const reads = store.reads.length;

      // Act
      clock = T0 + 10 * 60_000;
      const young = await refreshTokens(deps);
      clock = T0 + 0.775 * HOUR;
      const due = await refreshTokens(deps);

      // Assess: no renewal (and no read of the source) until its time; then it records the version
      expect(young.fresh).toEqual([TOKEN]);
      expect(store.describes).toEqual([]);
      expect(sourceReads(reads)).toBe(1);
      expect(due.renewed).toEqual([TOKEN]);
      expect(mintedFrom()).toBe(rotated);
      expect(events.events.at(-1)?.detail.summary).not.toContain('source key was replaced');
    });

    it('does not renew again while the listing still shows the version the token replaced (the listing is eventually consistent)', async () => {
      // Prepare: renewed after a rotation; the listing has not caught up
      await refreshTokens(deps);
      const before = store.versionId(SOURCE) as string;
      store.replaceValue(SOURCE, NEW_CLIENT);
      clock = T0 + 5 * 60_000;
      await refreshTokens(deps);
      store.listedVersions.set(SOURCE, before);
      const reads = store.reads.length;
      const describes = store.describes.length;

      // Act
      clock = T0 + 10 * 60_000;
      const report = await refreshTokens(deps);

      // Assess: DescribeSecret of that one source settles it, without reading its value
      expect(report.fresh).toEqual([TOKEN]);
      expect(store.describes.slice(describes)).toEqual([SOURCE]);
      expect(sourceReads(reads)).toBe(0);
      expect(store.writes).toHaveLength(2);
    });

    it('renews on the listing\'s word when the source version cannot be confirmed', async () => {
      // Prepare
      await refreshTokens(deps);
      store.replaceValue(SOURCE, NEW_CLIENT);
      store.failDescribes = true;

      // Act
      clock = T0 + 5 * 60_000;
      const report = await refreshTokens(deps);

      // Assess
      expect(report.renewed).toEqual([TOKEN]);
      expect(log.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: "could not confirm the source version the listing shows; renewing on the listing's word" }));
    });

    it('publishes a failed renewal after a replaced source as TokenRefreshFailed, saying why, and tries again on every run', async () => {
      // Prepare: the client is replaced by one the platform refuses
      await refreshTokens(deps);
      store.replaceValue(SOURCE, NEW_CLIENT);
      minter.failure = new ProviderAuthError('thrive', 'invalid_client');

      // Act
      clock = T0 + 5 * 60_000;
      const first = await refreshTokens(deps);
      clock = T0 + 10 * 60_000;
      const second = await refreshTokens(deps);

      // Assess
      expect(first.failed).toEqual([{ secret: TOKEN, errorName: 'RenewalFailed' }]);
      expect(second.failed).toEqual([{ secret: TOKEN, errorName: 'RenewalFailed' }]);
      expect(token().accessToken).toBe('access-token-1-abcdefgh');
      expect(published()).toEqual(['TokenRefreshed/INFO', 'TokenRefreshFailed/WARNING', 'TokenRefreshFailed/WARNING']);
      expect(events.events[1]?.detail.summary).toMatch(
        new RegExp(`^Renewing the access token in ${TOKEN} because its source key was replaced failed \\(ProviderAuthError: .*\\)\\. The current token stays in place and is valid until .* left\\), unless the platform ended it with the replaced key\\.$`),
      );
      expect(log.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'token renewal failed; the stored token is unchanged', attributes: expect.objectContaining({ reason: 'source-replaced' }) }));
      expect(events.alerts).toHaveLength(1);
      expect(refreshState()).toBe('failing');
      // Act: a person fixes the client
      minter.failure = undefined;
      clock = T0 + 15 * 60_000;
      await refreshTokens(deps);
      expect(published().at(-1)).toBe('TokenRefreshed/WARNING');
      expect(events.events.at(-1)?.detail.summary).toContain('renewed again because its source key was replaced');
    });

    it('cannot watch a source the listing does not show (no keyrotor:kind tag): renews by time only', async () => {
      // Prepare
      store.addSecret(SOURCE, store.value(SOURCE), {});
      await refreshTokens(deps);
      store.replaceValue(SOURCE, NEW_CLIENT);

      // Act
      clock = T0 + 5 * 60_000;
      const report = await refreshTokens(deps);

      // Assess
      expect(report.fresh).toEqual([TOKEN]);
      expect(store.describes).toEqual([]);
    });
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
