import {
  ProviderAuthError,
  ProviderPermissionError,
  ProviderRateLimitError,
  ProviderUnavailableError,
  SecretStateError,
} from '../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../lambdas/core/redaction';
import { BossInsightsProvider, type BossInsightsValue } from '../../../lambdas/providers/boss-insights';
import { startBossInsightsSandbox, type BossInsightsSandbox } from '../../support/sandboxes/boss-insights-sandbox';

/**
 * The Boss Insights provider over real HTTP against the local admin-API sandbox: the calls a
 * rotation makes (verify, issue, verify the new key, revoke the old one) and the refusals.
 */
describe('Integration: Boss Insights provider (admin API sandbox)', () => {
  let sandbox: BossInsightsSandbox;
  let provider: BossInsightsProvider;
  let target: { baseUrl: string; environment: 'production' };

  const valueFor = (key: { id: string; key: string }, overrides: Partial<BossInsightsValue> = {}): BossInsightsValue => ({
    provider: 'boss-insights',
    environment: 'production',
    baseUrl: sandbox.baseUrl,
    apiKey: key.key,
    accountKey: sandbox.accountKey,
    providerKeyId: key.id,
    ...overrides,
  });

  beforeEach(async () => {
    clearRegisteredSecrets();
    sandbox = await startBossInsightsSandbox();
    provider = new BossInsightsProvider({ sleep: async () => undefined, baseBackoffMs: 1 });
    target = { baseUrl: sandbox.baseUrl, environment: 'production' };
  });

  afterEach(async () => {
    await sandbox.close();
  });

  describe('Method: verify', () => {
    it('proves a live key with the list call', async () => {
      const key = sandbox.addKey({ scopes: ['read:companies'] });

      const result = await provider.verify(valueFor(key), target);

      expect(result).toEqual({ checked: `GET ${sandbox.baseUrl}/api/admin/api-keys → 200` });
      expect(sandbox.requests).toEqual([expect.objectContaining({ method: 'GET', path: '/api/admin/api-keys', hasAuthorization: true, hasAccountKey: true, status: 200 })]);
    });

    it.each([
      ['an unknown key', (key: { id: string; key: string }) => ({ ...key, key: `${key.key}x` }), {}],
      ['a wrong Account-Key', (key: { id: string; key: string }) => key, { accountKey: 'wrongACCOUNTkey000000000' }],
    ])('throws ProviderAuthError for %s', async (_what, change, overrides) => {
      const key = sandbox.addKey({ scopes: ['admin'] });

      await expect(provider.verify(valueFor(change(key), overrides), target)).rejects.toThrow(ProviderAuthError);
    });

    it('throws ProviderAuthError for an inactive key', async () => {
      const key = sandbox.addKey({ scopes: ['admin'], active: false });

      await expect(provider.verify(valueFor(key), target)).rejects.toMatchObject({ name: 'ProviderAuthError', status: 401 });
    });

    it('waits out a 429 and answers', async () => {
      const key = sandbox.addKey({ scopes: ['admin'] });
      const sleeps: number[] = [];
      const patient = new BossInsightsProvider({ sleep: async (ms) => void sleeps.push(ms) });
      sandbox.failNext(1, 429, 2);

      await patient.verify(valueFor(key), target);

      expect(sleeps).toEqual([2000]);
      expect(sandbox.requests.map((request) => request.status)).toEqual([429, 200]);
    });

    it('throws ProviderRateLimitError once the sandbox rate limit is exhausted and Retry-After is too long', async () => {
      await sandbox.close();
      sandbox = await startBossInsightsSandbox({ rateLimit: 1, rateWindowMs: 3_600_000 });
      target = { baseUrl: sandbox.baseUrl, environment: 'production' };
      const key = sandbox.addKey({ scopes: ['admin'] });
      await provider.verify(valueFor(key), target);

      await expect(provider.verify(valueFor(key), target)).rejects.toThrow(ProviderRateLimitError);
    });
  });

  describe('Method: listKeys', () => {
    it('lists every key with its active flag and scopes', async () => {
      const admin = sandbox.addKey({ scopes: ['admin', 'read:companies'], name: 'ops' });
      const old = sandbox.addKey({ scopes: ['read:companies'], active: false, name: 'old' });

      const keys = await provider.listKeys({ authenticateWith: valueFor(admin), target });

      expect(keys).toEqual([
        expect.objectContaining({ providerKeyId: admin.id, name: 'ops', active: true, scopes: ['admin', 'read:companies'] }),
        expect.objectContaining({ providerKeyId: old.id, name: 'old', active: false, scopes: ['read:companies'] }),
      ]);
    });
  });

  describe('Rotation: issue, verify, revoke', () => {
    it('creates a key with the same scopes, which works, and inactivates the old one, which then answers 401', async () => {
      // Prepare
      const oldKey = sandbox.addKey({ scopes: ['admin', 'read:companies', 'write:documents'], name: 'app' });
      const current = valueFor(oldKey);

      // Act
      const issued = await provider.issueKey({ current, target, keyName: 'keyrotor-2026-11-23-abcd' });
      const verified = await provider.verify(issued.value, target);
      const revoked = await provider.revokeKey({ authenticateWith: issued.value, providerKeyId: oldKey.id, target });

      // Assess
      expect(issued.providerKeyId).toBe(issued.value.providerKeyId);
      expect(issued.value).toEqual({ ...current, apiKey: expect.any(String), providerKeyId: issued.providerKeyId });
      expect(issued.value.apiKey).not.toBe(oldKey.key);
      expect(verified.checked).toContain('→ 200');
      expect(revoked).toBe('revoked');
      expect(sandbox.keys()).toEqual([
        expect.objectContaining({ id: oldKey.id, name: 'app', active: false }),
        expect.objectContaining({ id: issued.providerKeyId, name: 'keyrotor-2026-11-23-abcd', scopes: ['admin', 'read:companies', 'write:documents'], active: true }),
      ]);
      await expect(provider.verify(current, target)).rejects.toThrow(ProviderAuthError);
      await expect(provider.verify(issued.value, target)).resolves.toBeDefined();
    });

    it('answers already-revoked when the old key is revoked twice, or was never there', async () => {
      const oldKey = sandbox.addKey({ scopes: ['admin'] });
      const newKey = sandbox.addKey({ scopes: ['admin'] });
      const request = { authenticateWith: valueFor(newKey), providerKeyId: oldKey.id, target };

      expect(await provider.revokeKey(request)).toBe('revoked');
      expect(await provider.revokeKey(request)).toBe('already-revoked');
      expect(await provider.revokeKey({ ...request, providerKeyId: 'key_doesnotexist' })).toBe('already-revoked');
      expect(sandbox.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    });

    it('refuses to inactivate the key it authenticates with', async () => {
      const key = sandbox.addKey({ scopes: ['admin'] });

      await expect(provider.revokeKey({ authenticateWith: valueFor(key), providerKeyId: key.id, target })).rejects.toThrow(SecretStateError);
      expect(sandbox.requests).toHaveLength(0);
      expect(sandbox.keys()[0].active).toBe(true);
    });

    it('cannot issue with a key that lacks the admin scope, and creates nothing', async () => {
      const key = sandbox.addKey({ scopes: ['read:companies'] });

      const error = await provider.issueKey({ current: valueFor(key), target, keyName: 'keyrotor-x' }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderPermissionError);
      expect(error).toMatchObject({ status: 403 });
      expect(sandbox.keys()).toHaveLength(1);
    });

    it('cannot revoke with a key that lacks the admin scope', async () => {
      const reader = sandbox.addKey({ scopes: ['read:companies'] });
      const other = sandbox.addKey({ scopes: ['admin'] });

      await expect(provider.revokeKey({ authenticateWith: valueFor(reader), providerKeyId: other.id, target })).rejects.toThrow(ProviderPermissionError);
      expect(sandbox.keys()[1].active).toBe(true);
    });

    it('sends the create call once when the platform answers 500 before creating anything', async () => {
      const key = sandbox.addKey({ scopes: ['admin'] });
      sandbox.failNext(1, 500, undefined, { method: 'POST' });

      await expect(provider.issueKey({ current: valueFor(key), target, keyName: 'keyrotor-y' })).rejects.toThrow(ProviderUnavailableError);
      expect(sandbox.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
      expect(sandbox.keys()).toHaveLength(1);
    });

    it('does not repeat the create call when the key was made but the answer was a 503, leaving one key to find by name', async () => {
      const key = sandbox.addKey({ scopes: ['admin'] });
      sandbox.failNext(1, 503, undefined, { method: 'POST', afterProcessing: true });

      await expect(provider.issueKey({ current: valueFor(key), target, keyName: 'keyrotor-orphan' })).rejects.toThrow(ProviderUnavailableError);

      expect(sandbox.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
      const orphans = (await provider.listKeys({ authenticateWith: valueFor(key), target })).filter((k) => k.name === 'keyrotor-orphan');
      expect(orphans).toEqual([expect.objectContaining({ active: true })]);
      expect(await provider.revokeKey({ authenticateWith: valueFor(key), providerKeyId: orphans[0].providerKeyId, target })).toBe('revoked');
    });

    it('repeats the create call after a 429, which the platform did not process', async () => {
      const key = sandbox.addKey({ scopes: ['admin'] });
      sandbox.failNext(1, 429, 1, { method: 'POST' });

      const issued = await provider.issueKey({ current: valueFor(key), target, keyName: 'keyrotor-limited' });

      expect(sandbox.requests.filter((r) => r.method === 'POST').map((r) => r.status)).toEqual([429, 201]);
      expect(sandbox.keys().map((k) => k.id)).toEqual([key.id, issued.providerKeyId]);
    });
  });

  it('never records a credential', async () => {
    const oldKey = sandbox.addKey({ scopes: ['admin'] });
    const issued = await provider.issueKey({ current: valueFor(oldKey), target, keyName: 'keyrotor-z' });
    await provider.revokeKey({ authenticateWith: issued.value, providerKeyId: oldKey.id, target });

    const recorded = JSON.stringify(sandbox.requests);

    for (const secret of [oldKey.key, issued.value.apiKey, sandbox.accountKey]) expect(recorded).not.toContain(secret);
    expect(sandbox.requests.find((r) => r.method === 'POST')?.body).toEqual({ name: 'keyrotor-z', scopes: ['admin'], active: true });
  });

  describe('Sandbox: the admin API as documented', () => {
    const call = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
      fetch(`${sandbox.baseUrl}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
    const basic = (user: string, password = '') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

    it('accepts the key only as the Basic user name with an empty password, with the Account-Key', async () => {
      const key = sandbox.addKey({ scopes: ['admin'] });
      const statuses = await Promise.all([
        call('GET', '/api/admin/api-keys', { authorization: basic(key.key), 'account-key': sandbox.accountKey }),
        call('GET', '/api/admin/api-keys', { authorization: basic(key.key, 'x'), 'account-key': sandbox.accountKey }),
        call('GET', '/api/admin/api-keys', { authorization: basic(key.key) }),
        call('GET', '/api/admin/api-keys', { authorization: `Bearer ${key.key}`, 'account-key': sandbox.accountKey }),
      ]).then((responses) => responses.map((r) => r.status));

      expect(statuses).toEqual([200, 401, 401, 401]);
    });

    it('answers errors as {"error":{"code","message"}} and never lists key material', async () => {
      const admin = sandbox.addKey({ scopes: ['admin'] });
      const reader = sandbox.addKey({ scopes: ['read:companies'] });
      const auth = (key: { key: string }) => ({ authorization: basic(key.key), 'account-key': sandbox.accountKey });

      const forbidden = await call('POST', '/api/admin/api-keys', auth(reader), { name: 'n', scopes: ['admin'], active: true });
      const missing = await call('PATCH', '/api/admin/api-keys/key_nope', auth(admin), { active: false });
      const unauthorized = await call('GET', '/api/admin/api-keys', {});
      const listed = await call('GET', '/api/admin/api-keys', auth(admin));

      expect([forbidden.status, await forbidden.json()]).toEqual([403, { error: { code: 'forbidden', message: expect.any(String) } }]);
      expect([missing.status, await missing.json()]).toEqual([404, { error: { code: 'not_found', message: expect.any(String) } }]);
      expect([unauthorized.status, await unauthorized.json()]).toEqual([401, { error: { code: 'unauthorized', message: expect.any(String) } }]);
      const text = await listed.text();
      expect(text).not.toContain(admin.key);
      expect(text).not.toContain(reader.key);
    });

    it('shows a new key once, in the 201 answer, and stops an inactive key at once', async () => {
      const admin = sandbox.addKey({ scopes: ['admin'] });
      const auth = { authorization: basic(admin.key), 'account-key': sandbox.accountKey };

      const created = (await (await call('POST', '/api/admin/api-keys', auth, { name: 'new', scopes: ['read:companies'], active: true })).json()) as { id: string; key: string };
      const newAuth = { authorization: basic(created.key), 'account-key': sandbox.accountKey };
      const before = (await call('GET', '/api/admin/api-keys', newAuth)).status;
      await call('PATCH', `/api/admin/api-keys/${created.id}`, auth, { active: false });
      const after = (await call('GET', '/api/admin/api-keys', newAuth)).status;

      expect(created).toEqual({ id: expect.stringMatching(/^key_/), name: 'new', scopes: ['read:companies'], active: true, createdAt: expect.any(String), key: expect.any(String) });
      expect([before, after]).toEqual([200, 401]);
    });
  });
});
