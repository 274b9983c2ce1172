import { ProviderAuthError, ProviderRateLimitError, ValidationError } from '../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../lambdas/core/redaction';
import { ThinkificProvider, type ThinkificValue } from '../../../lambdas/providers/thinkific';
import { makeThinkificToken, startThinkificSandbox, type ThinkificSandbox } from '../../support/sandboxes/thinkific-sandbox';

const START = Date.parse('2026-11-23T10:00:00Z');
const DAY_MS = 24 * 60 * 60_000;

/** Real HTTP between the provider and a local Thinkific sandbox, both on one test clock. */
describe('Integration: ThinkificProvider against the Thinkific sandbox', () => {
  let clock: number;
  let sleeps: number[];
  let sandbox: ThinkificSandbox;
  let provider: ThinkificProvider;
  let token: string;

  const value = (apiKey: string): ThinkificValue => ({ provider: 'thinkific', environment: 'production', baseUrl: sandbox.baseUrl, apiKey });
  const target = () => ({ baseUrl: sandbox.baseUrl, environment: 'production' as const });

  async function start(options: { rateLimitPerMinute?: number } = {}): Promise<void> {
    sandbox = await startThinkificSandbox({ ...options, now: () => clock });
    token = makeThinkificToken();
    sandbox.addToken(token, { expiresAt: START + 30 * DAY_MS });
  }

  beforeEach(async () => {
    clearRegisteredSecrets();
    clock = START;
    sleeps = [];
    // The provider's waits move the shared clock instead of passing real time.
    provider = new ThinkificProvider({
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    });
    await start();
  });

  afterEach(async () => {
    await sandbox.close();
  });

  describe('Method: verify', () => {
    it('proves a live token with GET /api/public/v1/users?limit=1 and a Bearer header', async () => {
      // Act
      const result = await provider.verify(value(token), target());

      // Assess
      expect(result).toEqual({ checked: `GET ${sandbox.baseUrl}/api/public/v1/users → 200` });
      expect(sandbox.requests).toEqual([{ method: 'GET', path: '/api/public/v1/users', query: { limit: '1' }, authScheme: 'Bearer', status: 200, at: START }]);
      expect(JSON.stringify(sandbox.requests)).not.toContain(token);
    });

    it('throws ProviderAuthError ("Authentication Error") once a token is removed, at once', async () => {
      // Prepare
      await provider.verify(value(token), target());
      sandbox.removeToken(token);

      // Act
      const error = await provider.verify(value(token), target()).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ProviderAuthError);
      expect(error).toMatchObject({ provider: 'thinkific', status: 401, platformMessage: 'Authentication Error' });
      expect((error as Error).message).not.toContain(token);
    });

    it('throws ProviderAuthError once the token has passed its expiry date', async () => {
      await provider.verify(value(token), target());

      clock = START + 30 * DAY_MS;

      await expect(provider.verify(value(token), target())).rejects.toThrow(ProviderAuthError);
    });

    it('throws ProviderAuthError for a token the site never had', async () => {
      await expect(provider.verify(value(makeThinkificToken()), target())).rejects.toMatchObject({ name: 'ProviderAuthError', platformMessage: 'Authentication Error' });
    });

    it('waits for the Retry-After of the 120-per-minute limit and then succeeds', async () => {
      // Prepare: a site limited to 3 requests a minute, 3 already made 10 s into the window.
      await sandbox.close();
      await start({ rateLimitPerMinute: 3 });
      for (let i = 0; i < 3; i += 1) await provider.verify(value(token), target());
      clock += 10_000;

      // Act
      await provider.verify(value(token), target());

      // Assess
      expect(sleeps).toEqual([50_000]);
      expect(sandbox.requests.map((r) => r.status)).toEqual([200, 200, 200, 429, 200]);
    });

    it('allows 120 requests a minute by default', async () => {
      for (let i = 0; i < 120; i += 1) await provider.verify(value(token), target());

      await provider.verify(value(token), target());

      expect(sandbox.requests.filter((r) => r.status === 429)).toHaveLength(1);
      expect(sleeps).toEqual([60_000]);
    });

    it('retries 5xx answers and fails fast on a Retry-After longer than it may wait', async () => {
      sandbox.failNext(2, 503);
      await provider.verify(value(token), target());
      expect(sandbox.requests.map((r) => r.status)).toEqual([503, 503, 200]);

      sandbox.failNext(1, 429, 300);
      const error = await provider.verify(value(token), target()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderRateLimitError);
      expect(error).toMatchObject({ retryAfterMs: 300_000 });
    });
  });

  describe('Method: parseSubmission', () => {
    it('gives a submitted token the declared expiry, which the site then enforces', async () => {
      // Prepare: a person made a new token expiring at the end of 2026-12-31 and submits it.
      const fresh = makeThinkificToken();
      const submitted = provider.parseSubmission(`${fresh}\n`, { expiresAt: '2026-12-31' });
      sandbox.addToken(fresh, { expiresAt: submitted.expiresAt });

      // Act & Assess
      expect(submitted).toEqual({ apiKey: fresh, expiresAt: '2026-12-31T23:59:59.999Z' });
      await expect(provider.verify(value(fresh), target())).resolves.toBeDefined();
      clock = Date.parse('2027-01-01T00:00:00Z');
      await expect(provider.verify(value(fresh), target())).rejects.toThrow(ProviderAuthError);
    });

    it('refuses an expiry date already past by the shared clock', () => {
      clock = Date.parse('2027-01-01T00:00:00Z');

      expect(() => provider.parseSubmission(makeThinkificToken(), { expiresAt: '2026-12-31' })).toThrow(ValidationError);
    });
  });

  describe('Sandbox: startThinkificSandbox', () => {
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${sandbox.baseUrl}${path}`, { headers });

    it('pages users with Thinkific\'s items/meta.pagination shape', async () => {
      const response = await get('/api/public/v1/users?limit=25&page=3', { authorization: `Bearer ${token}` });

      expect(response.status).toBe(200);
      const body = (await response.json()) as { items: unknown[]; meta: { pagination: Record<string, unknown> } };
      expect(body.items).toHaveLength(10);
      expect(body.meta.pagination).toEqual({ current_page: 3, next_page: null, prev_page: 2, total_pages: 3, total_items: 60, entries_info: '51-60 of 60' });
    });

    it('answers 401 {"error":"Authentication Error"} without a Bearer token, and 404 off the API', async () => {
      const unauthenticated = await get('/api/public/v1/users', { authorization: `Basic ${token}` });
      expect(unauthenticated.status).toBe(401);
      expect(await unauthenticated.text()).toBe('{"error":"Authentication Error"}');

      expect((await get('/api/public/v1/courses', { authorization: `Bearer ${token}` })).status).toBe(404);
      expect((await get('/elsewhere')).status).toBe(404);
      expect(sandbox.requests.map((r) => r.authScheme)).toEqual(['Basic', 'Bearer', undefined]);
    });

    it('refuses malformed tokens and failure injections it cannot honour', () => {
      expect(() => sandbox.addToken('short')).toThrow(TypeError);
      expect(() => sandbox.addToken(makeThinkificToken(), { expiresAt: 'soon' })).toThrow(TypeError);
      expect(() => sandbox.failNext(1, 404 as 500)).toThrow(RangeError);
    });

    it('closes twice without error', async () => {
      await sandbox.close();
      await expect(sandbox.close()).resolves.toBeUndefined();
    });
  });
});
