import {
  ProviderAuthError,
  ProviderResponseError,
  ProviderUnavailableError,
} from '../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../lambdas/core/redaction';
import { ThriveAdminTokenError, ThriveProvider, type ThriveValue } from '../../../lambdas/providers/thrive';
import { makeThriveApiKey, startThriveSandbox, type ThriveSandbox } from '../../support/sandboxes/thrive-sandbox';

const START = Date.parse('2026-11-23T10:00:00Z');
const MINUTE_MS = 60_000;
const YEAR_MS = 365 * 24 * 60 * MINUTE_MS;

/** Real HTTP between the provider and a local Thrive tenant (REST + GraphQL tenants endpoint), on one test clock. */
describe('Integration: ThriveProvider against the Thrive sandbox', () => {
  let clock: number;
  let sleeps: number[];
  let sandbox: ThriveSandbox;
  let provider: ThriveProvider;
  let oldKey: string;

  const current = (apiKey: string): ThriveValue => ({
    provider: 'thrive',
    environment: 'sandbox',
    baseUrl: sandbox.baseUrl,
    tenantId: sandbox.tenantId,
    apiKey,
    tenantsUrl: sandbox.tenantsUrl,
  });
  const target = () => ({ baseUrl: sandbox.baseUrl, environment: 'sandbox' as const });
  const issue = (adminToken: string, correlationId: string) =>
    provider.issueKeyWithAdminToken({ current: current(oldKey), target: target(), keyName: 'keyrotor-2026-11-23', adminToken, correlationId });

  async function start(options: { rejectAdminTokensWith?: 'graphql' | 'http-401' } = {}): Promise<void> {
    sandbox = await startThriveSandbox({ ...options, now: () => clock });
    oldKey = makeThriveApiKey();
    sandbox.addApiKey(oldKey);
  }

  beforeEach(async () => {
    clearRegisteredSecrets();
    clock = START;
    sleeps = [];
    provider = new ThriveProvider({
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
    it('proves a live key with GET /rest/v1/users?page=1&perPage=1 and HTTP Basic tenantId:apiKey', async () => {
      const result = await provider.verify(current(oldKey), target());

      expect(result).toEqual({ checked: `GET ${sandbox.baseUrl}/rest/v1/users → 200` });
      expect(sandbox.requests).toEqual([
        { method: 'GET', path: '/rest/v1/users', query: { page: '1', perPage: '1' }, authScheme: 'Basic', hasCorrelationId: false, contentType: undefined, status: 200, at: START },
      ]);
    });

    it('throws ProviderAuthError for a revoked key, a key of another tenant, and an unknown key', async () => {
      sandbox.revokeApiKey(oldKey);
      await expect(provider.verify(current(oldKey), target())).rejects.toThrow(ProviderAuthError);

      const other = makeThriveApiKey();
      sandbox.addApiKey(other);
      await expect(provider.verify({ ...current(other), tenantId: 'us-east-1_OtherTenant' }, target())).rejects.toMatchObject({
        name: 'ProviderAuthError',
        platformMessage: 'Unauthorized',
      });
      await expect(provider.verify(current(makeThriveApiKey()), target())).rejects.toThrow(ProviderAuthError);
    });
  });

  describe('Method: issueKeyWithAdminToken', () => {
    it('makes a new key with a fresh admin token that works for REST at once, valid for a year, beside the old one', async () => {
      // Prepare
      const admin = sandbox.issueAdminToken();

      // Act
      const issued = await issue(`Bearer ${admin.token}`, admin.correlationId);

      // Assess
      expect(issued.providerKeyId).toBeUndefined();
      expect(issued.value).toEqual({ ...current(oldKey), apiKey: expect.any(String), expiresAt: new Date(START + YEAR_MS).toISOString() });
      expect(issued.value.apiKey).not.toBe(oldKey);
      expect(sandbox.generatedKeyCount).toBe(1);
      expect(provider.formatProblems(issued.value, 'sandbox')).toEqual([]);
      await expect(provider.verify(issued.value, target())).resolves.toBeDefined();
      await expect(provider.verify(current(oldKey), target())).resolves.toBeDefined();
      expect(sandbox.requests[0]).toEqual({
        method: 'POST',
        path: '/tenants',
        query: {},
        authScheme: 'Bearer',
        hasCorrelationId: true,
        contentType: 'application/json',
        status: 200,
        at: START,
      });
      const recorded = JSON.stringify(sandbox.requests);
      for (const secret of [admin.token, admin.correlationId, issued.value.apiKey, oldKey]) expect(recorded).not.toContain(secret);
    });

    it('stops the new key working after its validUntil', async () => {
      const admin = sandbox.issueAdminToken();
      const issued = await issue(admin.token, admin.correlationId);

      clock = START + YEAR_MS;

      await expect(provider.verify(issued.value, target())).rejects.toThrow(ProviderAuthError);
    });

    it.each(['graphql', 'http-401'] as const)('throws ThriveAdminTokenError for an admin token past its 60 minutes (refused as %s)', async (style) => {
      // Prepare
      await sandbox.close();
      await start({ rejectAdminTokensWith: style });
      const admin = sandbox.issueAdminToken();
      clock += 60 * MINUTE_MS;

      // Act
      const error = await issue(admin.token, admin.correlationId).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ThriveAdminTokenError);
      expect(error).toBeInstanceOf(ProviderAuthError);
      expect((error as Error).message).toContain('admin tokens last 60 minutes');
      expect((error as Error).message).toContain('Copy a fresh Authorization value and Correlation-Id');
      expect((error as Error).message).not.toContain(admin.token);
      expect(sandbox.requests.map((r) => [r.status, r.graphqlErrorCode])).toEqual([style === 'graphql' ? [200, 'UNAUTHENTICATED'] : [401, undefined]]);
      expect(sandbox.generatedKeyCount).toBe(0);
    });

    it('accepts an admin token up to the end of its 60 minutes', async () => {
      const admin = sandbox.issueAdminToken();
      clock += 60 * MINUTE_MS - 1;

      await expect(issue(admin.token, admin.correlationId)).resolves.toBeDefined();
    });

    it('throws ThriveAdminTokenError for a correlation id of another session, or an unknown token', async () => {
      const first = sandbox.issueAdminToken();
      const second = sandbox.issueAdminToken();

      await expect(issue(first.token, second.correlationId)).rejects.toThrow(ThriveAdminTokenError);
      await expect(issue('eyJunknownTokenOfNoSession000000', first.correlationId)).rejects.toThrow(ThriveAdminTokenError);
      expect(sandbox.generatedKeyCount).toBe(0);
    });

    it('does not repeat the POST after a 5xx, so no second key can be made', async () => {
      const admin = sandbox.issueAdminToken();
      sandbox.failNext(1, 503);

      await expect(issue(admin.token, admin.correlationId)).rejects.toThrow(ProviderUnavailableError);

      expect(sandbox.requests.filter((r) => r.path === '/tenants')).toHaveLength(1);
    });

    it('repeats the POST after a 429, waiting for its Retry-After', async () => {
      const admin = sandbox.issueAdminToken();
      sandbox.failNext(1, 429, 4);

      const issued = await issue(admin.token, admin.correlationId);

      expect(sleeps).toEqual([4000]);
      expect(sandbox.requests.map((r) => r.status)).toEqual([429, 200]);
      expect(sandbox.generatedKeyCount).toBe(1);
      expect(issued.value.expiresAt).toBe(new Date(START + 4000 + YEAR_MS).toISOString());
    });

    it('maps an unexpected status from the tenants endpoint to ProviderResponseError', async () => {
      const admin = sandbox.issueAdminToken();
      // A tenantsUrl that points at no endpoint: the sandbox answers 404.
      const error = await provider
        .issueKeyWithAdminToken({
          current: { ...current(oldKey), tenantsUrl: `${sandbox.baseUrl}/nowhere` },
          target: target(),
          keyName: 'k',
          adminToken: admin.token,
          correlationId: admin.correlationId,
        })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect((error as ProviderResponseError).status).toBe(404);
    });
  });

  describe('Sandbox: startThriveSandbox', () => {
    const post = (body: string, headers: Record<string, string>) => fetch(sandbox.tenantsUrl, { method: 'POST', body, headers });

    it('puts the tenants endpoint on the same loopback server', () => {
      expect(sandbox.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(sandbox.tenantsUrl).toBe(`${sandbox.baseUrl}/tenants`);
      expect(sandbox.tenantId).toMatch(/^[a-z]{2}-[a-z]+-\d_[A-Za-z0-9]+$/);
    });

    it('accepts the documented mutation however it is laid out, and refuses other operations', async () => {
      const admin = sandbox.issueAdminToken();
      const headers = { authorization: `Bearer ${admin.token}`, 'correlation-id': admin.correlationId, 'content-type': 'application/json' };
      const asDocumented = 'mutation {\ngenerateApiKey (\ntokenType: "permanent", services: ["api-service"]\n) {\nvalidUntil,\napiKey\n}\n}';

      const ok = await post(JSON.stringify({ query: asDocumented }), headers);
      const otherArgs = await post(JSON.stringify({ query: 'mutation { generateApiKey(tokenType: "temporary") { apiKey } }' }), headers);
      const unknown = await post(JSON.stringify({ query: '{ users { id } }' }), headers);
      const noCorrelation = await post(JSON.stringify({ query: asDocumented }), { authorization: headers.authorization });
      const noBearer = await post('{}', { 'correlation-id': admin.correlationId });

      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { data: { generateApiKey: { apiKey: string } } }).data.generateApiKey.apiKey).toMatch(/^[A-Za-z0-9]{48}$/);
      expect([otherArgs.status, unknown.status, noCorrelation.status, noBearer.status]).toEqual([200, 400, 400, 401]);
      expect(sandbox.requests.map((r) => r.graphqlErrorCode)).toEqual([undefined, 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', undefined]);
      expect(sandbox.generatedKeyCount).toBe(1);
    });

    it('answers REST calls with a page of users', async () => {
      const response = await fetch(`${sandbox.baseUrl}/rest/v1/users?page=2&perPage=10`, {
        headers: { authorization: `Basic ${Buffer.from(`${sandbox.tenantId}:${oldKey}`).toString('base64')}` },
      });

      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ page: 2, perPage: 10, total: 30, users: expect.any(Array) });
    });

    it('refuses malformed keys and failure injections it cannot honour', () => {
      expect(() => sandbox.addApiKey('a b')).toThrow(TypeError);
      expect(() => sandbox.failNext(-1, 503)).toThrow(RangeError);
    });
  });
});
