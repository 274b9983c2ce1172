import {
  makeThoughtIndustriesKey,
  startThoughtIndustriesSandbox,
  type ThoughtIndustriesSandbox,
} from '../../support/sandboxes/thought-industries-sandbox';

const UNAUTHORIZED_BODY = '{"error":"unauthorized","message":"Invalid or expired API key."}';

const get = (sandbox: ThoughtIndustriesSandbox, path: string, headers: Record<string, string> = {}) =>
  fetch(`${sandbox.baseUrl}${path}`, { headers });

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

interface UsersPage {
  pageInfo: { total: number; limit: number; cursor: string | null };
  users: Array<{ id: string; email: string; firstName: string; lastName: string }>;
}
interface ErrorBody {
  error: string;
  message: string;
}

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

describe('Function: makeThoughtIndustriesKey', () => {
  it('returns a ti_live_ key with 24 alphanumerics for production', () => {
    // Act
    const key = makeThoughtIndustriesKey('production');

    // Assess
    expect(key).toMatch(/^ti_live_[A-Za-z0-9]{24}$/);
  });

  it('returns a ti_test_ key for sandbox, different each time', () => {
    // Act
    const first = makeThoughtIndustriesKey('sandbox');
    const second = makeThoughtIndustriesKey('sandbox');

    // Assess
    expect(first).toMatch(/^ti_test_[A-Za-z0-9]{24}$/);
    expect(second).not.toBe(first);
  });
});

