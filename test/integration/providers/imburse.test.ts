import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import {
  ProviderAuthError,
  ProviderPermissionError,
  ProviderRateLimitError,
  ProviderUnavailableError,
  ValidationError,
} from '../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../lambdas/core/redaction';
import { ImburseProvider, type ImburseValue } from '../../../lambdas/providers/imburse';
import { startImburseSandbox, type ImburseSandbox } from '../../support/sandboxes/imburse-sandbox';

/**
 * ImburseProvider over real HTTP against the local Imburse sandbox. The sandbox checks signatures
 * with its own implementation of the documented recipe, and so does this file: a signature one side
 * computes from the recipe must be accepted by the other.
 */

interface KeyPair {
  publicKey: string;
  privateKey: string;
}

interface ErrorBody {
  timestamp: string;
  correlationId: string;
  errors: { errorCode: string; message: string }[];
}

/** The recipe, written here independently of both the provider's signer and the sandbox. */
function authorizationFor(key: KeyPair, options: { nonce?: string; epoch?: number; body?: string; signWith?: string } = {}): string {
  const nonce = options.nonce ?? randomUUID();
  const epoch = options.epoch ?? Math.floor(Date.now() / 1000);
  const hash = options.body ? createHash('sha256').update(options.body, 'utf8').digest('base64') : '';
  const signature = createHmac('sha256', Buffer.from(options.signWith ?? key.privateKey, 'base64'))
    .update(`${key.publicKey}:${nonce}:${epoch}:${hash}`, 'utf8')
    .digest('base64');
  return `Hmac ${key.publicKey}:${nonce}:${epoch}:${signature}`;
}

