import { DecryptionFailure, GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  AwaitingFirstKeyError,
  createKeyrotorReader,
  DEFAULT_CACHE_TTL_SECONDS,
  InvalidSecretValueError,
  KeyrotorReaderError,
  MAX_CACHE_TTL_SECONDS,
  ReaderOptionsError,
  SecretFetchError,
  TokenExpiredError,
  type KeyrotorReader,
  type KeyrotorReaderOptions,
} from '../../../client';
import { DEFAULT_GRACE_PERIOD_HOURS, DEFAULT_READER_CACHE_TTL_SECONDS, MAX_READER_CACHE_TTL_SECONDS } from '../../../lib/config';
import { BASE_URL, TI_LIVE_NEW, TI_LIVE_OLD, tiValue } from '../../support/fixtures';

const SECRET = 'keyrotor/acme-prod';
const TOKEN_SECRET = 'keyrotor/acme-oauth/token';
const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const MINUTE = 60_000;
const BOOTSTRAP = JSON.stringify({ keyrotor: 'awaiting-first-key', bootstrap: 'Xk9#random-bootstrap-chars' });
const ACCESS_OLD = 'eyJhbGciOiJSUzI1NiJ9.old-access-token-0001';
const ACCESS_NEW = 'eyJhbGciOiJSUzI1NiJ9.new-access-token-0002';
/** Every credential these tests put in a secret: no error message may contain one. */
const SECRET_VALUES = [TI_LIVE_OLD, TI_LIVE_NEW, ACCESS_OLD, ACCESS_NEW, 'Xk9#random-bootstrap-chars'];

const iso = (ms: number) => new Date(ms).toISOString();
const tokenValue = (accessToken: string, times: { issuedAt?: number; expiresAt: number; refreshAt?: number }) =>
  JSON.stringify({
    accessToken,
    tokenType: 'Bearer',
    issuedAt: iso(times.issuedAt ?? T0),
    expiresAt: iso(times.expiresAt),
    ...(times.refreshAt === undefined ? {} : { refreshAt: iso(times.refreshAt) }),
  });
