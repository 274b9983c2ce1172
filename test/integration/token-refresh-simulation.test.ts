import { DEFAULT_REFRESH_POLICY, refreshTokens, type RefreshDeps } from '../../lambdas/core/token-refresh';
import { clearRegisteredSecrets } from '../../lambdas/core/redaction';
import { createTokenMinter } from '../../lambdas/providers/token-minters';
import { startOAuthTokenSandbox, type OAuthTokenSandbox } from '../support/sandboxes/oauth-token-sandbox';
import { startImburseSandbox, type ImburseSandbox } from '../support/sandboxes/imburse-sandbox';
import { NotifiedEvents } from '../support/fakes/capturing-events';
import { CapturingMetrics, InMemoryTokenStore } from '../support/fakes/in-memory-token-store';
import { captureLogger } from '../support/fixtures';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAYS = 3;

/** A seeded PRNG so the simulation is the same every run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Per secret, what a person was alerted about: W (renewal failing), C (expired), R (renewed again). */
function alertKinds(events: NotifiedEvents, secret: string): string {
  return events.alerts
    .filter((a) => a.subject.endsWith(` - ${secret}`))
    .map((a) => (a.subject.includes('token renewed') ? 'R' : a.severity === 'WARNING' ? 'W' : 'C'))
    .join('');
}

/**
 * Three simulated days of the refresher running every 5 minutes against real HTTP sandboxes
 * (an OAuth token endpoint and Imburse's HMAC exchange, both issuing 1-hour tokens on the
 * simulated clock), with outages at random moments.
 *
 * Arithmetic the tests respect: a renewal may not start before `renewAtFraction` of a token's
 * lifetime, jitter spreads it over the next `jitterFraction`, and runs come every period P.
 * The first attempt can come up to P after the planned time and the last useful one is P
 * before expiry, so the longest outage a token always rides out is
 * (1 − renewAtFraction − jitterFraction) × lifetime − 2P: 2 minutes of a 1-hour token with the
 * defaults (0.75, 0.05, 5 min). Riding out an outage of a whole quarter of the lifetime takes an
 * earlier renewal: with renewAtFraction 0.5 it is 17 minutes, and the second scenario runs
 * 15-minute outages.
 *
 * The refresher publishes events; every one goes through the real notifier with an in-memory
 * deduper, as keyrotor's EventBridge rule delivers them, so the alerts counted are the ones a
 * person gets.
 */