describe('Integration: ImburseProvider against the Imburse sandbox (real HTTP)', () => {
  let sandbox: ImburseSandbox;
  let provider: ImburseProvider;
  let admin: KeyPair;

  const valueOf = (key: KeyPair): ImburseValue => ({
    provider: 'imburse',
    environment: 'sandbox',
    baseUrl: sandbox.baseUrl,
    tenantId: sandbox.tenantId,
    publicKey: key.publicKey,
    privateKey: key.privateKey,
  });
  const target = () => ({ baseUrl: sandbox.baseUrl, environment: 'sandbox' as const });
  const exchange = (authorization: string, body?: string) =>
    fetch(`${sandbox.baseUrl}/v1/identity/hmac`, { method: 'POST', headers: { authorization, ...(body ? { 'content-type': 'application/json' } : {}) }, body });
  const errorCodeOf = async (response: Response): Promise<string> => ((await response.json()) as ErrorBody).errors[0].errorCode;

  beforeEach(async () => {
    clearRegisteredSecrets();
    sandbox = await startImburseSandbox();
    admin = sandbox.addKey(['tenant-admin', 'payments-write'], { name: 'Admin Key' });
    provider = new ImburseProvider({ sleep: async () => undefined, baseBackoffMs: 1 });
  });

  afterEach(async () => {
    await sandbox.close();
  });

  describe('Signatures', () => {
    it("accepts the provider's signature: verify answers what it checked", async () => {
      // Act
      const result = await provider.verify(valueOf(admin), target());

      // Assess
      expect(result).toEqual({ checked: `POST ${sandbox.baseUrl}/v1/identity/hmac → 200` });
      expect(sandbox.requests).toEqual([expect.objectContaining({ method: 'POST', path: '/v1/identity/hmac', scheme: 'Hmac', publicKey: admin.publicKey, status: 200 })]);
    });

    it('mints a token that expires in 15 minutes and works for the tenant API', async () => {
      const before = Date.now();

      const token = await provider.mintAccessToken(valueOf(admin), target());

      expect(Date.parse(token.expiresAt) - before).toBeGreaterThan(899_000);
      expect(Date.parse(token.expiresAt) - before).toBeLessThanOrEqual(901_000);
      const list = await fetch(`${sandbox.baseUrl}/v1/tenant/${sandbox.tenantId}/keys`, { headers: { authorization: `Bearer ${token.accessToken}` } });
      expect(list.status).toBe(200);
    });

    it('accepts a signature this test computes from the recipe, and the token it returns', async () => {
      // Act
      const response = await exchange(authorizationFor(admin));

      // Assess
      expect(response.status).toBe(200);
      const body = (await response.json()) as { accessToken: string; expires: number };
      expect(typeof body.accessToken).toBe('string');
      expect(body.expires).toBeGreaterThan(Date.now());
    });

    it('accepts a signature over a body, and refuses it when the body changes', async () => {
      const body = '{"purpose":"exchange"}';

      expect((await exchange(authorizationFor(admin, { body }), body)).status).toBe(200);
      const tampered = await exchange(authorizationFor(admin, { body }), '{"purpose":"other"}');
      expect(tampered.status).toBe(401);
      expect(await errorCodeOf(tampered)).toBe('InvalidSignature');
    });

    it('refuses a signature whose epoch is 6 minutes old (HmacExpired), and one 6 minutes ahead', async () => {
      const now = Math.floor(Date.now() / 1000);

      const old = await exchange(authorizationFor(admin, { epoch: now - 360 }));
      const ahead = await exchange(authorizationFor(admin, { epoch: now + 360 }));

      expect(old.status).toBe(401);
      const body = (await old.json()) as ErrorBody;
      expect(body.errors[0].errorCode).toBe('HmacExpired');
      expect(body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
      expect(ahead.status).toBe(401);
      expect(await errorCodeOf(ahead)).toBe('HmacNotYetValid');
    });

    it('accepts a signature 4 minutes old', async () => {
      const response = await exchange(authorizationFor(admin, { epoch: Math.floor(Date.now() / 1000) - 240 }));

      expect(response.status).toBe(200);
    });

    it('refuses a replayed nonce (NonceReused)', async () => {
      const authorization = authorizationFor(admin, { nonce: randomUUID() });

      const first = await exchange(authorization);
      const replay = await exchange(authorization);

      expect(first.status).toBe(200);
      expect(replay.status).toBe(401);
      expect(await errorCodeOf(replay)).toBe('NonceReused');
    });

    it('refuses a signature made with the wrong private key (InvalidSignature), and does not spend its nonce', async () => {
      const nonce = randomUUID();

      const wrong = await exchange(authorizationFor(admin, { nonce, signWith: randomBytes(32).toString('base64') }));
      const right = await exchange(authorizationFor(admin, { nonce }));

      expect(wrong.status).toBe(401);
      expect(await errorCodeOf(wrong)).toBe('InvalidSignature');
      expect(right.status).toBe(200);
    });

    it('refuses an unknown public key (UnknownKey) and a malformed header', async () => {
      const unknown = await exchange(authorizationFor({ publicKey: randomUUID(), privateKey: admin.privateKey }));
      const malformed = await exchange(`Hmac ${admin.publicKey}`);

      expect(await errorCodeOf(unknown)).toBe('UnknownKey');
      expect(await errorCodeOf(malformed)).toBe('InvalidAuthorizationHeader');
    });

    it("reports a wrong private key as ProviderAuthError with the platform's message", async () => {
      const wrong = { ...admin, privateKey: randomBytes(32).toString('base64') };

      const error = (await provider.verify(valueOf(wrong), target()).catch((e: unknown) => e)) as ProviderAuthError;

      expect(error).toBeInstanceOf(ProviderAuthError);
      expect(error.platformMessage).toBe('The signature does not match the request.');
      expect(error.message).not.toContain(wrong.privateKey);
      expect(error.message).not.toContain(admin.privateKey);
    });

    it("signs with the provider's clock: refused when it is 10 minutes behind the platform's, accepted when they agree", async () => {
      // Prepare: the platform's clock runs 10 minutes ahead of this machine's
      await sandbox.close();
      const skew = 600_000;
      sandbox = await startImburseSandbox({ now: () => Date.now() + skew });
      admin = sandbox.addKey();
      const agreeing = new ImburseProvider({}, { now: () => Date.now() + skew });

      // Act
      const behind = await provider.verify(valueOf(admin), target()).catch((e: unknown) => e);

      // Assess
      expect(behind).toBeInstanceOf(ProviderAuthError);
      expect(sandbox.requests[0].errorCode).toBe('HmacExpired');
      await expect(agreeing.verify(valueOf(admin), target())).resolves.toMatchObject({ checked: expect.stringContaining('→ 200') });
    });

    it('repeats an exchange that was rate limited (the sandbox did not spend its nonce)', async () => {
      sandbox.failNext(1, 429, 0);

      await provider.verify(valueOf(admin), target());

      expect(sandbox.requests.map((r) => r.status)).toEqual([429, 200]);
    });

    it('repeats an exchange that answered 503 with a fresh nonce, which the platform accepts', async () => {
      sandbox.failNext(1, 503);

      await expect(provider.verify(valueOf(admin), target())).resolves.toMatchObject({ checked: expect.stringContaining('→ 200') });
      expect(sandbox.requests.map((r) => r.status)).toEqual([503, 200]);
    });

    it('throws ProviderRateLimitError over the per-window limit, with the Retry-After it was given', async () => {
      await sandbox.close();
      sandbox = await startImburseSandbox({ rateLimit: 1, rateWindowMs: 600_000 });
      admin = sandbox.addKey();
      const impatient = new ImburseProvider({ maxRetryAfterMs: 1000 });
      await impatient.verify(valueOf(admin), target());

      const error = (await impatient.verify(valueOf(admin), target()).catch((e: unknown) => e)) as ProviderRateLimitError;

      expect(error).toBeInstanceOf(ProviderRateLimitError);
      expect(error.retryAfterMs).toBeGreaterThan(590_000);
    });
  });

  describe('Rotation', () => {
    it('issues a key with the same roles, verifies it, revokes the old one; the old key can no longer get a token', async () => {
      // Act: issue with the current key
      const issued = await provider.issueKey({ current: valueOf(admin), target: target(), keyName: 'keyrotor-acme-sbx-0001' });

      // Assess: the platform holds a second key, named and with roles as asked
      expect(issued.providerKeyId).toBe(issued.value.publicKey);
      expect(issued.value).toMatchObject({ provider: 'imburse', tenantId: sandbox.tenantId, providerKeyId: issued.providerKeyId });
      expect(issued.value.privateKey).not.toBe(admin.privateKey);
      expect(sandbox.keys()).toEqual([
        { publicKey: admin.publicKey, name: 'Admin Key', roles: ['tenant-admin', 'payments-write'] },
        { publicKey: issued.value.publicKey, name: 'keyrotor-acme-sbx-0001', roles: ['tenant-admin', 'payments-write'] },
      ]);

      // Act: prove the new key, then revoke the old one with it
      await expect(provider.verify(issued.value, target())).resolves.toEqual({ checked: `POST ${sandbox.baseUrl}/v1/identity/hmac → 200` });
      const outcome = await provider.revokeKey({ authenticateWith: issued.value, providerKeyId: admin.publicKey, target: target() });

      // Assess
      expect(outcome).toBe('revoked');
      expect(sandbox.keys().map((key) => key.publicKey)).toEqual([issued.value.publicKey]);
      const oldExchange = await provider.verify(valueOf(admin), target()).catch((e: unknown) => e);
      expect(oldExchange).toBeInstanceOf(ProviderAuthError);
      expect(sandbox.requests.at(-1)).toMatchObject({ path: '/v1/identity/hmac', status: 401, errorCode: 'UnknownKey' });
      const raw = await exchange(authorizationFor(admin));
      expect(raw.status).toBe(401);
    });

    it('lists the keys with their names (how the engine finds an orphan)', async () => {
      const other = sandbox.addKey(['tenant-read'], { name: 'keyrotor-acme-sbx-0002' });

      const keys = await provider.listKeys({ authenticateWith: valueOf(admin), target: target() });

      expect(keys).toEqual([
        { providerKeyId: admin.publicKey, name: 'Admin Key', active: true, roles: ['tenant-admin', 'payments-write'] },
        { providerKeyId: other.publicKey, name: 'keyrotor-acme-sbx-0002', active: true, roles: ['tenant-read'] },
      ]);
    });

    it('answers revoked, then already-revoked for the same key', async () => {
      const old = sandbox.addKey();

      const first = await provider.revokeKey({ authenticateWith: valueOf(admin), providerKeyId: old.publicKey, target: target() });
      const second = await provider.revokeKey({ authenticateWith: valueOf(admin), providerKeyId: old.publicKey, target: target() });

      expect([first, second]).toEqual(['revoked', 'already-revoked']);
      expect(sandbox.requests.filter((r) => r.method === 'DELETE').map((r) => [r.status, r.errorCode])).toEqual([
        [204, undefined],
        [404, 'KeyNotFound'],
      ]);
    });

    it('refuses to revoke the key it authenticates with, and leaves it alone', async () => {
      await expect(provider.revokeKey({ authenticateWith: valueOf(admin), providerKeyId: admin.publicKey, target: target() })).rejects.toThrow(ValidationError);

      expect(sandbox.keys()).toHaveLength(1);
      expect(sandbox.requests).toHaveLength(0);
    });

    it('throws ProviderPermissionError when the current key lacks tenant-admin, and creates nothing', async () => {
      // Prepare
      const reader = sandbox.addKey(['tenant-read'], { name: 'Reader' });

      // Act
      const error = await provider.issueKey({ current: valueOf(reader), target: target(), keyName: 'keyrotor-acme-sbx-0003' }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ProviderPermissionError);
      expect((error as Error).message).toContain('"tenant-admin" role');
      expect(sandbox.keys()).toHaveLength(2);
      expect(sandbox.requests.at(-1)).toMatchObject({ method: 'POST', path: `/v1/tenant/${sandbox.tenantId}/keys`, status: 403, errorCode: 'InsufficientRole' });
    });

    it('throws ProviderPermissionError when the authenticating key may not delete keys', async () => {
      const reader = sandbox.addKey(['tenant-read']);

      await expect(provider.revokeKey({ authenticateWith: valueOf(reader), providerKeyId: admin.publicKey, target: target() })).rejects.toThrow(ProviderPermissionError);
      expect(sandbox.keys()).toHaveLength(2);
    });

    it('sends the create request once when it answers 500, and the platform creates nothing', async () => {
      sandbox.failNext(1, 500, undefined, { method: 'POST', path: `/v1/tenant/${sandbox.tenantId}/keys` });

      await expect(provider.issueKey({ current: valueOf(admin), target: target(), keyName: 'keyrotor-acme-sbx-0004' })).rejects.toThrow(ProviderUnavailableError);

      expect(sandbox.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/keys'))).toHaveLength(1);
      expect(sandbox.keys()).toHaveLength(1);
    });

    it('repeats a rate-limited create and ends with exactly one new key', async () => {
      sandbox.failNext(1, 429, 0, { method: 'POST', path: /\/keys$/ });

      const issued = await provider.issueKey({ current: valueOf(admin), target: target(), keyName: 'keyrotor-acme-sbx-0005' });

      expect(sandbox.keys().map((key) => key.publicKey)).toEqual([admin.publicKey, issued.value.publicKey]);
      expect(sandbox.requests.filter((r) => r.path.endsWith('/keys') && r.method === 'POST').map((r) => r.status)).toEqual([429, 201]);
    });

    it('records no secret in the sandbox request log', async () => {
      const issued = await provider.issueKey({ current: valueOf(admin), target: target(), keyName: 'keyrotor-acme-sbx-0006' });
      await provider.revokeKey({ authenticateWith: issued.value, providerKeyId: admin.publicKey, target: target() });

      const log = JSON.stringify(sandbox.requests);

      expect(log).not.toContain(admin.privateKey);
      expect(log).not.toContain(issued.value.privateKey);
      expect(log).not.toMatch(/Bearer |Hmac /); // no header value, only its scheme
      expect(sandbox.requests.find((r) => r.method === 'POST' && r.path.endsWith('/keys'))?.created).toEqual({
        name: 'keyrotor-acme-sbx-0006',
        roles: ['tenant-admin', 'payments-write'],
      });
    });
  });
});
