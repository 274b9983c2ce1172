import {
  ProviderAuthError,
  ProviderRateLimitError,
  ProviderUnavailableError,
} from '../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../lambdas/core/redaction';
import {
  ClientCredentialsTokenSource,
  OAuthClientAuthError,
  OAuthError,
  type ClientCredentials,
  type ClientCredentialsRequest,
} from '../../../lambdas/providers/oauth/client-credentials';
import { startOAuthTokenSandbox, type OAuthTokenSandbox } from '../../support/sandboxes/oauth-token-sandbox';

const START = Date.parse('2026-11-23T10:00:00Z');
const HOUR_MS = 3_600_000;
const THRIVE: ClientCredentials = { clientId: '4f1c2a9e7b3d', clientSecret: 'thrive-Cl13nt-S3cret-0987654321' };
/** Characters that need form-encoding in both halves of the Basic credentials. */
const AWKWARD: ClientCredentials = { clientId: 'a:b', clientSecret: 'p@ss word+%/=' };

/** Real HTTP between ClientCredentialsTokenSource and the local token endpoint, on one test clock. */
describe('Integration: ClientCredentialsTokenSource against the OAuth token sandbox', () => {
  let clock: number;
  let sleeps: number[];
  let sandbox: OAuthTokenSandbox;
  let tokens: ClientCredentialsTokenSource;

  const request = (overrides: Partial<ClientCredentialsRequest> = {}): ClientCredentialsRequest => ({
    tokenUrl: sandbox.tokenUrl,
    credentials: THRIVE,
    scopes: ['api/read'],
    ...overrides,
  });

  beforeEach(async () => {
    clearRegisteredSecrets();
    clock = START;
    sleeps = [];
    sandbox = await startOAuthTokenSandbox({ now: () => clock });
    sandbox.addClient({ ...THRIVE, scopes: ['api/read', 'api/write'] });
    tokens = new ClientCredentialsTokenSource(
      'thrive',
      {
        random: () => 1,
        baseBackoffMs: 100,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
      },
      { now: () => clock },
    );
  });

  afterEach(async () => {
    await sandbox.close();
  });

  describe('Method: mint', () => {
    it('mints a 1-hour bearer token with HTTP Basic client authentication, and the sandbox accepts it', async () => {
      // Act
      const token = await tokens.mint(request());

      // Assess
      expect(sandbox.tokenUrl).toBe(`${sandbox.baseUrl}/oauth2/token/eu-west-2_AbcdEfghI`);
      expect(token).toEqual({
        accessToken: expect.stringMatching(/^oat_/),
        tokenType: 'Bearer',
        issuedAt: '2026-11-23T10:00:00.000Z',
        expiresAt: '2026-11-23T11:00:00.000Z',
      });
      expect(sandbox.validateToken(token.accessToken)).toBe(true);
      expect(sandbox.issued()).toEqual([
        { clientId: THRIVE.clientId, accessToken: token.accessToken, scopes: ['api/read'], issuedAt: token.issuedAt, expiresAt: token.expiresAt },
      ]);
      expect(sandbox.requests).toEqual([
        {
          method: 'POST',
          path: '/oauth2/token/eu-west-2_AbcdEfghI',
          contentType: 'application/x-www-form-urlencoded',
          authScheme: 'Basic',
          clientAuth: 'basic',
          clientId: THRIVE.clientId,
          params: ['grant_type', 'scope'],
          grantType: 'client_credentials',
          scope: 'api/read',
          status: 200,
          at: START,
        },
      ]);
    });

    it('mints with client_id and client_secret in the form body', async () => {
      sandbox.addClient({ ...THRIVE, auth: 'body' });

      const token = await tokens.mint(request({ clientAuth: 'body', scopes: undefined }));

      expect(sandbox.validateToken(token.accessToken)).toBe(true);
      expect(sandbox.requests[0]).toMatchObject({ authScheme: undefined, clientAuth: 'body', params: ['grant_type', 'client_id', 'client_secret'], status: 200 });
    });

    it.each(['basic', 'body'] as const)('form-encodes a client id and secret with reserved characters (%s)', async (clientAuth) => {
      sandbox.addClient({ ...AWKWARD, auth: clientAuth });

      const token = await tokens.mint(request({ credentials: AWKWARD, clientAuth, scopes: [] }));

      expect(sandbox.validateToken(token.accessToken)).toBe(true);
      expect(sandbox.requests[0]).toMatchObject({ clientId: 'a:b', status: 200 });
    });

    it('asks for several scopes at once', async () => {
      const token = await tokens.mint(request({ scopes: ['api/read', 'api/write'] }));

      expect(sandbox.issued()[0]).toMatchObject({ accessToken: token.accessToken, scopes: ['api/read', 'api/write'] });
      expect(sandbox.requests[0].scope).toBe('api/read api/write');
    });

    it('takes the lifetime from expires_in, and the token stops validating when it expires', async () => {
      sandbox.setTokenLifetime(900);

      const token = await tokens.mint(request());

      expect(token.expiresAt).toBe('2026-11-23T10:15:00.000Z');
      clock = Date.parse(token.expiresAt) - 1;
      expect(sandbox.validateToken(token.accessToken)).toBe(true);
      clock = Date.parse(token.expiresAt);
      expect(sandbox.validateToken(token.accessToken)).toBe(false);
      expect(sandbox.validateToken('oat_never-issued')).toBe(false);
    });

    it('throws OAuthClientAuthError (a ProviderAuthError) for a wrong secret, after one request', async () => {
      // Act
      const result = tokens.mint(request({ credentials: { ...THRIVE, clientSecret: 'thrive-Wrong-S3cret-1234567890' } }));

      // Assess
      await expect(result).rejects.toThrow(OAuthClientAuthError);
      await expect(result).rejects.toThrow(ProviderAuthError);
      await expect(result).rejects.toMatchObject({ provider: 'thrive', status: 401, code: 'invalid_client', description: 'Client authentication failed.' });
      expect(sandbox.requests).toEqual([expect.objectContaining({ status: 401, error: 'invalid_client' })]);
      const error = (await result.catch((e: unknown) => e)) as Error;
      expect(error.message).not.toContain('thrive-Wrong-S3cret-1234567890');
      expect(error.message).not.toContain(THRIVE.clientSecret);
    });

    it.each([
      ['an unknown client', () => ({ credentials: { clientId: 'nobody', clientSecret: THRIVE.clientSecret } })],
      ['a revoked client', () => (sandbox.revokeClient(THRIVE.clientId), {})],
      ['a client that allows only Basic, sending body credentials', () => (sandbox.addClient({ ...THRIVE, auth: 'basic' }), { clientAuth: 'body' as const })],
    ])('throws OAuthClientAuthError for %s', async (_what, prepare) => {
      await expect(tokens.mint(request(prepare()))).rejects.toMatchObject({ name: 'OAuthClientAuthError', code: 'invalid_client' });
    });

    it('keeps tokens issued before a client is revoked valid until they expire', async () => {
      const token = await tokens.mint(request());

      sandbox.revokeClient(THRIVE.clientId);

      expect(sandbox.validateToken(token.accessToken)).toBe(true);
    });

    it('throws OAuthError invalid_scope for a scope the client is not allowed', async () => {
      const result = tokens.mint(request({ scopes: ['api/read', 'api/admin'] }));

      await expect(result).rejects.toThrow(OAuthError);
      await expect(result).rejects.toMatchObject({ code: 'invalid_scope', status: 400, description: 'Scope api/admin is not allowed for this client.' });
      await expect(result).rejects.toThrow(/a requested scope "api\/read api\/admin" is unknown or not allowed for client "4f1c2a9e7b3d"/);
      expect(sandbox.issued()).toEqual([]);
    });

    it('throws ProviderUnavailableError during a long outage, without waiting for it', async () => {
      sandbox.outage(START + HOUR_MS);

      const result = tokens.mint(request());

      await expect(result).rejects.toThrow(ProviderUnavailableError);
      await expect(result).rejects.toMatchObject({ provider: 'thrive', status: 503 });
      // Retry-After (3600 s) is beyond the helper's limit: one request, no sleep.
      expect(sandbox.requests).toHaveLength(1);
      expect(sleeps).toEqual([]);
    });

    it('waits out a short outage as Retry-After asks and mints when it is over', async () => {
      sandbox.outage(START + 2000);

      const token = await tokens.mint(request());

      expect(sleeps).toEqual([2000]);
      expect(sandbox.requests.map((r) => r.status)).toEqual([503, 200]);
      expect(token.issuedAt).toBe('2026-11-23T10:00:02.000Z');
      expect(sandbox.validateToken(token.accessToken)).toBe(true);
    });

    it('retries 5xx with back-off and 429 after Retry-After', async () => {
      sandbox.failNext(1, 500);
      sandbox.failNext(1, 429, 3);

      const token = await tokens.mint(request());

      expect(sandbox.requests.map((r) => r.status)).toEqual([500, 429, 200]);
      expect(sleeps).toEqual([100, 3000]);
      expect(sandbox.validateToken(token.accessToken)).toBe(true);
    });

    it('throws ProviderRateLimitError when the endpoint keeps answering 429', async () => {
      sandbox.failNext(4, 429, 1);

      await expect(tokens.mint(request())).rejects.toThrow(ProviderRateLimitError);
      expect(sandbox.requests).toHaveLength(4);
    });

    it('never records a client secret, a Basic value or a token', async () => {
      const token = await tokens.mint(request());
      await tokens.mint(request({ clientAuth: 'body' })).catch(() => undefined);
      await tokens.mint(request({ credentials: { ...THRIVE, clientSecret: 'wrong-secret-value' } })).catch(() => undefined);

      const recorded = JSON.stringify(sandbox.requests);
      for (const value of [THRIVE.clientSecret, 'wrong-secret-value', token.accessToken, Buffer.from(`${THRIVE.clientId}:${THRIVE.clientSecret}`).toString('base64')]) {
        expect(recorded).not.toContain(value);
      }
    });
  });
});