describe('Function: startThoughtIndustriesSandbox', () => {
  let sandbox: ThoughtIndustriesSandbox;
  let key: string;

  beforeEach(async () => {
    sandbox = await startThoughtIndustriesSandbox();
    key = makeThoughtIndustriesKey('production');
    sandbox.addKey(key);
  });

  afterEach(async () => {
    await sandbox.close();
  });

  it('returns a loopback base URL', () => {
    // Assess
    expect(sandbox.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('returns 200 with at most `limit` users for a valid key', async () => {
    // Act
    const response = await get(sandbox, '/incoming/v2/users?limit=1', bearer(key));

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = await json<UsersPage>(response);
    expect(body.pageInfo).toEqual({ total: expect.any(Number), limit: 1, cursor: null });
    expect(body.users).toHaveLength(1);
    expect(body.users[0]).toEqual({
      id: expect.any(String),
      email: expect.stringContaining('@'),
      firstName: expect.any(String),
      lastName: expect.any(String),
    });
  });

  it('returns 25 users by default and at most 100', async () => {
    // Act
    const byDefault = await json<UsersPage>(await get(sandbox, '/incoming/v2/users', bearer(key)));
    const capped = await json<UsersPage>(await get(sandbox, '/incoming/v2/users?limit=500', bearer(key)));

    // Assess
    expect(byDefault.users).toHaveLength(25);
    expect(byDefault.pageInfo.limit).toBe(25);
    expect(capped.pageInfo.total).toBeGreaterThan(100);
    expect(capped.users).toHaveLength(100);
    expect(capped.pageInfo.limit).toBe(100);
  });

  it('returns 200 for a sandbox (ti_test_) key too', async () => {
    // Prepare
    const sandboxKey = makeThoughtIndustriesKey('sandbox');
    sandbox.addKey(sandboxKey);

    // Act
    const response = await get(sandbox, '/incoming/v2/users?limit=1', bearer(sandboxKey));

    // Assess
    expect(response.status).toBe(200);
  });

  it.each([
    ['a missing Authorization header', {}],
    ['a wrong scheme', { Authorization: 'Basic dGlfbGl2ZV9hMWIyYzNkNGU1ZjZnN2g4aTlqMA==' }],
    ['an empty bearer token', { Authorization: 'Bearer ' }],
    ['an unknown prefix', { Authorization: 'Bearer tk_live_a1b2c3d4e5f6g7h8i9j0' }],
    ['a too short token', { Authorization: 'Bearer ti_live_a1b2c3d4' }],
    ['a token with punctuation', { Authorization: 'Bearer ti_live_a1b2c3d4-5f6g7h8i9j0' }],
    ['an unknown well-formed key', { Authorization: 'Bearer ti_live_a1b2c3d4e5f6g7h8i9j0' }],
  ])('returns 401 with the documented body for %s', async (_case, headers: Record<string, string>) => {
    // Act
    const response = await get(sandbox, '/incoming/v2/users?limit=1', headers);

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe(UNAUTHORIZED_BODY);
  });

  it('returns 401 with the documented body once the key is revoked', async () => {
    // Prepare
    const before = await get(sandbox, '/incoming/v2/users?limit=1', bearer(key));
    await before.arrayBuffer();

    // Act
    sandbox.revokeKey(key);
    const after = await get(sandbox, '/incoming/v2/users?limit=1', bearer(key));

    // Assess
    expect(before.status).toBe(200);
    expect(after.status).toBe(401);
    expect(await after.text()).toBe(UNAUTHORIZED_BODY);
  });

  it('returns 401 for the first N requests of a key that has not propagated, then 200', async () => {
    // Prepare
    const fresh = makeThoughtIndustriesKey('production');
    sandbox.addKey(fresh, { propagationFailures: 2 });

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await get(sandbox, '/incoming/v2/users?limit=1', bearer(fresh));
      await response.arrayBuffer();
      statuses.push(response.status);
    }

    // Assess
    expect(statuses).toEqual([401, 401, 200]);
  });

  it('returns 404 not_found for an unknown path with a valid key', async () => {
    // Act
    const response = await get(sandbox, '/incoming/v2/nothing-here', bearer(key));

    // Assess
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'not_found', message: expect.any(String) });
  });

  it('returns 405 for a non-GET request on users', async () => {
    // Act
    const response = await fetch(`${sandbox.baseUrl}/incoming/v2/users`, { method: 'POST', headers: bearer(key), body: '{}' });

    // Assess
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    await response.arrayBuffer();
  });

  it('throws when adding a malformed key', () => {
    // Act / Assess
    expect(() => sandbox.addKey('ti_live_short')).toThrow(TypeError);
  });

  it('returns the injected failures for the next N responses, then normal ones', async () => {
    // Prepare
    sandbox.failNext(2, 503);
    sandbox.failNext(1, 429, 7);

    // Act
    const responses = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await get(sandbox, '/incoming/v2/users?limit=1', bearer(key));
      responses.push({ status: response.status, retryAfter: response.headers.get('retry-after'), body: await json<ErrorBody>(response) });
    }

    // Assess
    expect(responses.map((r) => r.status)).toEqual([503, 503, 429, 200]);
    expect(responses[0].retryAfter).toBeNull();
    expect(responses[0].body.error).toBe('service_unavailable');
    expect(responses[2].retryAfter).toBe('7');
    expect(responses[2].body).toEqual({ error: 'rate_limited', message: 'Too many requests. Retry after 7 seconds.' });
  });

  it('returns Retry-After 1 for an injected 429 without a delay', async () => {
    // Prepare
    sandbox.failNext(1, 429);

    // Act
    const response = await get(sandbox, '/incoming/v2/users', bearer(key));
    await response.arrayBuffer();

    // Assess
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
  });

  it('returns recorded requests that never contain the key', async () => {
    // Prepare
    sandbox.revokeKey(makeThoughtIndustriesKey('sandbox'));

    // Act
    await (await get(sandbox, '/incoming/v2/users?limit=2', bearer(key))).arrayBuffer();
    await (await get(sandbox, '/incoming/v2/users')).arrayBuffer();
    await (await get(sandbox, `/incoming/v2/users?api_key=${key}`, bearer(key))).arrayBuffer();

    // Assess
    const requests = sandbox.requests;
    expect(requests).toEqual([
      { method: 'GET', path: '/incoming/v2/users', query: { limit: '2' }, hasAuthorization: true, status: 200, at: expect.any(Number) },
      { method: 'GET', path: '/incoming/v2/users', query: {}, hasAuthorization: false, status: 401, at: expect.any(Number) },
      { method: 'GET', path: '/incoming/v2/users', query: { api_key: '[REDACTED]' }, hasAuthorization: true, status: 200, at: expect.any(Number) },
    ]);
    expect(JSON.stringify(requests)).not.toContain(key.slice('ti_live_'.length));
  });

  it('returns a snapshot of the requests that callers cannot change', async () => {
    // Prepare
    await (await get(sandbox, '/incoming/v2/users', bearer(key))).arrayBuffer();

    // Act
    (sandbox.requests as unknown as unknown[]).length = 0;

    // Assess
    expect(sandbox.requests).toHaveLength(1);
  });
});

