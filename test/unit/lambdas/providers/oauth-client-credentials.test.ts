import * as fc from 'fast-check';
import {
  KeyrotorError,
  ProviderAuthError,
  ProviderError,
  ProviderPermissionError,
  ProviderRateLimitError,
  ProviderResponseError,
  ProviderUnavailableError,
  ValidationError,
} from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets, redactText } from '../../../../lambdas/core/redaction';
import {
  ClientCredentialsTokenSource,
  isOAuthRefusal,
  OAUTH_ERROR_CODES,
  OAuthClientAuthError,
  OAuthError,
  parseClientCredentials,
  type ClientCredentialsRequest,
} from '../../../../lambdas/providers/oauth/client-credentials';
import type { ProviderHttpClientOptions } from '../../../../lambdas/providers/http';
import { fetchAnswering, reply, textReply, thrownBy, type Responder, type StubbedFetch } from '../../../support/fakes/fetch-stub';

const TOKEN_URL = 'https://acme.example.com/oauth2/token/eu-west-2_AbcdEfghI';
/** Matches none of redaction's credential patterns: only registration and `secrets` can hide it. */
const SECRET = 'cs_Sup3rS3cret-Value_0123';
const CLIENT = { clientId: 'keyrotor-client', clientSecret: SECRET } as const;
/** base64('keyrotor-client:cs_Sup3rS3cret-Value_0123'), worked out by hand. */
const BASIC = 'a2V5cm90b3ItY2xpZW50OmNzX1N1cDNyUzNjcmV0LVZhbHVlXzAxMjM=';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJrZXlyb3RvciJ9.c2lnbmF0dXJlMDEyMzQ1Njc4OQ';
const START = Date.parse('2026-11-23T10:00:00Z');

const tokenResponse = (extra: Record<string, unknown> = {}): Responder =>
  reply(200, { access_token: TOKEN, token_type: 'Bearer', expires_in: 3600, ...extra }, { 'cache-control': 'no-store' });

/** A token endpoint stand-in: answers with `responders` in order, then with a token; records every request. */
function stubEndpoint(...responders: Responder[]): StubbedFetch {
  return fetchAnswering(responders, tokenResponse());
}

const request = (overrides: Partial<ClientCredentialsRequest> = {}): ClientCredentialsRequest => ({
  tokenUrl: TOKEN_URL,
  credentials: CLIENT,
  ...overrides,
});

/** Every piece of text an error carries: message, fields and causes. */
function textsOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth += 1) {
    parts.push(String(current), current.message, JSON.stringify({ ...current }));
    current = current.cause;
  }
  return parts.join('\n');
}

/** Awaits `promise` and returns what it rejected with. */
const errorOf = (promise: Promise<unknown>): Promise<Error> => thrownBy(() => promise);