/** Secrets Manager models no AccessDeniedException class: the SDK throws a generic ServiceException with this name. */
const accessDenied = (message = 'User: arn:aws:sts::111111111111:assumed-role/app/x is not authorized to perform: secretsmanager:GetSecretValue') =>
  Object.assign(new Error(message), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
const unauthorized = () => Object.assign(new Error('platform said 401'), { status: 401 });

/** Resolves what it is given only when released: holds GetSecretValue in flight. */
function gate() {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  return { opened, release };
}

/** The error `promise` rejects with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('Class: KeyrotorReader', () => {
  const sm = mockClient(SecretsManagerClient);
  let now: number;
  let reader: KeyrotorReader;
  /** Every reader error seen by a test, scanned for secret values after each test. */
  let seen: Error[];

  const build = (options: KeyrotorReaderOptions = {}) =>
    createKeyrotorReader({ client: new SecretsManagerClient({ region: 'eu-west-1' }), now: () => now, ...options });
  const calls = () => sm.commandCalls(GetSecretValueCommand).length;
  const expectFailure = async (promise: Promise<unknown>) => {
    const error = await failure(promise);
    seen.push(error);
    return error;
  };

  beforeEach(() => {
    sm.reset();
    now = T0;
    seen = [];
    reader = build();
  });

  afterEach(() => {
    for (const error of seen) {
      const text = `${error.message} ${JSON.stringify(error)} ${error.stack ?? ''}`;
      for (const secret of SECRET_VALUES) expect(text).not.toContain(secret);
    }
  });

  afterAll(() => {
    sm.restore();
  });

  describe('Method: getApiKey', () => {
    it('returns the parsed AWSCURRENT value', async () => {
      // Prepare
      sm.on(GetSecretValueCommand).resolves({ SecretString: tiValue(TI_LIVE_OLD, { team: 'lms' }) });

      // Act
      const value = await reader.getApiKey(SECRET);

      // Assess
      expect(value).toEqual({ provider: 'thought-industries', environment: 'production', baseUrl: BASE_URL, apiKey: TI_LIVE_OLD, team: 'lms' });
      expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET, VersionStage: 'AWSCURRENT' });
    });

    it('returns a frozen value, so one caller cannot change what the next one reads', async () => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: tiValue(TI_LIVE_OLD, { extra: { nested: 'x' } }) });

      const value = await reader.getApiKey(SECRET);

      expect(Object.isFrozen(value)).toBe(true);
      expect(Object.isFrozen(value.extra)).toBe(true);
    });

    it('serves every read within the TTL from one GetSecretValue', async () => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: tiValue(TI_LIVE_OLD) });

      for (let i = 0; i < 50; i += 1) {
        await reader.getApiKey(SECRET);
        now += 5_000; // 50 reads over 4 min 10 s, inside the default 5 minutes
      }

      expect(calls()).toBe(1);
    });

    it('reads again once the TTL has passed (default 5 minutes)', async () => {
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: tiValue(TI_LIVE_OLD) }).resolves({ SecretString: tiValue(TI_LIVE_NEW) });

      await reader.getApiKey(SECRET);
      now = T0 + 5 * MINUTE - 1;
      const beforeExpiry = await reader.getApiKey(SECRET);
      now = T0 + 5 * MINUTE;
      const afterExpiry = await reader.getApiKey(SECRET);

      expect(beforeExpiry.apiKey).toBe(TI_LIVE_OLD);
      expect(afterExpiry.apiKey).toBe(TI_LIVE_NEW);
      expect(calls()).toBe(2);
    });

    it('uses cacheTtlSeconds from the options', async () => {
      reader = build({ cacheTtlSeconds: 30 });
      sm.on(GetSecretValueCommand).resolves({ SecretString: tiValue(TI_LIVE_OLD) });

      await reader.getApiKey(SECRET);
      now += 29_999;
      await reader.getApiKey(SECRET);
      now += 1;
      await reader.getApiKey(SECRET);

      expect(calls()).toBe(2);
    });

    it('caches each secret on its own', async () => {
      sm.on(GetSecretValueCommand, { SecretId: SECRET }).resolves({ SecretString: tiValue(TI_LIVE_OLD) });
      sm.on(GetSecretValueCommand, { SecretId: 'keyrotor/other' }).resolves({ SecretString: tiValue(TI_LIVE_NEW) });

      const [a, b] = await Promise.all([reader.getApiKey(SECRET), reader.getApiKey('keyrotor/other')]);
      await reader.getApiKey(SECRET);
      await reader.getApiKey('keyrotor/other');

      expect([a.apiKey, b.apiKey]).toEqual([TI_LIVE_OLD, TI_LIVE_NEW]);
      expect(calls()).toBe(2);
    });

    it('shares one GetSecretValue between 100 concurrent readers', async () => {
      // Prepare: hold the call in flight until every reader has asked
      const held = gate();
      sm.on(GetSecretValueCommand).callsFake(async () => {
        await held.opened;
        return { SecretString: tiValue(TI_LIVE_OLD) };
      });

      // Act
      const reads = Array.from({ length: 100 }, () => reader.getApiKey(SECRET));
      held.release();
      const values = await Promise.all(reads);

      // Assess
      expect(calls()).toBe(1);
      expect(new Set(values.map((v) => v.apiKey))).toEqual(new Set([TI_LIVE_OLD]));
    });

    it('does not cache a failed read: concurrent readers share the failure, the next read tries again', async () => {
      // Prepare
      const held = gate();
      sm.on(GetSecretValueCommand)
        .callsFakeOnce(async () => {
          await held.opened;
          throw accessDenied();
        })
        .resolves({ SecretString: tiValue(TI_LIVE_OLD) });

      // Act
      const reads = Array.from({ length: 10 }, () => expectFailure(reader.getApiKey(SECRET)));
      held.release();
      const errors = await Promise.all(reads);
      const retried = await reader.getApiKey(SECRET);

      // Assess
      expect(errors.every((e) => e instanceof SecretFetchError)).toBe(true);
      expect(retried.apiKey).toBe(TI_LIVE_OLD);
      expect(calls()).toBe(2);
    });

    it.each([
      ['AccessDeniedException', accessDenied(), /grant secretsmanager:GetSecretValue on the secret and kms:Decrypt/],
      ['ResourceNotFoundException', new ResourceNotFoundException({ message: 'not found', $metadata: {} }), /no such secret/],
      ['DecryptionFailure', new DecryptionFailure({ message: 'kms', $metadata: {} }), /kms:Decrypt/],
      ['TypeError', new TypeError('fetch failed'), /the next read retries/],
    ])('turns %s into a SecretFetchError that names the secret, the code and what to do', async (code, sdkError, hint) => {
      sm.on(GetSecretValueCommand).rejects(sdkError);

      const error = await expectFailure(reader.getApiKey(SECRET));

      expect(error).toBeInstanceOf(SecretFetchError);
      expect(error).toBeInstanceOf(KeyrotorReaderError);
      expect(error).toMatchObject({ name: 'SecretFetchError', code, secretId: SECRET, cause: sdkError });
      expect(error.message).toContain(`Could not read secret ${SECRET} (${code})`);
      expect(error.message).toMatch(hint);
    });

    it('says a secret still holding the bootstrap value awaits its first key, and how to hand one over', async () => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: BOOTSTRAP });

      const error = await expectFailure(reader.getApiKey(SECRET));

      expect(error).toBeInstanceOf(AwaitingFirstKeyError);
      expect(error.message).toBe(`Secret ${SECRET} awaits its first key; hand one over with npx keyrotor submit ${SECRET}`);
    });

    it('reads a secret that received its first key after the bootstrap error (the error is not cached)', async () => {
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: BOOTSTRAP }).resolves({ SecretString: tiValue(TI_LIVE_OLD) });

      await expectFailure(reader.getApiKey(SECRET));

      expect((await reader.getApiKey(SECRET)).apiKey).toBe(TI_LIVE_OLD);
    });

    it.each([
      ['not JSON', `apiKey=${TI_LIVE_OLD}`, ['the value is not valid JSON']],
      ['a JSON array', JSON.stringify([TI_LIVE_OLD]), ['the value is not a JSON object']],
      ['an unknown provider', tiValue(TI_LIVE_OLD, { provider: 'moodle' }), ['provider: must be one of thought-industries, thrive, thinkific, boss-insights, imburse']],
      ['no credential', tiValue(TI_LIVE_OLD, { apiKey: undefined }), ['apiKey: must be a non-empty string (required for thought-industries)']],
      [
        'a Thrive value without its tenant',
        JSON.stringify({ provider: 'thrive', environment: 'sandbox', baseUrl: 'https://acme.learn.link', apiKey: TI_LIVE_OLD }),
        ['tenantId: must be a non-empty string (required for thrive)'],
      ],
      [
        'several wrong fields',
        JSON.stringify({ provider: 'imburse', environment: 'prod', baseUrl: 'ftp://x', privateKey: TI_LIVE_OLD, expiresAt: 5 }),
        [
          'environment: must be one of production, sandbox',
          'baseUrl: must be an http(s) URL',
          'tenantId: must be a non-empty string (required for imburse)',
          'publicKey: must be a non-empty string (required for imburse)',
          'expiresAt: must be a string when present',
        ],
      ],
    ])('refuses %s with an InvalidSecretValueError naming each field, never the value', async (_case, secretString, issues) => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: secretString });

      const error = await expectFailure(reader.getApiKey(SECRET));

      expect(error).toBeInstanceOf(InvalidSecretValueError);
      expect((error as InvalidSecretValueError).issues).toEqual(issues);
      expect(error.message).toContain(`Secret ${SECRET} does not hold a keyrotor-managed credential`);
    });

    it('refuses a binary secret', async () => {
      sm.on(GetSecretValueCommand).resolves({ SecretBinary: new TextEncoder().encode(TI_LIVE_OLD) });

      const error = await expectFailure(reader.getApiKey(SECRET));

      expect(error).toBeInstanceOf(InvalidSecretValueError);
      expect(error.message).toMatch(/has no SecretString/);
    });

    it('creates its own client from clientConfig when none is injected', async () => {
      // aws-sdk-client-mock replaces send() on every SecretsManagerClient, including the reader's own
      sm.on(GetSecretValueCommand).resolves({ SecretString: tiValue(TI_LIVE_OLD) });
      const own = createKeyrotorReader({ clientConfig: { region: 'eu-west-2' }, now: () => now });

      expect((await own.getApiKey(SECRET)).apiKey).toBe(TI_LIVE_OLD);
      own.destroy();
    });
  });

  describe('Method: getToken', () => {
    it('returns the access token, its type and its expiry', async () => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: tokenValue(ACCESS_OLD, { expiresAt: T0 + 60 * MINUTE, refreshAt: T0 + 45 * MINUTE }) });

      const token = await reader.getToken(TOKEN_SECRET);

      expect(token).toEqual({ accessToken: ACCESS_OLD, tokenType: 'Bearer', expiresAt: iso(T0 + 60 * MINUTE) });
      expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: TOKEN_SECRET, VersionStage: 'AWSCURRENT' });
    });

    it('never caches a token past its refreshAt, even when the TTL is longer', async () => {
      reader = build({ cacheTtlSeconds: 3600 });
      sm.on(GetSecretValueCommand)
        .resolvesOnce({ SecretString: tokenValue(ACCESS_OLD, { expiresAt: T0 + 60 * MINUTE, refreshAt: T0 + 2 * MINUTE }) })
        .resolves({ SecretString: tokenValue(ACCESS_NEW, { issuedAt: T0 + 2 * MINUTE, expiresAt: T0 + 62 * MINUTE, refreshAt: T0 + 47 * MINUTE }) });

      await reader.getToken(TOKEN_SECRET);
      now = T0 + 2 * MINUTE - 1;
      expect((await reader.getToken(TOKEN_SECRET)).accessToken).toBe(ACCESS_OLD);
      now = T0 + 2 * MINUTE;
      expect((await reader.getToken(TOKEN_SECRET)).accessToken).toBe(ACCESS_NEW);
      expect(calls()).toBe(2);
    });

    it('never caches a token past its expiresAt (a value without refreshAt)', async () => {
      sm.on(GetSecretValueCommand)
        .resolvesOnce({ SecretString: tokenValue(ACCESS_OLD, { expiresAt: T0 + 1 * MINUTE }) })
        .resolves({ SecretString: tokenValue(ACCESS_NEW, { expiresAt: T0 + 61 * MINUTE }) });

      await reader.getToken(TOKEN_SECRET);
      now = T0 + 1 * MINUTE; // expired: refetched rather than served from the cache

      expect((await reader.getToken(TOKEN_SECRET)).accessToken).toBe(ACCESS_NEW);
      expect(calls()).toBe(2);
    });

    it('throws TokenExpiredError when even a fresh read holds an expired token, and does not cache it', async () => {
      sm.on(GetSecretValueCommand)
        .resolvesOnce({ SecretString: tokenValue(ACCESS_OLD, { issuedAt: T0 - 60 * MINUTE, expiresAt: T0 - 1 }) })
        .resolves({ SecretString: tokenValue(ACCESS_NEW, { expiresAt: T0 + 60 * MINUTE }) });

      const error = await expectFailure(reader.getToken(TOKEN_SECRET));

      expect(error).toBeInstanceOf(TokenExpiredError);
      expect(error).toMatchObject({ expiresAt: iso(T0 - 1), secretId: TOKEN_SECRET });
      expect(error.message).toContain('token-refresh-failing.md');
      expect((await reader.getToken(TOKEN_SECRET)).accessToken).toBe(ACCESS_NEW);
    });

    it('re-reads a token past its refreshAt every 30 s while the refresher catches up, not on every call', async () => {
      // The refresher runs every few minutes: between refreshAt and its next run the secret still holds the old token.
      sm.on(GetSecretValueCommand).resolves({ SecretString: tokenValue(ACCESS_OLD, { expiresAt: T0 + 10 * MINUTE, refreshAt: T0 - MINUTE }) });

      for (let i = 0; i < 60; i += 1) {
        await reader.getToken(TOKEN_SECRET);
        now += 1_000; // one call a second for a minute
      }

      expect(calls()).toBe(2);
    });

    it('says a token secret still holding the bootstrap value awaits its first token', async () => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: BOOTSTRAP });

      const error = await expectFailure(reader.getToken(TOKEN_SECRET));

      expect(error).toBeInstanceOf(AwaitingFirstKeyError);
      expect(error.message).toMatch(/awaits its first token; keyrotor's token refresher writes one/);
    });

    it.each([
      ['no accessToken', { tokenType: 'Bearer', expiresAt: iso(T0 + MINUTE) }, ['accessToken: must be a non-empty string']],
      ['a date without a zone', { accessToken: ACCESS_OLD, tokenType: 'Bearer', expiresAt: '2026-11-23 11:00' }, ['expiresAt: must be an ISO 8601 date-time with a zone']],
      [
        'a wrong refreshAt',
        { accessToken: ACCESS_OLD, tokenType: '', expiresAt: iso(T0 + MINUTE), refreshAt: 'soon' },
        ['tokenType: must be a non-empty string', 'refreshAt: must be an ISO 8601 date-time with a zone when present'],
      ],
      ['an API-key value', JSON.parse(tiValue(TI_LIVE_OLD)) as object, ['accessToken: must be a non-empty string', 'tokenType: must be a non-empty string', 'expiresAt: must be an ISO 8601 date-time with a zone']],
    ])('refuses %s, naming each field', async (_case, value, issues) => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(value) });

      const error = await expectFailure(reader.getToken(TOKEN_SECRET));

      expect(error).toBeInstanceOf(InvalidSecretValueError);
      expect((error as InvalidSecretValueError).issues).toEqual(issues);
      expect(error.message).toContain(`Secret ${TOKEN_SECRET} does not hold a keyrotor access token`);
    });
  });

  describe('Method: withFreshCredential', () => {
    it('calls fn with the cached credential and returns its result', async () => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: tiValue(TI_LIVE_OLD) });

      const result = await reader.withFreshCredential(SECRET, ({ apiKey }) => `called with ${apiKey === TI_LIVE_OLD ? 'old' : '?'}`);

      expect(result).toBe('called with old');
      expect(calls()).toBe(1);
    });

    it('on a 401, reads the secret again once and retries once with the new key', async () => {
      // Prepare: the cache holds the old key; the secret now holds the new one
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: tiValue(TI_LIVE_OLD) }).resolves({ SecretString: tiValue(TI_LIVE_NEW) });
      await reader.getApiKey(SECRET);
      const used: (string | undefined)[] = [];

      // Act
      const result = await reader.withFreshCredential(SECRET, async ({ apiKey }) => {
        used.push(apiKey);
        if (apiKey !== TI_LIVE_NEW) throw unauthorized();
        return 'ok';
      });

      // Assess
      expect(result).toBe('ok');
      expect(used).toEqual([TI_LIVE_OLD, TI_LIVE_NEW]);
      expect(calls()).toBe(2);
      expect((await reader.getApiKey(SECRET)).apiKey).toBe(TI_LIVE_NEW); // the new key is cached
      expect(calls()).toBe(2);
    });

    it('does not read again on an error that is not a 401', async () => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: tiValue(TI_LIVE_OLD) });
      const boom = Object.assign(new Error('platform is down'), { status: 503 });
      const fn = jest.fn(async () => {
        throw boom;
      });

      const error = await failure(reader.withFreshCredential(SECRET, fn));

      expect(error).toBe(boom);
      expect(fn).toHaveBeenCalledTimes(1);
      expect(calls()).toBe(1);
    });

    it('lets a second 401, after the new key was read, reach the caller', async () => {
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: tiValue(TI_LIVE_OLD) }).resolves({ SecretString: tiValue(TI_LIVE_NEW) });
      const first = unauthorized();
      const second = unauthorized();
      const fn = jest.fn().mockRejectedValueOnce(first).mockRejectedValueOnce(second);

      const error = await failure(reader.withFreshCredential(SECRET, fn));

      expect(error).toBe(second);
      expect(fn).toHaveBeenCalledTimes(2);
      expect(calls()).toBe(2);
    });

    it('does not retry when the secret still holds the same key (the 401 is not a rotation)', async () => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: tiValue(TI_LIVE_OLD, { issuedAt: '2026-11-23T10:00:00.000Z' }) });
      await reader.getApiKey(SECRET);
      // metadata may change without the key changing: still the same key
      sm.on(GetSecretValueCommand).resolves({ SecretString: tiValue(TI_LIVE_OLD, { issuedAt: '2026-11-23T10:00:00.000Z', fingerprint: 'x' }) });
      const original = unauthorized();
      const fn = jest.fn().mockRejectedValue(original);

      const error = await failure(reader.withFreshCredential(SECRET, fn));

      expect(error).toBe(original);
      expect(fn).toHaveBeenCalledTimes(1);
      expect(calls()).toBe(2);
    });

    it('shares one re-read between concurrent callers that got the same 401', async () => {
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: tiValue(TI_LIVE_OLD) }).resolves({ SecretString: tiValue(TI_LIVE_NEW) });
      await reader.getApiKey(SECRET);

      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          reader.withFreshCredential(SECRET, async ({ apiKey }) => {
            await Promise.resolve(); // let every caller fail before the first re-read completes
            if (apiKey !== TI_LIVE_NEW) throw unauthorized();
            return 'ok';
          }),
        ),
      );

      expect(results).toEqual(Array(20).fill('ok'));
      expect(calls()).toBe(2);
    });

    it('throws the SecretFetchError of a failed re-read', async () => {
      sm.on(GetSecretValueCommand)
        .resolvesOnce({ SecretString: tiValue(TI_LIVE_OLD) })
        .rejects(accessDenied());

      const error = await expectFailure(reader.withFreshCredential(SECRET, async () => Promise.reject(unauthorized())));

      expect(error).toBeInstanceOf(SecretFetchError);
    });

    it('recognises a thrown fetch Response with status 401', async () => {
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: tiValue(TI_LIVE_OLD) }).resolves({ SecretString: tiValue(TI_LIVE_NEW) });

      const status = await reader.withFreshCredential(SECRET, async ({ apiKey }) => {
        const response = new Response(null, { status: apiKey === TI_LIVE_NEW ? 200 : 401 });
        if (!response.ok) throw response;
        return response.status;
      });

      expect(status).toBe(200);
    });

    it('uses the isUnauthorized predicate from the options', async () => {
      reader = build({ isUnauthorized: (error) => error instanceof Error && error.message === 'INVALID_TOKEN' });
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: tiValue(TI_LIVE_OLD) }).resolves({ SecretString: tiValue(TI_LIVE_NEW) });

      const result = await reader.withFreshCredential(SECRET, async ({ apiKey }) => {
        if (apiKey !== TI_LIVE_NEW) throw new Error('INVALID_TOKEN');
        return 'ok';
      });

      expect(result).toBe('ok');
      expect(reader.isUnauthorized(unauthorized())).toBe(false);
    });
  });

  describe('Method: withFreshToken', () => {
    it('on a 401, reads the token secret again and retries with the new token', async () => {
      sm.on(GetSecretValueCommand)
        .resolvesOnce({ SecretString: tokenValue(ACCESS_OLD, { expiresAt: T0 + 60 * MINUTE, refreshAt: T0 + 45 * MINUTE }) })
        .resolves({ SecretString: tokenValue(ACCESS_NEW, { expiresAt: T0 + 60 * MINUTE, refreshAt: T0 + 45 * MINUTE }) });

      const result = await reader.withFreshToken(TOKEN_SECRET, async ({ accessToken, tokenType }) => {
        if (accessToken !== ACCESS_NEW) throw { response: { status: 401 } };
        return `${tokenType} ok`;
      });

      expect(result).toBe('Bearer ok');
      expect(calls()).toBe(2);
    });
  });

  describe('Method: invalidate', () => {
    it('makes the next read fetch afresh', async () => {
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: tiValue(TI_LIVE_OLD) }).resolves({ SecretString: tiValue(TI_LIVE_NEW) });
      await reader.getApiKey(SECRET);

      reader.invalidate(SECRET);

      expect((await reader.getApiKey(SECRET)).apiKey).toBe(TI_LIVE_NEW);
      expect(calls()).toBe(2);
    });

    it('does not cache a read that was already in flight when invalidated', async () => {
      const held = gate();
      sm.on(GetSecretValueCommand)
        .callsFakeOnce(async () => {
          await held.opened;
          return { SecretString: tiValue(TI_LIVE_OLD) };
        })
        .resolves({ SecretString: tiValue(TI_LIVE_NEW) });

      const early = reader.getApiKey(SECRET);
      reader.invalidate();
      held.release();

      expect((await early).apiKey).toBe(TI_LIVE_OLD); // its own caller still gets it
      expect((await reader.getApiKey(SECRET)).apiKey).toBe(TI_LIVE_NEW);
      expect(calls()).toBe(2);
    });
  });

  describe('Options', () => {
    it('lists every problem in one ReaderOptionsError', () => {
      const client = new SecretsManagerClient({ region: 'eu-west-1' });

      const make = () =>
        createKeyrotorReader({ client, clientConfig: {}, cacheTtlSeconds: 0, tokenRecheckSeconds: Number.NaN, ttl: 5 } as KeyrotorReaderOptions);

      expect(make).toThrow(ReaderOptionsError);
      expect(make).toThrow(
        [
          'keyrotor reader options are invalid:',
          '  - ttl: unknown option (known: client, clientConfig, cacheTtlSeconds, tokenRecheckSeconds, isUnauthorized, now)',
          '  - client, clientConfig: give one of them; clientConfig only configures a client the reader creates itself',
          '  - cacheTtlSeconds: must be a number of seconds greater than 0 and at most 86400 (one day)',
          '  - tokenRecheckSeconds: must be a number of seconds greater than 0 and at most 86400 (one day)',
        ].join('\n'),
      );
    });

    it("defaults to keyrotor's reader.cacheTtlSeconds, well under the default grace period", () => {
      // The client cannot import lib/config (zod): this keeps the two from drifting apart.
      expect(DEFAULT_CACHE_TTL_SECONDS).toBe(DEFAULT_READER_CACHE_TTL_SECONDS);
      expect(MAX_CACHE_TTL_SECONDS).toBe(MAX_READER_CACHE_TTL_SECONDS);
      expect(DEFAULT_CACHE_TTL_SECONDS).toBeLessThan(DEFAULT_GRACE_PERIOD_HOURS * 3600);
    });

    it('accepts fractions of a second and the one-day maximum', () => {
      expect(() => build({ cacheTtlSeconds: 0.5 })).not.toThrow();
      expect(() => build({ cacheTtlSeconds: 86_400 })).not.toThrow();
      expect(() => build({ cacheTtlSeconds: 86_401 })).toThrow(/cacheTtlSeconds/);
    });
  });
});