describe('Function: startThoughtIndustriesSandbox (rate limit)', () => {
  let sandbox: ThoughtIndustriesSandbox;
  let clock: number;
  let key: string;
  const start = Date.UTC(2026, 0, 1, 12, 0, 0);

  beforeEach(async () => {
    clock = start;
    sandbox = await startThoughtIndustriesSandbox({ rateLimit: 3, rateWindowMs: 60_000, now: () => clock });
    key = makeThoughtIndustriesKey('production');
    sandbox.addKey(key);
  });

  afterEach(async () => {
    await sandbox.close();
  });

  const call = async (headers: Record<string, string> = bearer(key)) => {
    const response = await get(sandbox, '/incoming/v2/users?limit=1', headers);
    const text = await response.text();
    return {
      status: response.status,
      limit: response.headers.get('x-ratelimit-limit'),
      remaining: response.headers.get('x-ratelimit-remaining'),
      reset: response.headers.get('x-ratelimit-reset'),
      retryAfter: response.headers.get('retry-after'),
      text,
    };
  };

  it('returns X-RateLimit headers on every response, unauthenticated ones included', async () => {
    // Act
    const first = await call();
    const second = await call({});

    // Assess
    expect(first).toMatchObject({ status: 200, limit: '3', remaining: '2', reset: String((start + 60_000) / 1000) });
    expect(second).toMatchObject({ status: 401, limit: '3', remaining: '1', reset: String((start + 60_000) / 1000) });
  });

  it('returns 429 with Retry-After once the limit is spent, counting unauthenticated requests', async () => {
    // Prepare
    await call();
    await call({});
    clock += 15_000;
    await call();

    // Act
    const limited = await call();

    // Assess
    expect(limited.status).toBe(429);
    expect(limited.remaining).toBe('0');
    expect(limited.retryAfter).toBe('45');
    expect(limited.text).toBe('{"error":"rate_limited","message":"Too many requests. Retry after 45 seconds."}');
  });

  it('returns 200 again once the window has passed', async () => {
    // Prepare
    for (let i = 0; i < 4; i += 1) await call();
    clock += 60_000;

    // Act
    const next = await call();

    // Assess
    expect(next).toMatchObject({ status: 200, remaining: '2', reset: String((start + 120_000) / 1000) });
  });

  it('returns 200 again after resetRateLimit', async () => {
    // Prepare
    for (let i = 0; i < 4; i += 1) await call();

    // Act
    sandbox.resetRateLimit();
    const next = await call();

    // Assess
    expect(next).toMatchObject({ status: 200, remaining: '2' });
  });

  it('returns the rate-limit defaults of about 250 requests per 15 minutes', async () => {
    // Prepare
    const defaults = await startThoughtIndustriesSandbox({ now: () => start });

    try {
      // Act
      const response = await get(defaults, '/incoming/v2/users');
      await response.arrayBuffer();

      // Assess
      expect(response.headers.get('x-ratelimit-limit')).toBe('250');
      expect(response.headers.get('x-ratelimit-remaining')).toBe('249');
      expect(response.headers.get('x-ratelimit-reset')).toBe(String((start + 900_000) / 1000));
    } finally {
      await defaults.close();
    }
  });
});

describe('Function: ThoughtIndustriesSandbox.close', () => {
  it('returns once keep-alive connections are closed and refuses later requests', async () => {
    // Prepare
    const sandbox = await startThoughtIndustriesSandbox();
    const key = makeThoughtIndustriesKey('production');
    sandbox.addKey(key);
    await (await get(sandbox, '/incoming/v2/users', bearer(key))).arrayBuffer();

    // Act
    await sandbox.close();
    await sandbox.close();

    // Assess
    await expect(get(sandbox, '/incoming/v2/users', bearer(key))).rejects.toThrow();
  });
});