/** The sandbox itself, driven with raw requests: it must behave as RFC 6749 says, or the tests above prove little. */
describe('Sandbox: OAuth token endpoint (RFC 6749)', () => {
  let sandbox: OAuthTokenSandbox;
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const post = (body: string, headers: Record<string, string> = {}, method = 'POST') =>
    fetch(sandbox.tokenUrl, { method, headers: { ...FORM, ...headers }, ...(method === 'GET' ? {} : { body }) });

  beforeEach(async () => {
    sandbox = await startOAuthTokenSandbox({ tenantId: 'us-east-1_Tenant2' });
    sandbox.addClient({ clientId: 'client-1', clientSecret: 'secret-1-abcdefgh', scopes: ['api/read'] });
  });

  afterEach(async () => {
    await sandbox.close();
  });

  it('answers a token with Cache-Control: no-store, granting the allowed scopes when none are asked for', async () => {
    const response = await post('grant_type=client_credentials', { authorization: basic('client-1', 'secret-1-abcdefgh') });

    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
    expect(await response.json()).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'api/read' });
    expect(sandbox.tokenUrl).toMatch(/\/oauth2\/token\/us-east-1_Tenant2$/);
  });

  it.each([
    ['another method', () => post('', {}, 'GET'), 400, 'invalid_request'],
    ['a JSON body', () => post('{"grant_type":"client_credentials"}', { 'content-type': 'application/json', authorization: basic('client-1', 'secret-1-abcdefgh') }), 415, 'invalid_request'],
    ['Basic and body credentials at once', () => post('grant_type=client_credentials&client_id=client-1&client_secret=secret-1-abcdefgh', { authorization: basic('client-1', 'secret-1-abcdefgh') }), 400, 'invalid_request'],
    ['a repeated parameter', () => post('grant_type=client_credentials&grant_type=client_credentials', { authorization: basic('client-1', 'secret-1-abcdefgh') }), 400, 'invalid_request'],
    ['no grant_type', () => post('scope=api%2Fread', { authorization: basic('client-1', 'secret-1-abcdefgh') }), 400, 'invalid_request'],
    ['an empty grant_type (omitted)', () => post('grant_type=', { authorization: basic('client-1', 'secret-1-abcdefgh') }), 400, 'invalid_request'],
    ['another grant', () => post('grant_type=password&username=u&password=p', { authorization: basic('client-1', 'secret-1-abcdefgh') }), 400, 'unsupported_grant_type'],
    ['a malformed scope', () => post('grant_type=client_credentials&scope=api%2Fread%20%20x', { authorization: basic('client-1', 'secret-1-abcdefgh') }), 400, 'invalid_scope'],
    ['a scope not allowed', () => post('grant_type=client_credentials&scope=api%2Fwrite', { authorization: basic('client-1', 'secret-1-abcdefgh') }), 400, 'invalid_scope'],
    ['a wrong secret in the body', () => post('grant_type=client_credentials&client_id=client-1&client_secret=nope'), 401, 'invalid_client'],
  ])('refuses %s', async (_what, send, status, error) => {
    const response = await send();

    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error });
  });

  it.each([
    ['a wrong secret with Basic', () => basic('client-1', 'nope')],
    ['a malformed Basic value', () => 'Basic !!!'],
    ['a Bearer header', () => 'Bearer abcdefgh'],
  ])('answers 401 invalid_client with WWW-Authenticate for %s', async (_what, authorization) => {
    const response = await post('grant_type=client_credentials', { authorization: authorization() });

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('answers 401 invalid_client with WWW-Authenticate to a request without credentials, and none for wrong body credentials', async () => {
    const none = await post('grant_type=client_credentials');
    const body = await post('grant_type=client_credentials&client_id=client-1&client_secret=nope');

    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(body.headers.get('www-authenticate')).toBeNull();
  });

  it('decodes Basic credentials as form-encoded (a "+" is a space)', async () => {
    sandbox.addClient({ clientId: 'a b', clientSecret: 'c d e f g h' });
    const plus = `Basic ${Buffer.from('a+b:c+d+e+f+g+h').toString('base64')}`;

    const response = await post('grant_type=client_credentials', { authorization: plus });

    expect(response.status).toBe(200);
  });

  it('answers 404 for other paths and consumes no injected failure there', async () => {
    sandbox.failNext(1, 503);

    const other = await fetch(`${sandbox.baseUrl}/oauth2/token/another-tenant`, { method: 'POST', headers: FORM, body: 'grant_type=client_credentials' });
    const injected = await post('grant_type=client_credentials', { authorization: basic('client-1', 'secret-1-abcdefgh') });

    expect(other.status).toBe(404);
    expect(injected.status).toBe(503);
  });

  it('checks its own arguments', () => {
    expect(() => sandbox.addClient({ clientId: '', clientSecret: 'x' })).toThrow(TypeError);
    expect(() => sandbox.addClient({ clientId: 'x', clientSecret: 'y', scopes: ['two words'] })).toThrow(TypeError);
    expect(() => sandbox.setTokenLifetime(0)).toThrow(RangeError);
    expect(() => sandbox.failNext(1, 404 as 500)).toThrow(RangeError);
    expect(() => sandbox.outage(Number.NaN)).toThrow(RangeError);
  });
});