describe('Integration: token refresher on a simulated clock (multi-day, with sandbox outages)', () => {
  let clock: number;
  let oauth: OAuthTokenSandbox;
  let imburse: ImburseSandbox;
  let store: InMemoryTokenStore;
  let events: NotifiedEvents;
  let deps: RefreshDeps;
  /** Until when Imburse's API is down (its sandbox has no timed outage: the platform's answers are replaced at the HTTP boundary). */
  let imburseDownUntil = 0;

  beforeEach(async () => {
    clearRegisteredSecrets();
    clock = Date.parse('2026-11-23T00:00:00Z');
    imburseDownUntil = 0;
    const now = () => clock;
    [oauth, imburse] = await Promise.all([startOAuthTokenSandbox({ now, tokenLifetimeSeconds: 3600 }), startImburseSandbox({ now, tokenLifetimeMs: HOUR })]);
    oauth.addClient({ clientId: 'keyrotor-client', clientSecret: 'client-secret-Qw3rTy-0987', scopes: ['api/read'] });
    const imburseKey = imburse.addKey();
    store = new InMemoryTokenStore();
    store.now = now;
    store.addSecret('keyrotor/thrive-prod/client', JSON.stringify({ clientId: 'keyrotor-client', clientSecret: 'client-secret-Qw3rTy-0987' }));
    store.addSecret('keyrotor/thrive-prod/token', '{"keyrotor":"awaiting-first-token"}', {
      'keyrotor:kind': 'token',
      'keyrotor:provider': 'thrive',
      'keyrotor:environment': 'production',
      'keyrotor:token-grant': 'client-credentials',
      'keyrotor:token-source': 'keyrotor/thrive-prod/client',
      'keyrotor:token-url': oauth.tokenUrl,
      'keyrotor:token-scopes': 'api/read',
    });
    store.addSecret('keyrotor/payments', JSON.stringify({ provider: 'imburse', environment: 'sandbox', baseUrl: imburse.baseUrl, tenantId: imburse.tenantId, ...imburseKey }));
    store.addSecret('keyrotor/payments-token/token', undefined, {
      'keyrotor:kind': 'token',
      'keyrotor:provider': 'imburse',
      'keyrotor:environment': 'sandbox',
      'keyrotor:token-grant': 'imburse-hmac',
      'keyrotor:token-source': 'keyrotor/payments',
    });
    events = new NotifiedEvents(() => new Date(clock));
    deps = {
      store,
      minter: createTokenMinter(
        {
          sleep: async () => undefined,
          maxAttempts: 2,
          baseBackoffMs: 1,
          now,
          fetch: (async (input: string | URL | Request, init?: RequestInit) =>
            String(input).startsWith(imburse.baseUrl) && clock < imburseDownUntil
              ? new Response('{"errors":[{"errorCode":"ServiceUnavailable","message":"down"}]}', { status: 503 })
              : fetch(input, init)) as typeof fetch,
        },
        now,
      ),
      events,
      metrics: new CapturingMetrics(),
      logger: captureLogger().logger,
      policy: DEFAULT_REFRESH_POLICY,
      now: () => new Date(clock),
      random: prng(7),
    };
  });

  afterEach(async () => {
    await Promise.all([oauth?.close(), imburse?.close()]);
  });

  const tokenOf = (secret: string) => JSON.parse(store.value(secret) as string) as { accessToken: string; issuedAt: string; expiresAt: string };

  it.each([
    { name: 'defaults (renew at 75-80%): outages up to 2 min', policy: DEFAULT_REFRESH_POLICY, maxOutage: 2 * MINUTE },
    { name: 'renewAtFraction 0.5: outages of a whole quarter (15 min)', policy: { ...DEFAULT_REFRESH_POLICY, renewAtFraction: 0.5 }, maxOutage: 15 * MINUTE },
  ])('$name — a valid token in every secret before and after every run, no renewal before the fraction, at most one per run', async ({ policy, maxOutage }) => {
    deps = { ...deps, policy };
    const secrets = ['keyrotor/thrive-prod/token', 'keyrotor/payments-token/token'];
    const random = prng(42);
    let outageUntil = 0;
    const end = clock + DAYS * 24 * HOUR;
    let runs = 0;
    while (clock < end) {
      // An outage now and then, of the longest length the policy tolerates for the shortest-lived token.
      if (clock >= outageUntil && random() < 0.03) {
        // Half of the outages are as long as tolerated, the rest shorter
        outageUntil = clock + (random() < 0.5 ? maxOutage : Math.floor(random() * maxOutage));
        oauth.outage(outageUntil);
        imburseDownUntil = outageUntil;
      }
      for (const secret of secrets.filter((s) => store.value(s)?.includes('accessToken'))) {
        const { expiresAt, refreshAt } = tokenOf(secret) as { expiresAt: string; refreshAt?: string };
        const expired = Date.parse(expiresAt) <= clock;
        expect(expired ? { secret, at: new Date(clock).toISOString(), expiresAt, refreshAt, outageUntil: new Date(outageUntil).toISOString() } : 'valid').toBe('valid');
      }
      const writesBefore = store.writes.length;
      await refreshTokens(deps);
      runs += 1;
      // Assess after every run
      for (const secret of secrets) {
        const token = tokenOf(secret);
        expect({ secret, at: new Date(clock).toISOString(), expired: Date.parse(token.expiresAt) <= clock }).toMatchObject({ expired: false });
        expect(oauth.validateToken(tokenOf('keyrotor/thrive-prod/token').accessToken)).toBe(true);
      }
      const writes = store.writes.slice(writesBefore);
      for (const secret of secrets) expect(writes.filter((w) => w.secret === secret).length).toBeLessThanOrEqual(1);
      clock += policy.windowMs;
    }
    // No renewal earlier than 75% of the replaced token's lifetime
    for (const secret of secrets) {
      const history = store.writes.filter((w) => w.secret === secret).map((w) => JSON.parse(w.value) as { issuedAt: string; expiresAt: string });
      for (let i = 1; i < history.length; i += 1) {
        const previous = history[i - 1] as { issuedAt: string; expiresAt: string };
        const lifetime = Date.parse(previous.expiresAt) - Date.parse(previous.issuedAt);
        expect(Date.parse((history[i] as { issuedAt: string }).issuedAt)).toBeGreaterThanOrEqual(Date.parse(previous.issuedAt) + lifetime * policy.renewAtFraction);
      }
      expect(history.length).toBeGreaterThan(DAYS * 24 * 0.9);
    }
    expect(runs).toBe((DAYS * 24 * 60) / 5);
    // Alerts: within the tolerance no token expires, so each outage that hit a renewal is one
    // WARNING and one all-clear, however many runs it failed; nothing for the rest.
    for (const secret of secrets) {
      const mine = events.events.filter((e) => e.detail.secret === secret);
      const episodes = mine.filter((e, i) => e.type === 'TokenRefreshFailed' && mine[i - 1]?.type !== 'TokenRefreshFailed').length;
      const open = mine.at(-1)?.type === 'TokenRefreshFailed' ? 1 : 0;
      expect({ secret, alerts: alertKinds(events, secret) }).toEqual({ secret, alerts: 'WR'.repeat(episodes - open) + 'W'.repeat(open) });
      expect(mine.filter((e) => e.type === 'TokenRefreshed').length).toBe(store.writes.filter((w) => w.secret === secret).length);
    }
    expect(events.alerts.every((a) => a.severity === 'WARNING')).toBe(true);
    for (const text of [JSON.stringify(events.events), JSON.stringify(events.alerts)]) {
      expect(text).not.toContain('client-secret-Qw3rTy-0987');
      for (const write of store.writes) expect(text).not.toContain((JSON.parse(write.value) as { accessToken: string }).accessToken);
    }
  });

  it('beyond that tolerance: keeps the old token, warns with the time left, then CRITICAL when it expires, then recovers', async () => {
    await refreshTokens(deps);
    const first = tokenOf('keyrotor/thrive-prod/token');
    // An outage of the whole last quarter of the token's life and more
    oauth.outage(clock + 70 * MINUTE);
    for (clock += 45 * MINUTE; clock <= Date.parse(first.expiresAt) + 5 * MINUTE; clock += DEFAULT_REFRESH_POLICY.windowMs) await refreshTokens(deps);
    expect(tokenOf('keyrotor/thrive-prod/token').accessToken).toBe(first.accessToken);
    // Every failed run is on the bus; a person got one WARNING and one CRITICAL
    const failures = events.events.filter((e) => e.type === 'TokenRefreshFailed' && e.detail.secret === 'keyrotor/thrive-prod/token');
    expect(failures.length).toBeGreaterThan(2);
    expect(alertKinds(events, 'keyrotor/thrive-prod/token')).toBe('WC');
    const thrive = events.alerts.filter((a) => a.subject.endsWith(' - keyrotor/thrive-prod/token'));
    expect(thrive[0]?.body).toMatch(/valid until \S+ \(\d+ min left\)/);
    expect(thrive[1]?.body).toContain('Applications reading it are failing now');
    clock += 10 * MINUTE;
    await refreshTokens(deps);
    expect(tokenOf('keyrotor/thrive-prod/token').accessToken).not.toBe(first.accessToken);
    expect(alertKinds(events, 'keyrotor/thrive-prod/token')).toBe('WCR');
    const all = events.alerts.filter((a) => a.subject.endsWith(' - keyrotor/thrive-prod/token'));
    expect(all.map((a) => a.severity)).toEqual(['WARNING', 'CRITICAL', 'WARNING']);
    expect(all[2]?.body).toContain('renewed again after earlier failures');
    expect(alertKinds(events, 'keyrotor/payments-token/token')).toBe('');
  });
});