describe('Class: ClientCredentialsTokenSource', () => {
  let clock: number;
  let sleeps: number[];

  const source = (fetchImpl: typeof fetch, http: Omit<ProviderHttpClientOptions, 'provider'> = {}) =>
    new ClientCredentialsTokenSource(
      'thrive',
      {
        fetch: fetchImpl,
        random: () => 1,
        baseBackoffMs: 100,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
        ...http,
      },
      { now: () => clock },
    );

  beforeEach(() => {
    clearRegisteredSecrets();
    clock = START;
    sleeps = [];
  });

  describe('Method: mint (request)', () => {
    it('sends POST tokenUrl with grant_type=client_credentials and the client in an HTTP Basic header', async () => {
      // Prepare
      const endpoint = stubEndpoint();

      // Act
      await source(endpoint.fetch).mint(request());

      // Assess
      expect(endpoint.calls).toEqual([
        {
          url: TOKEN_URL,
          method: 'POST',
          headers: {
            accept: 'application/json',
            authorization: `Basic ${BASIC}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: 'grant_type=client_credentials',
        },
      ]);
    });

    it('form-encodes the client id and secret before base64 (RFC 6749 §2.3.1): a:b and p@ss word', async () => {
      const endpoint = stubEndpoint();

      await source(endpoint.fetch).mint(request({ credentials: { clientId: 'a:b', clientSecret: 'p@ss word' } }));

      // base64('a%3Ab:p%40ss%20word'): the colon in the id cannot be mistaken for the separator.
      expect(endpoint.calls[0].headers.authorization).toBe('Basic YSUzQWI6cCU0MHNzJTIwd29yZA==');
      expect(Buffer.from('YSUzQWI6cCU0MHNzJTIwd29yZA==', 'base64').toString()).toBe('a%3Ab:p%40ss%20word');
      expect(endpoint.calls[0].body).toBe('grant_type=client_credentials');
    });

    it('sends client_id and client_secret as form fields, and no Authorization header, with body authentication', async () => {
      const endpoint = stubEndpoint();

      await source(endpoint.fetch).mint(request({ credentials: { clientId: 'a:b', clientSecret: 'p@ss word' }, clientAuth: 'body' }));

      expect(endpoint.calls[0].headers).toEqual({ accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' });
      expect(endpoint.calls[0].body).toBe('grant_type=client_credentials&client_id=a%3Ab&client_secret=p%40ss%20word');
      expect(Object.fromEntries(new URLSearchParams(endpoint.calls[0].body))).toEqual({
        grant_type: 'client_credentials',
        client_id: 'a:b',
        client_secret: 'p@ss word',
      });
    });

    it('sends the scopes space-separated and percent-encoded', async () => {
      const endpoint = stubEndpoint();

      await source(endpoint.fetch).mint(request({ scopes: ['api/read', 'api/write'] }));

      expect(endpoint.calls[0].body).toBe('grant_type=client_credentials&scope=api%2Fread%20api%2Fwrite');
      expect(new URLSearchParams(endpoint.calls[0].body).get('scope')).toBe('api/read api/write');
    });

    it('puts the scope before the client fields with body authentication, and sends no scope for an empty list', async () => {
      const endpoint = stubEndpoint();
      const tokens = source(endpoint.fetch);

      await tokens.mint(request({ scopes: ['api/read'], clientAuth: 'body' }));
      await tokens.mint(request({ scopes: [] }));

      expect(endpoint.calls[0].body).toBe(`grant_type=client_credentials&scope=api%2Fread&client_id=keyrotor-client&client_secret=${SECRET}`);
      expect(endpoint.calls[1].body).toBe('grant_type=client_credentials');
    });

    it('registers the client secret before sending', async () => {
      let seenBySender: string | undefined;
      const tokens = source((async () => {
        seenBySender = redactText(`secret=${SECRET}`);
        return tokenResponse()();
      }) as typeof fetch);

      await tokens.mint(request());

      expect(seenBySender).toBe('secret=[REDACTED]');
    });

    it.each([
      ['http on a public host', 'http://acme.example.com/oauth2/token', 'must use https://'],
      ['a query string', `${TOKEN_URL}?tenant=x`, 'must not contain a query string or fragment'],
      ['an empty query', `${TOKEN_URL}?`, 'must not contain a query string or fragment'],
      ['a fragment', `${TOKEN_URL}#token`, 'must not contain a query string or fragment'],
      ['credentials', 'https://user:pw@acme.example.com/token', 'must not contain credentials'],
      ['a relative path', '/oauth2/token', 'must be an absolute URL'],
      ['another scheme', 'ftp://acme.example.com/token', 'must use https://'],
      ['an empty string', '', 'tokenUrl: is missing'],
    ])('refuses a token URL with %s before sending anything', async (_what, tokenUrl, issue) => {
      const endpoint = stubEndpoint();

      const error = await errorOf(source(endpoint.fetch).mint(request({ tokenUrl })));

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([expect.stringContaining(issue)]);
      expect(endpoint.calls).toHaveLength(0);
    });

    it('accepts http:// on loopback (the local sandboxes)', async () => {
      const endpoint = stubEndpoint();

      await source(endpoint.fetch).mint(request({ tokenUrl: 'http://127.0.0.1:4010/oauth2/token/t' }));

      expect(endpoint.calls[0].url).toBe('http://127.0.0.1:4010/oauth2/token/t');
    });

    it('collects every problem of a malformed request in one ValidationError that never quotes the secret', async () => {
      const endpoint = stubEndpoint();
      const bad = {
        tokenUrl: `${TOKEN_URL}?x=1`,
        credentials: { clientId: '', clientSecret: `${SECRET}\n` },
        scopes: ['api/read', 'two words', '', 'q"uote'],
        clientAuth: 'jwt',
      } as unknown as ClientCredentialsRequest;

      const error = (await errorOf(source(endpoint.fetch).mint(bad))) as ValidationError;

      expect(error).toBeInstanceOf(ValidationError);
      expect(error.issues).toEqual([
        'tokenUrl: must not contain a query string or fragment',
        'credentials.clientId: is missing',
        'credentials.clientSecret: must be 1 to 4096 printable ASCII characters (RFC 6749 VSCHAR)',
        expect.stringMatching(/^scopes\[1\]: must be 1 to 256 printable ASCII characters without spaces/),
        expect.stringMatching(/^scopes\[2\]: /),
        expect.stringMatching(/^scopes\[3\]: /),
        'clientAuth: must be "basic" or "body"',
      ]);
      expect(textsOf(error)).not.toContain(SECRET);
      expect(endpoint.calls).toHaveLength(0);
    });

    it('refuses a request without credentials', async () => {
      const error = await errorOf(source(stubEndpoint().fetch).mint({ tokenUrl: TOKEN_URL } as ClientCredentialsRequest));

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual(['credentials: must be {"clientId":"…","clientSecret":"…"}']);
    });
  });

  describe('Method: mint (token response)', () => {
    it('returns the bearer token with issuedAt and expiresAt from the injected clock', async () => {
      const endpoint = stubEndpoint();

      const token = await source(endpoint.fetch).mint(request());

      expect(token).toEqual({
        accessToken: TOKEN,
        tokenType: 'Bearer',
        issuedAt: '2026-11-23T10:00:00.000Z',
        expiresAt: '2026-11-23T11:00:00.000Z',
      });
    });

    it('starts the lifetime when the attempt that succeeded was sent, not when the first one was', async () => {
      const endpoint = stubEndpoint(reply(503, { error: 'temporarily_unavailable' }), tokenResponse({ expires_in: 60 }));

      const token = await source(endpoint.fetch).mint(request());

      expect(sleeps).toEqual([100]);
      expect(token.issuedAt).toBe('2026-11-23T10:00:00.100Z');
      expect(token.expiresAt).toBe('2026-11-23T10:01:00.100Z');
    });

    it('uses the HTTP options clock when no clock of its own is given', async () => {
      const endpoint = stubEndpoint();
      const tokens = new ClientCredentialsTokenSource('thrive', { fetch: endpoint.fetch, now: () => START + 5000 });

      const token = await tokens.mint(request());

      expect(token.issuedAt).toBe('2026-11-23T10:00:05.000Z');
    });

    it.each(['bearer', 'BEARER', 'BeArEr'])('normalises token_type %s to Bearer', async (tokenType) => {
      const token = await source(stubEndpoint(tokenResponse({ token_type: tokenType })).fetch).mint(request());

      expect(token.tokenType).toBe('Bearer');
    });

    it('accepts expires_in sent as a string of digits and ignores a scope and unknown fields', async () => {
      const token = await source(stubEndpoint(tokenResponse({ expires_in: '1800', scope: 'api/read', ext: { a: 1 } })).fetch).mint(request());

      expect(token.expiresAt).toBe('2026-11-23T10:30:00.000Z');
    });

    it('registers the access token at once', async () => {
      await source(stubEndpoint().fetch).mint(request());

      expect(redactText(`Authorization: ${TOKEN}`)).toBe('Authorization: [REDACTED]');
    });

    it('throws ProviderResponseError without expires_in: a refresh cannot be scheduled', async () => {
      const error = await errorOf(source(stubEndpoint(tokenResponse({ expires_in: undefined })).fetch).mint(request()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toBe(
        `POST ${TOKEN_URL} answered 200 without expires_in; keyrotor cannot schedule the token's renewal without its lifetime`,
      );
      expect(error).toMatchObject({ provider: 'thrive', status: 200 });
    });

    it.each([
      ['zero', 0],
      ['negative', -60],
      ['fractional', 3599.5],
      ['a word', '1h'],
      ['absurdly long', 1e12],
      ['null', null],
      ['a boolean', true],
    ])('throws ProviderResponseError for an expires_in that is %s', async (_what, expiresIn) => {
      const error = await errorOf(source(stubEndpoint(tokenResponse({ expires_in: expiresIn })).fetch).mint(request()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toMatch(/expires_in/);
    });

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['a number', 12345678],
      ['with a space', 'abc def123456'],
      ['too long', 'A'.repeat(16_385)],
    ])('throws ProviderResponseError for an access_token that is %s', async (_what, accessToken) => {
      const error = await errorOf(source(stubEndpoint(tokenResponse({ access_token: accessToken })).fetch).mint(request()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toContain('without a usable access_token');
    });

    it.each([
      ['mac', ' "mac"'],
      ['DPoP', ' "DPoP"'],
      [42, ''],
      [undefined, ''],
    ])('throws ProviderResponseError for token_type %p, naming it only when it looks like a scheme', async (tokenType, shown) => {
      const error = await errorOf(source(stubEndpoint(tokenResponse({ token_type: tokenType })).fetch).mint(request()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toBe(`POST ${TOKEN_URL} answered 200 with token_type${shown} instead of Bearer; keyrotor stores only bearer tokens`);
      expect(error.message).not.toContain(TOKEN);
    });

    it.each([
      ['HTML', textReply(200, '<html><body>Sign in</body></html>', { 'content-type': 'text/html' }), 'not JSON'],
      ['truncated JSON', textReply(200, '{"access_token":"abc', { 'content-type': 'application/json' }), 'not JSON'],
      ['a JSON array', reply(200, [TOKEN]), 'not a token response object'],
      ['a JSON string', reply(200, TOKEN), 'not a token response object'],
    ])('throws ProviderResponseError for a 200 with %s', async (_what, responder, words) => {
      const error = await errorOf(source(stubEndpoint(responder).fetch).mint(request()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toContain(words);
      expect(textsOf(error)).not.toContain(TOKEN);
    });

    it('throws ProviderResponseError for a body larger than the HTTP options allow', async () => {
      const huge = JSON.stringify({ access_token: TOKEN, token_type: 'Bearer', expires_in: 3600, padding: 'x'.repeat(5000) });

      const error = await errorOf(source(stubEndpoint(textReply(200, huge)).fetch, { maxBodyBytes: 4096 }).mint(request()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toContain('larger than 4096 bytes');
    });
  });

  describe('Method: mint (RFC 6749 §5.2 errors)', () => {
    it.each(
      OAUTH_ERROR_CODES.filter((code) => code !== 'invalid_client').map((code) => [code] as const),
    )('throws OAuthError with code %s for a 400, sent once', async (code) => {
      // Prepare
      const endpoint = stubEndpoint(reply(400, { error: code, error_description: `Because ${code}.` }));

      // Act
      const error = await errorOf(source(endpoint.fetch).mint(request({ scopes: ['api/read'] })));

      // Assess
      expect(error).toBeInstanceOf(OAuthError);
      expect(error).not.toBeInstanceOf(ProviderAuthError);
      expect(error).toMatchObject({ name: 'OAuthError', provider: 'thrive', status: 400, code, description: `Because ${code}.` });
      expect(error.message).toContain(`thrive refused the token request: POST ${TOKEN_URL} answered HTTP 400 (${code}: Because ${code}.)`);
      expect(error.cause).toBeInstanceOf(ProviderResponseError);
      expect(isOAuthRefusal(error)).toBe(true);
      expect(endpoint.calls).toHaveLength(1);
    });

    it.each([
      ['invalid_scope', /a requested scope "api\/read" is unknown or not allowed for client "keyrotor-client"/],
      ['unauthorized_client', /client "keyrotor-client" may not use the client_credentials grant; enable that grant/],
      ['unsupported_grant_type', /does not offer the client_credentials grant; check the token URL/],
      ['invalid_grant', /refused the client_credentials grant for client "keyrotor-client"/],
      ['invalid_request', /found the request malformed; check the token URL and the client authentication/],
    ])('says what to do about %s', async (code, next) => {
      const error = await errorOf(source(stubEndpoint(reply(400, { error: code })).fetch).mint(request({ scopes: ['api/read'] })));

      expect(error.message).toMatch(next);
    });

    it('throws OAuthClientAuthError, a ProviderAuthError, for invalid_client at 401', async () => {
      // Prepare
      const endpoint = stubEndpoint(reply(401, { error: 'invalid_client', error_description: 'Client authentication failed.' }, { 'www-authenticate': 'Basic realm="oauth2"' }));

      // Act
      const error = await errorOf(source(endpoint.fetch).mint(request()));

      // Assess
      expect(error).toBeInstanceOf(OAuthClientAuthError);
      expect(error).toBeInstanceOf(ProviderAuthError);
      expect(error).not.toBeInstanceOf(OAuthError);
      expect(error).toMatchObject({
        name: 'OAuthClientAuthError',
        provider: 'thrive',
        status: 401,
        code: 'invalid_client',
        description: 'Client authentication failed.',
        platformMessage: 'Client authentication failed.',
      });
      expect(error.message).toBe(
        `thrive refused the OAuth client "keyrotor-client": POST ${TOKEN_URL} answered HTTP 401 (invalid_client: Client authentication failed.). ` +
          'The client id or secret is wrong, the client was deleted or disabled, or it expects the other client authentication ' +
          `(clientAuth "basic" or "body"); put the client's current id and secret in the source secret`,
      );
      expect(isOAuthRefusal(error)).toBe(true);
      expect(endpoint.calls).toHaveLength(1);
    });

    it('throws OAuthClientAuthError with the real status for invalid_client at 400 (as Amazon Cognito answers it)', async () => {
      const error = await errorOf(source(stubEndpoint(reply(400, { error: 'invalid_client' })).fetch).mint(request()));

      expect(error).toBeInstanceOf(OAuthClientAuthError);
      expect(error).toMatchObject({ status: 400, code: 'invalid_client', description: undefined });
    });

    it.each([
      ['no body', textReply(401, ''), 'invalid_client'],
      ['an HTML body', textReply(401, '<h1>Unauthorized</h1>', { 'content-type': 'text/html' }), 'invalid_client'],
      ['unauthorized_client (as older Keycloak answers a wrong secret)', reply(401, { error: 'unauthorized_client', error_description: 'Invalid client secret' }), 'unauthorized_client'],
      ['a code outside RFC 6749', reply(401, { error: 'access_denied' }), 'unknown'],
    ])('treats any 401 as a refused client: %s', async (_what, responder, code) => {
      const error = await errorOf(source(stubEndpoint(responder).fetch).mint(request()));

      expect(error).toBeInstanceOf(OAuthClientAuthError);
      expect(error).toMatchObject({ status: 401, code });
    });

    it('throws OAuthError with code unknown for a code RFC 6749 does not define, quoting it', async () => {
      const error = await errorOf(source(stubEndpoint(reply(400, { error: 'invalid_dpop_proof' })).fetch).mint(request()));

      expect(error).toBeInstanceOf(OAuthError);
      expect(error).toMatchObject({ code: 'unknown', status: 400 });
      expect(error.message).toContain(`answered HTTP 400 ("invalid_dpop_proof", not an RFC 6749 code); check the token URL`);
    });

    it('reads OAuth errors a server answers with 403', async () => {
      const error = await errorOf(source(stubEndpoint(reply(403, { error: 'unauthorized_client' })).fetch).mint(request()));

      expect(error).toBeInstanceOf(OAuthError);
      expect(error).toMatchObject({ code: 'unauthorized_client', status: 403 });
    });

    it('reads an OAuth error a server answers with 200', async () => {
      const error = await errorOf(source(stubEndpoint(reply(200, { error: 'invalid_scope' })).fetch).mint(request()));

      expect(error).toBeInstanceOf(OAuthError);
      expect(error).toMatchObject({ code: 'invalid_scope', status: 200 });
    });

    it.each(['temporarily_unavailable', 'server_error'])('reports %s at 400 as ProviderUnavailableError (try later)', async (code) => {
      const error = await errorOf(source(stubEndpoint(reply(400, { error: code })).fetch).mint(request()));

      expect(error).toBeInstanceOf(ProviderUnavailableError);
      expect(error.message).toBe(`POST ${TOKEN_URL} answered HTTP 400 with ${code}: the platform cannot issue tokens right now; try again later`);
    });

    it('leaves a 400 that is not an OAuth error to the HTTP helper (ProviderResponseError)', async () => {
      const error = await errorOf(source(stubEndpoint(textReply(400, '<html>Bad Request</html>')).fetch).mint(request()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error).toMatchObject({ status: 400 });
    });

    it('leaves a 403 without an OAuth error to the HTTP helper (ProviderPermissionError)', async () => {
      const error = await errorOf(source(stubEndpoint(reply(403, { message: 'Forbidden' })).fetch).mint(request()));

      expect(error).toBeInstanceOf(ProviderPermissionError);
    });

    it('leaves a 404 to the HTTP helper even with an OAuth-looking body', async () => {
      const error = await errorOf(source(stubEndpoint(reply(404, { error: 'not_found' })).fetch).mint(request()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error).not.toBeInstanceOf(OAuthError);
    });

    it('keeps the secret, the Basic value and the token out of an error whose description echoes them', async () => {
      const description = `client_secret=${SECRET} from Basic ${BASIC} (token ${TOKEN})`;
      const endpoint = stubEndpoint(reply(401, { error: 'invalid_client', error_description: description, access_token: TOKEN }));

      const error = (await errorOf(source(endpoint.fetch).mint(request()))) as OAuthClientAuthError;

      expect(error.description).toContain('client_secret=[REDACTED]');
      for (const value of [SECRET, BASIC, TOKEN]) expect(textsOf(error)).not.toContain(value);
    });

    it.each([400, 401])('settles for a %s whose body is too large to read for its code', async (status) => {
      const huge = JSON.stringify({ error: 'invalid_client', padding: 'x'.repeat(70_000) });

      const error = await errorOf(source(stubEndpoint(textReply(status, huge)).fetch).mint(request()));

      // The copy stops at 64 KiB; the helper still reads the whole body (within its own limit).
      expect(error).toBeInstanceOf(status === 401 ? OAuthClientAuthError : ProviderResponseError);
    });

    it('keeps a secret shorter than the registry minimum out of messages', async () => {
      const endpoint = stubEndpoint(reply(400, { error: 'invalid_request', error_description: 'bad secret s3cr' }));

      const error = await errorOf(source(endpoint.fetch).mint(request({ credentials: { clientId: 'id', clientSecret: 's3cr' }, clientAuth: 'body' })));

      expect(error.message).toContain('bad secret [REDACTED]');
    });
  });

  describe('Method: mint (retries by the HTTP helper)', () => {
    it('retries a 503 and a 502 with back-off', async () => {
      const endpoint = stubEndpoint(reply(503, {}), reply(502, {}));

      const token = await source(endpoint.fetch).mint(request());

      expect(token.accessToken).toBe(TOKEN);
      expect(endpoint.calls).toHaveLength(3);
      expect(sleeps).toEqual([100, 200]);
    });

    it('waits for Retry-After on a 429 and tries again', async () => {
      const endpoint = stubEndpoint(reply(429, { error: 'too_many_requests' }, { 'retry-after': '2' }));

      await source(endpoint.fetch).mint(request());

      expect(sleeps).toEqual([2000]);
      expect(endpoint.calls).toHaveLength(2);
      expect(endpoint.calls[1]).toEqual(endpoint.calls[0]);
    });

    it('retries a dropped connection: a token request is safe to repeat', async () => {
      let first = true;
      const endpoint = stubEndpoint(() => {
        if (first) {
          first = false;
          throw new TypeError('fetch failed');
        }
        return tokenResponse()();
      });

      await expect(source(endpoint.fetch).mint(request())).resolves.toMatchObject({ accessToken: TOKEN });
      expect(endpoint.calls).toHaveLength(2);
    });

    it('throws ProviderUnavailableError after the last attempt', async () => {
      const endpoint = stubEndpoint(reply(503, {}), reply(503, {}), reply(503, {}), reply(503, {}));

      const error = await errorOf(source(endpoint.fetch).mint(request()));

      expect(error).toBeInstanceOf(ProviderUnavailableError);
      expect(endpoint.calls).toHaveLength(4);
    });

    it('throws ProviderRateLimitError at once when Retry-After is longer than allowed', async () => {
      const endpoint = stubEndpoint(reply(429, {}, { 'retry-after': '3600' }));

      const error = await errorOf(source(endpoint.fetch).mint(request()));

      expect(error).toBeInstanceOf(ProviderRateLimitError);
      expect(error).toMatchObject({ retryAfterMs: 3_600_000 });
      expect(endpoint.calls).toHaveLength(1);
    });
  });

  describe('Property: garbage responses', () => {
    const CODES = [...OAUTH_ERROR_CODES, 'temporarily_unavailable', 'server_error'];
    const echo = fc.constantFrom(`secret ${SECRET}`, `Basic ${BASIC}`, `token ${TOKEN}`, SECRET, TOKEN, encodeURIComponent(SECRET));
    const anyValue = fc.oneof(fc.anything(), echo);
    const body = fc.oneof(
      fc.constant('<!doctype html><html><body>Sign in</body></html>'),
      fc.string({ maxLength: 200 }),
      fc.json().map((value) => value.slice(0, Math.max(0, value.length - 1))),
      fc.json(),
      fc
        .record(
          {
            access_token: fc.oneof(fc.constant(TOKEN), anyValue),
            token_type: fc.oneof(fc.constantFrom('Bearer', 'bearer', 'mac', SECRET), anyValue),
            expires_in: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 12 }), fc.constant(null), fc.constant('3600')),
            scope: anyValue,
          },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
      fc
        .record({ error: fc.oneof(fc.constantFrom(...CODES, SECRET), fc.string({ maxLength: 80 }), anyValue), error_description: fc.oneof(echo, fc.string(), anyValue) }, { requiredKeys: [] })
        .map((value) => JSON.stringify(value)),
      fc.tuple(echo, fc.integer({ min: 4100, max: 6000 })).map(([secret, size]) => `{"error":"${secret}","pad":"${'x'.repeat(size)}"}`),
    );
    const status = fc.constantFrom(200, 201, 400, 401, 403, 404, 418, 429, 500, 503);

    it('answers a typed error, never crashes, and never quotes the secret or an issued token', async () => {
      await fc.assert(
        fc.asyncProperty(status, body, fc.constantFrom('basic', 'body') as fc.Arbitrary<'basic' | 'body'>, async (code, payload, clientAuth) => {
          // Each run stands alone: what earlier runs registered must not hide this run's leaks.
          clearRegisteredSecrets();
          const tokens = source(stubEndpoint(textReply(code, payload), textReply(code, payload)).fetch, { maxAttempts: 2, maxBodyBytes: 4096 });

          let outcome: unknown;
          try {
            outcome = await tokens.mint(request({ clientAuth, scopes: ['api/read'] }));
          } catch (error) {
            expect(error).toBeInstanceOf(KeyrotorError);
            expect(error).toBeInstanceOf(ProviderError);
            const all = textsOf(error);
            for (const secret of [SECRET, BASIC, encodeURIComponent(SECRET)]) expect(all).not.toContain(secret);
            if (payload.includes(`"access_token":"${TOKEN}"`)) expect(all).not.toContain(TOKEN);
            return;
          }
          expect(outcome).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String) });
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe('Function: parseClientCredentials', () => {
  beforeEach(() => {
    clearRegisteredSecrets();
  });

  it('returns the client id and secret and ignores other fields', () => {
    const input = JSON.stringify({ clientId: 'a:b', clientSecret: 'p@ss word', note: 'created 2026-11-23' });

    expect(parseClientCredentials(input)).toEqual({ clientId: 'a:b', clientSecret: 'p@ss word' });
  });

  it('registers the client secret', () => {
    parseClientCredentials(JSON.stringify(CLIENT));

    expect(redactText(SECRET)).toBe('[REDACTED]');
  });

  it.each([
    ['broken JSON', `{"clientId":"x","clientSecret":"${SECRET}"`, ['must be the JSON object {"clientId":"…","clientSecret":"…"}']],
    ['a JSON array', JSON.stringify([CLIENT]), ['must be the JSON object {"clientId":"…","clientSecret":"…"}']],
    ['a bare secret', SECRET, ['must be the JSON object {"clientId":"…","clientSecret":"…"}']],
    ['an empty object', '{}', ['clientId: is missing', 'clientSecret: is missing']],
    ['snake_case fields', JSON.stringify({ client_id: 'x', client_secret: SECRET }), ['clientId: is missing', 'clientSecret: is missing']],
    ['a numeric secret', JSON.stringify({ clientId: 'x', clientSecret: 12345678 }), ['clientSecret: is missing']],
    ['a secret with a newline', JSON.stringify({ clientId: 'x', clientSecret: `${SECRET}\n` }), ['clientSecret: must be 1 to 4096 printable ASCII characters (RFC 6749 VSCHAR)']],
    ['a non-ASCII id', JSON.stringify({ clientId: 'clé', clientSecret: SECRET }), ['clientId: must be 1 to 1024 printable ASCII characters (RFC 6749 VSCHAR)']],
  ])('throws ValidationError for %s, never quoting it', (_what, input, issues) => {
    let caught: unknown;
    try {
      parseClientCredentials(input);
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).issues).toEqual(issues);
    expect((caught as ValidationError).message).toMatch(/^OAuth client secret is invalid: /);
    expect(textsOf(caught)).not.toContain(SECRET);
    expect((caught as ValidationError).cause).toBeUndefined();
  });

  it('returns printable credentials or throws a ValidationError that does not quote the input, for any input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.json(),
          fc.record({ clientId: fc.oneof(fc.string(), fc.anything()), clientSecret: fc.oneof(fc.string(), fc.anything()) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
        ),
        (input) => {
          let result: unknown;
          try {
            result = parseClientCredentials(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            if (input.trim().length >= 8) expect((error as ValidationError).message).not.toContain(input.trim());
            return;
          }
          expect(result).toEqual({ clientId: expect.stringMatching(/^[\x20-\x7e]+$/), clientSecret: expect.stringMatching(/^[\x20-\x7e]+$/) });
        },
      ),
    );
  });
});

describe('Function: isOAuthRefusal', () => {
  it('is true for both OAuth classes and false for other errors', () => {
    expect(isOAuthRefusal(new OAuthError('thrive', 'invalid_scope', 'm'))).toBe(true);
    expect(isOAuthRefusal(new OAuthClientAuthError('thrive', 'invalid_client', 'm'))).toBe(true);
    expect(isOAuthRefusal(new ProviderAuthError('thrive', undefined))).toBe(false);
    expect(isOAuthRefusal(new Error('x'))).toBe(false);
    expect(isOAuthRefusal(undefined)).toBe(false);
  });

  it('gives OAuthClientAuthError status 401 unless told otherwise', () => {
    expect(new OAuthClientAuthError('thrive', 'invalid_client', 'm')).toMatchObject({ status: 401, message: 'm', name: 'OAuthClientAuthError' });
  });
});
