import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { AwaitingFirstKeyError, createKeyrotorReader, keyrotorCredentials, ReaderOptionsError, type KeyrotorReader } from '../../../client';
import { TI_LIVE_NEW, TI_LIVE_OLD, tiValue } from '../../support/fixtures';

const SECRET = 'keyrotor/acme-prod';
const TOKEN_SECRET = 'keyrotor/acme-oauth/token';
const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const tokenValue = (accessToken: string) =>
  JSON.stringify({ accessToken, tokenType: 'Bearer', issuedAt: new Date(T0).toISOString(), expiresAt: new Date(T0 + 3_600_000).toISOString(), refreshAt: new Date(T0 + 2_700_000).toISOString() });

function lambdaContext(requestId = 'req-1'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'app',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:app',
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/app',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Calls a middy handler as Lambda does, with a plain context: the middleware adds its fields at
 * run time, while middy's types make the handler ask for them up front.
 */
function invoke<R>(handler: (event: unknown, context: never) => Promise<R>, requestId?: string): Promise<R> {
  return handler({}, lambdaContext(requestId) as never);
}

describe('Function: keyrotorCredentials', () => {
  const sm = mockClient(SecretsManagerClient);
  let now: number;
  let reader: KeyrotorReader;
  const calls = () => sm.commandCalls(GetSecretValueCommand).length;

  beforeEach(() => {
    sm.reset();
    now = T0;
    reader = createKeyrotorReader({ client: new SecretsManagerClient({ region: 'eu-west-1' }), now: () => now });
    sm.on(GetSecretValueCommand, { SecretId: SECRET }).resolves({ SecretString: tiValue(TI_LIVE_OLD) });
    sm.on(GetSecretValueCommand, { SecretId: TOKEN_SECRET }).resolves({ SecretString: tokenValue('access-token-0001-abcdefgh') });
  });

  afterAll(() => {
    sm.restore();
  });

  it('puts each secret and token on context under its name before the handler runs', async () => {
    // Prepare
    const handler = middy()
      .use(keyrotorCredentials({ reader, secrets: { lms: SECRET }, tokens: { thrive: TOKEN_SECRET } }))
      .handler(async (_event, context) => ({
        apiKey: context.lms.apiKey,
        baseUrl: context.lms.baseUrl,
        authorization: `${context.thrive.tokenType} ${context.thrive.accessToken}`,
        requestId: context.awsRequestId,
      }));

    // Act
    const result = await invoke(handler);

    // Assess
    expect(result).toEqual({
      apiKey: TI_LIVE_OLD,
      baseUrl: 'https://acme.thoughtindustries.com',
      authorization: 'Bearer access-token-0001-abcdefgh',
      requestId: 'req-1',
    });
  });

  it('reuses the cache across invocations, and reads again after the TTL', async () => {
    const handler = middy()
      .use(keyrotorCredentials({ reader, secrets: { lms: SECRET }, tokens: { thrive: TOKEN_SECRET } }))
      .handler(async (_event, context) => context.lms.apiKey);

    for (let i = 0; i < 10; i += 1) await invoke(handler, `req-${i}`);
    expect(calls()).toBe(2); // one per secret

    now += 5 * 60_000;
    await invoke(handler, 'req-late');
    expect(calls()).toBe(4);
  });

  it('drops its secrets from the cache when the handler fails with a 401, so the next invocation reads the new key', async () => {
    // Prepare: the handler's first key is rejected; the secret has a new key since
    let attempt = 0;
    const handler = middy()
      .use(keyrotorCredentials({ reader, secrets: { lms: SECRET } }))
      .handler(async (_event, context) => {
        attempt += 1;
        if (context.lms.apiKey !== TI_LIVE_NEW) throw Object.assign(new Error('rejected'), { statusCode: 401 });
        return 'ok';
      });
    await expect(invoke(handler, 'req-1')).rejects.toMatchObject({ statusCode: 401 });
    sm.on(GetSecretValueCommand, { SecretId: SECRET }).resolves({ SecretString: tiValue(TI_LIVE_NEW) });

    // Act
    const result = await invoke(handler, 'req-2');

    // Assess
    expect(result).toBe('ok');
    expect(attempt).toBe(2);
    expect(calls()).toBe(2);
  });

  it('keeps the cache when the handler fails otherwise', async () => {
    const handler = middy()
      .use(keyrotorCredentials({ reader, secrets: { lms: SECRET } }))
      .handler(async () => {
        throw Object.assign(new Error('platform down'), { statusCode: 503 });
      });

    await expect(invoke(handler, 'req-1')).rejects.toThrow('platform down');
    await expect(invoke(handler, 'req-2')).rejects.toThrow('platform down');

    expect(calls()).toBe(1);
  });

  it('keeps the cache on a 401 when invalidateOnUnauthorized is false', async () => {
    const handler = middy()
      .use(keyrotorCredentials({ reader, secrets: { lms: SECRET }, invalidateOnUnauthorized: false }))
      .handler(async () => {
        throw { status: 401 };
      });

    await expect(invoke(handler, 'req-1')).rejects.toEqual({ status: 401 });
    await expect(invoke(handler, 'req-2')).rejects.toEqual({ status: 401 });

    expect(calls()).toBe(1);
  });

  it("fails the invocation with the reader's error before the handler runs", async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET }).resolves({ SecretString: '{"keyrotor":"awaiting-first-key","bootstrap":"abc"}' });
    const inner = jest.fn();
    const handler = middy().use(keyrotorCredentials({ reader, secrets: { lms: SECRET } })).handler(inner);

    await expect(invoke(handler)).rejects.toBeInstanceOf(AwaitingFirstKeyError);
    expect(inner).not.toHaveBeenCalled();
  });

  it('shares one default reader between middlewares that are given none', async () => {
    // A secret id no other test reads: the default reader lives as long as the module.
    sm.on(GetSecretValueCommand, { SecretId: 'keyrotor/shared' }).resolves({ SecretString: tiValue(TI_LIVE_OLD) });
    const a = middy().use(keyrotorCredentials({ secrets: { lms: 'keyrotor/shared' } })).handler(async (_e, c) => c.lms.apiKey);
    const b = middy().use(keyrotorCredentials({ secrets: { other: 'keyrotor/shared' } })).handler(async (_e, c) => c.other.apiKey);

    expect([await invoke(a), await invoke(b)]).toEqual([TI_LIVE_OLD, TI_LIVE_OLD]);
    expect(calls()).toBe(1);
  });

  it('lists every problem with its options in one ReaderOptionsError', () => {
    const make = () =>
      keyrotorCredentials({
        secrets: { lms: SECRET, functionName: 'keyrotor/x', blank: ' ' },
        tokens: { lms: TOKEN_SECRET },
        setToContext: true,
      } as Parameters<typeof keyrotorCredentials>[0]);

    expect(make).toThrow(ReaderOptionsError);
    expect(make).toThrow(
      [
        'keyrotorCredentials options are invalid:',
        '  - setToContext: unknown option (known: reader, secrets, tokens, invalidateOnUnauthorized)',
        "  - secrets.functionName: would replace the Lambda context's own functionName; choose another name",
        '  - secrets.blank: must be a secret id (name or ARN)',
        '  - tokens.lms: the name is also used in secrets; each name on context holds one value',
      ].join('\n'),
    );
  });

  it('refuses a middleware with nothing to read', () => {
    expect(() => keyrotorCredentials({ secrets: {} })).toThrow('secrets, tokens: name at least one secret to read');
  });
});
