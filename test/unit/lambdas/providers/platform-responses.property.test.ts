/**
 * Property: whatever a platform answers — garbage, an HTML error page, a body of megabytes, truncated
 * JSON, the wrong content type, a success body with fields missing or of the wrong type, any status —
 * every provider either succeeds or rejects with a typed KeyrotorError subclass (never a TypeError or a
 * bare Error), and nothing the error carries (message, `String(error)`, its JSON, its causes) holds the
 * secret the provider was called with. The secrets are generated per run and registered the way the
 * Lambdas register a value they read (`registerSecret(...credentialStrings(value))`).
 *
 * A first answer that cannot be a usable reply (a 2xx that is not JSON, a body over the size limit, a
 * 3xx/4xx other than 429) must make the operation reject: every operation reads its first answer.
 */
import * as fc from 'fast-check';
import { KeyrotorError, ProviderResponseError } from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets, registerSecret } from '../../../../lambdas/core/redaction';
import { credentialStrings, type ManagedSecretValue } from '../../../../lambdas/core/secret-value';
import { BossInsightsProvider, type BossInsightsValue } from '../../../../lambdas/providers/boss-insights';
import type { ProviderHttpClientOptions } from '../../../../lambdas/providers/http';
import { ImburseProvider, type ImburseValue } from '../../../../lambdas/providers/imburse';
import { ClientCredentialsTokenSource } from '../../../../lambdas/providers/oauth/client-credentials';
import { ThinkificProvider, type ThinkificValue } from '../../../../lambdas/providers/thinkific';
import { ThoughtIndustriesProvider, type ThoughtIndustriesValue } from '../../../../lambdas/providers/thought-industries';
import { ThriveProvider, type ThriveValue } from '../../../../lambdas/providers/thrive';
import { PLATFORM_STATUSES } from '../../../support/fakes/fetch-stub';

/** The HTTP helper's default body limit (`maxBodyBytes`), which the providers keep. */
const MAX_BODY_BYTES = 1_048_576;
const NOW = Date.parse('2026-11-23T10:00:00Z');

// ---------------------------------------------------------------------------------------------
// Platform answers
// ---------------------------------------------------------------------------------------------

/** One answer of the stubbed platform; the body is built when it is served, so a megabyte body is not kept per run. */
interface Answer {
  readonly kind: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: () => string | Uint8Array;
}

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

function toResponse(answer: Answer): Response {
  return new Response(NULL_BODY_STATUSES.has(answer.status) ? null : answer.body(), { status: answer.status, headers: answer.headers });
}

function textOf(answer: Answer): string {
  if (NULL_BODY_STATUSES.has(answer.status)) return '';
  const body = answer.body();
  return typeof body === 'string' ? body : new TextDecoder().decode(body);
}

function byteLengthOf(answer: Answer): number {
  if (NULL_BODY_STATUSES.has(answer.status)) return 0;
  const body = answer.body();
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Whether an operation must reject when this is the first answer it gets (see the module comment). */
function mustRejectFirst(answer: Answer): boolean {
  const { status } = answer;
  if (byteLengthOf(answer) > MAX_BODY_BYTES) return true;
  if (status >= 300 && status < 500 && status !== 429) return true;
  return status >= 200 && status < 300 && !parsesAsJson(textOf(answer));
}

const statuses = fc.oneof(fc.constantFrom(...PLATFORM_STATUSES), fc.integer({ min: 200, max: 599 }));
const contentTypes = fc.constantFrom<string | undefined>(undefined, 'application/json', 'application/json; charset=utf-8', 'text/html', 'text/plain', 'application/xml', 'application/octet-stream', 'application/problem+json');
const withType = (contentType: string | undefined, extra: Record<string, string> = {}): Record<string, string> => ({
  ...(contentType === undefined ? {} : { 'content-type': contentType }),
  ...extra,
});

/** Text a platform might put around an echoed credential. */
const echoIn = (echo: fc.Arbitrary<string>) =>
  fc.oneof(
    echo.map((secret) => `invalid key ${secret}`),
    echo.map((secret) => `Bearer ${secret} rejected`),
    echo.map((secret) => secret),
    fc.string({ maxLength: 80 }),
  );

/** Answers any platform may give, echoing `secrets` where a careless platform would. `plausible` are success-shaped bodies of this platform. */
function garbageAnswers(secrets: readonly string[], plausible: fc.Arbitrary<unknown>): fc.Arbitrary<Answer> {
  const echo = fc.constantFrom(...secrets);
  const text = echoIn(echo);
  const answer = (kind: string) => (status: number, headers: Record<string, string>, body: () => string | Uint8Array): Answer => ({ kind, status, headers, body });

  const garbageText = fc
    .tuple(statuses, contentTypes, fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), text))
    .map(([status, type, body]) => answer('garbage text')(status, withType(type), () => body));
  const garbageBytes = fc
    .tuple(statuses, contentTypes, fc.uint8Array({ maxLength: 300 }))
    .map(([status, type, bytes]) => answer('garbage bytes')(status, withType(type), () => bytes));
  const html = fc
    .tuple(statuses, fc.constantFrom('text/html', 'text/html; charset=utf-8', 'application/json'), text)
    .map(([status, type, detail]) =>
      answer('HTML error page')(status, withType(type), () => `<!DOCTYPE html><html><head><title>${status} Error</title></head><body><h1>Something went wrong</h1><p>${detail}</p><hr><address>nginx</address></body></html>`),
    );
  // Over the limit: JSON-looking, HTML or plain filler, the secret at both ends; the length declared or not.
  const huge = fc
    .tuple(statuses, contentTypes, fc.integer({ min: MAX_BODY_BYTES + 1, max: 2_500_000 }), echo, fc.constantFrom('json', 'html', 'plain'), fc.boolean())
    .map(([status, type, size, secret, shape, declared]) => {
      const build = (): string => {
        const filler = '.'.repeat(size);
        if (shape === 'json') return `{"message":"bad key ${secret}","pad":"${filler}","key":"${secret}"}`;
        if (shape === 'html') return `<html><body><p>${secret}</p>${filler}<p>${secret}</p></body></html>`;
        return `${secret}${filler}${secret}`;
      };
      return answer('huge body')(status, withType(type, declared ? { 'content-length': String(Buffer.byteLength(build())) } : {}), build);
    });
  // Under the limit but large: valid JSON the provider must still read without trouble.
  const large = fc
    .tuple(statuses, fc.integer({ min: 100_000, max: 900_000 }), plausible, echo)
    .map(([status, size, body, secret]) =>
      answer('large JSON')(status, withType('application/json'), () => JSON.stringify({ ...(typeof body === 'object' && body !== null && !Array.isArray(body) ? body : { body }), message: `denied ${secret}`, pad: '.'.repeat(size) })),
    );
  const truncated = fc
    .tuple(statuses, contentTypes, fc.oneof(plausible, fc.record({ message: text, error: text })), fc.double({ min: 0, max: 0.99, noNaN: true }))
    .map(([status, type, body, cut]) => {
      const full = JSON.stringify(body) ?? '{}';
      return answer('truncated JSON')(status, withType(type), () => full.slice(0, Math.floor(full.length * cut)));
    });
  const wrongType = fc
    .tuple(statuses, fc.constantFrom('text/html', 'text/plain', 'application/xml', 'image/png'), plausible)
    .map(([status, type, body]) => answer('wrong content type')(status, withType(type), () => JSON.stringify(body) ?? 'null'));
  const missingFields = fc
    .tuple(fc.oneof(fc.constantFrom(200, 201), statuses), plausible)
    .map(([status, body]) => answer('missing or mistyped fields')(status, withType('application/json'), () => JSON.stringify(body) ?? 'null'));
  const errorJson = fc
    .tuple(
      statuses,
      fc.oneof(
        fc.record({ message: text }),
        fc.record({ error: text, error_description: text }),
        fc.record({ error: fc.record({ code: fc.string({ maxLength: 20 }), message: text }) }),
        fc.record({ errors: fc.array(fc.record({ message: text, extensions: fc.record({ code: fc.constantFrom('UNAUTHENTICATED', 'BAD_REQUEST') }) }), { maxLength: 2 }) }),
        fc.jsonValue(),
      ),
      fc.option(fc.oneof(fc.constantFrom('0', '1', '3600', 'soon', 'Wed, 21 Oct 2015 07:28:00 GMT'), echo), { nil: undefined }),
      fc.option(echo, { nil: undefined }),
    )
    .map(([status, body, retryAfter, authenticate]) =>
      answer('error JSON')(
        status,
        withType('application/json', {
          ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
          ...(authenticate === undefined ? {} : { 'www-authenticate': `Bearer error="invalid_token", token="${authenticate}"` }),
        }),
        () => JSON.stringify(body) ?? 'null',
      ),
    );
  return fc.oneof(garbageText, garbageBytes, html, huge, large, truncated, wrongType, missingFields, errorJson);
}

// ---------------------------------------------------------------------------------------------
// Secrets and what an error may carry
// ---------------------------------------------------------------------------------------------

const ALPHANUMERIC = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
/** A random credential: letters and digits only, so it cannot occur by chance in keyrotor's own text or in the fillers above. */
const credential = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...ALPHANUMERIC), minLength, maxLength });
const basic = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Everything an error carries, down its causes: `String(error)`, the message, the stack and the JSON of its own fields. */
function everythingIn(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 6; depth += 1) {
    parts.push(String(current));
    if (current instanceof Error) parts.push(current.message, current.stack ?? '');
    try {
      parts.push(JSON.stringify(current) ?? '', typeof current === 'object' ? JSON.stringify({ ...current }) : '');
    } catch {
      parts.push('(unserialisable)');
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\n');
}

/** What is wrong with how an operation failed: an untyped error, or secrets it carries. Empty when it failed well. */
function failureProblems(error: unknown, secrets: readonly string[]): string[] {
  const problems: string[] = [];
  if (!(error instanceof KeyrotorError)) problems.push(`untyped ${error instanceof Error ? error.name : typeof error}: ${String(error)}`);
  else if (Object.getPrototypeOf(error) === KeyrotorError.prototype) problems.push('a bare KeyrotorError, not a subclass');
  const all = everythingIn(error);
  for (const secret of secrets) if (all.includes(secret)) problems.push(`carries a secret (${secret.length} characters)`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Providers and their operations
// ---------------------------------------------------------------------------------------------

type HttpOptions = Omit<ProviderHttpClientOptions, 'provider'>;

/** One call of a provider, with the secrets it was called with (all must stay out of its errors). */
interface Operation {
  readonly name: string;
  readonly secrets: readonly string[];
  /** The secret value the Lambdas would have read (registered as they register it), if any. */
  readonly value?: ManagedSecretValue;
  /** Well-formed answers to the calls the operation makes, in order, so runs reach its later calls too. */
  readonly script: readonly (() => Answer)[];
  readonly run: (http: HttpOptions) => Promise<unknown>;
}

interface ProviderCase {
  readonly provider: string;
  readonly operations: fc.Arbitrary<Operation>;
  /** Success-shaped bodies with fields missing or of the wrong type. */
  readonly plausible: fc.Arbitrary<unknown>;
}

const ok = (body: unknown, status = 200): (() => Answer) => () => ({ kind: 'good', status, headers: withType('application/json'), body: () => JSON.stringify(body) });
/** A field's well-formed value or anything else. */
const maybe = (good: fc.Arbitrary<unknown>) => fc.oneof(good, fc.jsonValue(), fc.constant(null));
const loose = <T extends Record<string, fc.Arbitrary<unknown>>>(fields: T) => fc.record(fields, { requiredKeys: [] });

const TI_BASE = 'https://acme.thoughtindustries.com';
const thoughtIndustries: ProviderCase = {
  provider: 'thought-industries',
  operations: fc.tuple(fc.constantFrom('production', 'sandbox' as const), credential(24, 48)).map(([environment, random]): Operation => {
    const value: ThoughtIndustriesValue = { provider: 'thought-industries', environment, baseUrl: TI_BASE, apiKey: `${environment === 'production' ? 'ti_live_' : 'ti_test_'}${random}` };
    const users = ok({ pageInfo: { total: 1, limit: 1, cursor: null }, users: [{ id: 'u1' }] });
    return { name: 'verify', secrets: [value.apiKey], value, script: [users], run: (http) => new ThoughtIndustriesProvider(http).verify(value, { baseUrl: TI_BASE, environment }) };
  }),
  plausible: fc.oneof(loose({ pageInfo: maybe(fc.record({ total: fc.nat() })), users: maybe(fc.array(fc.record({ id: fc.string() }), { maxLength: 2 })) }), fc.jsonValue()),
};

const THINKIFIC_BASE = 'https://api.thinkific.com';
const thinkific: ProviderCase = {
  provider: 'thinkific',
  operations: credential(32, 64).map((apiKey): Operation => {
    const value: ThinkificValue = { provider: 'thinkific', environment: 'production', baseUrl: THINKIFIC_BASE, apiKey };
    const users = ok({ items: [{ id: 1 }], meta: { pagination: { total_items: 1 } } });
    return { name: 'verify', secrets: [apiKey], value, script: [users], run: (http) => new ThinkificProvider(http).verify(value, { baseUrl: THINKIFIC_BASE, environment: 'production' }) };
  }),
  plausible: fc.oneof(loose({ items: maybe(fc.array(fc.record({ id: fc.integer(), email: fc.string() }), { maxLength: 2 })), meta: fc.jsonValue() }), fc.jsonValue()),
};

const THRIVE_BASE = 'https://acme.api.learn.link';
const TENANT = 'eu-west-2_AbcdEfghI';
const thrive: ProviderCase = {
  provider: 'thrive',
  operations: fc
    .tuple(credential(32, 64), credential(40, 80), fc.boolean(), fc.constantFrom('verify', 'issueKeyWithAdminToken'))
    .map(([apiKey, admin, withBearer, name]): Operation => {
      const value: ThriveValue = { provider: 'thrive', environment: 'production', baseUrl: THRIVE_BASE, tenantId: TENANT, apiKey };
      const target = { baseUrl: THRIVE_BASE, environment: 'production' } as const;
      if (name === 'verify') {
        return { name, secrets: [apiKey, basic(`${TENANT}:${apiKey}`)], value, script: [ok({ users: [{ id: 'u1' }], total: 1 })], run: (http) => new ThriveProvider(http).verify(value, target) };
      }
      const adminToken = withBearer ? `Bearer ${admin}` : admin;
      return {
        name,
        secrets: [apiKey, admin],
        value,
        script: [ok({ data: { generateApiKey: { apiKey: 'thriveNEWkey0000000000000001', validUntil: '2027-11-23T10:00:00Z' } } })],
        run: (http) => new ThriveProvider(http).issueKeyWithAdminToken({ current: value, target, keyName: 'keyrotor-fuzz', adminToken, correlationId: 'corr-0001' }),
      };
    }),
  plausible: fc.oneof(
    loose({ data: maybe(loose({ generateApiKey: maybe(loose({ apiKey: maybe(credential(8, 40)), validUntil: maybe(fc.oneof(fc.nat(), fc.string())) })) })), errors: fc.jsonValue() }),
    loose({ users: maybe(fc.array(fc.jsonValue(), { maxLength: 2 })), total: fc.jsonValue() }),
  ),
};

const BOSS_BASE = 'https://acme.bossinsights.com';
const CURRENT_ID = 'key-current';
const OTHER_ID = 'key-old';
const bossInsights: ProviderCase = {
  provider: 'boss-insights',
  operations: fc
    .tuple(credential(24, 48), credential(24, 48), fc.constantFrom('verify', 'listKeys', 'issueKey', 'revokeKey'))
    .map(([apiKey, accountKey, name]): Operation => {
      const value: BossInsightsValue = { provider: 'boss-insights', environment: 'production', baseUrl: BOSS_BASE, apiKey, accountKey, providerKeyId: CURRENT_ID };
      const target = { baseUrl: BOSS_BASE, environment: 'production' } as const;
      const runs: Record<string, (p: BossInsightsProvider) => Promise<unknown>> = {
        verify: (p) => p.verify(value, target),
        listKeys: (p) => p.listKeys({ authenticateWith: value, target }),
        issueKey: (p) => p.issueKey({ current: value, target, keyName: 'keyrotor-fuzz' }),
        revokeKey: (p) => p.revokeKey({ authenticateWith: value, providerKeyId: OTHER_ID, target }),
      };
      const list = ok({
        data: [
          { id: CURRENT_ID, name: 'current', scopes: ['admin'], active: true },
          { id: OTHER_ID, name: 'old', scopes: ['read'], active: true },
        ],
      });
      const scripts: Record<string, (() => Answer)[]> = {
        verify: [list],
        listKeys: [list],
        issueKey: [list, ok({ id: 'key-new', key: 'bossNEWkey000000000000000001', active: true }, 201)],
        revokeKey: [list, ok({ id: OTHER_ID, active: false })],
      };
      return { name, secrets: [apiKey, accountKey, basic(`${apiKey}:`)], value, script: scripts[name]!, run: (http) => runs[name]!(new BossInsightsProvider(http)) };
    }),
  plausible: fc.oneof(
    loose({ data: maybe(fc.array(loose({ id: maybe(fc.constantFrom(CURRENT_ID, OTHER_ID)), name: maybe(fc.string()), scopes: maybe(fc.array(fc.string(), { maxLength: 2 })), active: maybe(fc.boolean()) }), { maxLength: 3 })) }),
    loose({ id: maybe(fc.string()), key: maybe(credential(8, 40)), active: maybe(fc.boolean()) }),
  ),
};

const IMBURSE_BASE = 'https://sandbox-api.imburse.net';
const OTHER_PUBLIC = '9f0e1d2c-3b4a-4596-8778-695a4b3c2d1e';
const imburse: ProviderCase = {
  provider: 'imburse',
  operations: fc
    .tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uuid(), fc.constantFrom('verify', 'mintAccessToken', 'listKeys', 'issueKey', 'revokeKey'))
    .map(([bytes, publicKey, name]): Operation => {
      const value: ImburseValue = { provider: 'imburse', environment: 'sandbox', baseUrl: IMBURSE_BASE, tenantId: 'tenant-0001', publicKey, privateKey: Buffer.from(bytes).toString('base64') };
      const target = { baseUrl: IMBURSE_BASE, environment: 'sandbox' } as const;
      let nonce = 0;
      const provider = (http: HttpOptions) => new ImburseProvider(http, { now: () => NOW, newNonce: () => `nonce-${(nonce += 1)}` });
      const runs: Record<string, (p: ImburseProvider) => Promise<unknown>> = {
        verify: (p) => p.verify(value, target),
        mintAccessToken: (p) => p.mintAccessToken(value, target),
        listKeys: (p) => p.listKeys({ authenticateWith: value, target }),
        issueKey: (p) => p.issueKey({ current: value, target, keyName: 'keyrotor-fuzz' }),
        revokeKey: (p) => p.revokeKey({ authenticateWith: value, providerKeyId: OTHER_PUBLIC, target }),
      };
      const exchange = ok({ accessToken: 'imburseACCESStoken0000000001', expires: NOW + 900_000 });
      const list = ok([
        { publicKey, name: 'current', roles: ['tenant-admin'] },
        { publicKey: OTHER_PUBLIC, name: 'old', roles: ['tenant-admin'] },
      ]);
      const scripts: Record<string, (() => Answer)[]> = {
        verify: [exchange],
        mintAccessToken: [exchange],
        listKeys: [exchange, list],
        issueKey: [exchange, list, ok({ publicKey: '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d', privateKey: Buffer.alloc(32, 7).toString('base64'), roles: ['tenant-admin'] }, 201)],
        revokeKey: [exchange, () => ({ kind: 'good', status: 204, headers: {}, body: () => '' })],
      };
      return { name, secrets: [value.privateKey], value, script: scripts[name]!, run: (http) => runs[name]!(provider(http)) };
    }),
  plausible: fc.oneof(
    loose({ accessToken: maybe(credential(16, 40)), expires: maybe(fc.integer()) }),
    fc.array(loose({ publicKey: maybe(fc.uuid()), name: maybe(fc.string()), roles: maybe(fc.array(fc.string(), { maxLength: 2 })) }), { maxLength: 3 }),
    loose({ publicKey: maybe(fc.uuid()), privateKey: maybe(fc.base64String({ minLength: 4, maxLength: 48 })), roles: fc.jsonValue() }),
  ),
};

const oauth: ProviderCase = {
  provider: 'oauth client credentials',
  operations: fc.tuple(credential(24, 64), fc.constantFrom('basic', 'body' as const)).map(([clientSecret, clientAuth]): Operation => ({
    name: `mint (${clientAuth})`,
    secrets: [clientSecret, ...(clientAuth === 'basic' ? [basic(`keyrotor-client:${clientSecret}`)] : [])],
    script: [ok({ access_token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJrIn0.c2ln', token_type: 'Bearer', expires_in: 3600 })],
    run: (http) =>
      new ClientCredentialsTokenSource('thrive', http, { now: () => NOW }).mint({
        tokenUrl: `https://acme.api.learn.link/oauth2/token/${TENANT}`,
        credentials: { clientId: 'keyrotor-client', clientSecret },
        scopes: ['api/read'],
        clientAuth,
      }),
  })),
  plausible: fc.oneof(
    loose({ access_token: maybe(credential(16, 40)), token_type: maybe(fc.constantFrom('Bearer', 'bearer', 'mac')), expires_in: maybe(fc.oneof(fc.integer(), fc.double(), fc.string())), scope: fc.jsonValue() }),
    loose({ error: maybe(fc.constantFrom('invalid_client', 'invalid_scope', 'temporarily_unavailable', 'nonsense')), error_description: fc.jsonValue() }),
  ),
};

const PROVIDER_CASES: readonly ProviderCase[] = [thoughtIndustries, thinkific, thrive, bossInsights, imburse, oauth];

/** Runs `operation` against `answers` (then a 503 for any further call) and returns what became of it. */
async function outcomeOf(operation: Operation, answers: readonly Answer[]): Promise<{ rejected: boolean; error?: unknown; calls: number }> {
  const queue = [...answers];
  let calls = 0;
  const fetchStub = (async () => {
    calls += 1;
    const next = queue.shift();
    return next === undefined ? new Response('{"message":"Service Unavailable"}', { status: 503, headers: { 'content-type': 'application/json' } }) : toResponse(next);
  }) as typeof fetch;
  try {
    await operation.run({ fetch: fetchStub, sleep: async () => undefined, maxAttempts: 2, random: () => 0, now: () => NOW });
    return { rejected: false, calls };
  } catch (error) {
    return { rejected: true, error, calls };
  }
}

describe('Property: every provider answers garbage from its platform with a typed error that holds no secret', () => {
  describe.each(PROVIDER_CASES.map((providerCase) => [providerCase.provider, providerCase] as const))('%s', (_name, providerCase) => {
    it('succeeds or rejects with a KeyrotorError subclass that holds none of the secrets, for any answers; a first answer that cannot be a reply always rejects', async () => {
      // The i-th answer is garbage or the well-formed answer to the operation's i-th call.
      const runs = providerCase.operations.chain((operation) => {
        const garbage = garbageAnswers(operation.secrets, providerCase.plausible);
        const at = (index: number): fc.Arbitrary<Answer> => {
          const good = operation.script[index];
          return good === undefined ? garbage : fc.oneof(garbage, fc.constant(good).map((make) => make()));
        };
        return fc.tuple(fc.constant(operation), fc.integer({ min: 1, max: 6 }).chain((length) => fc.tuple(...Array.from({ length }, (_, index) => at(index)))));
      });
      await fc.assert(
        fc.asyncProperty(runs, async ([operation, answers]) => {
          // Each run stands alone: what earlier runs registered must not hide this run's leaks.
          clearRegisteredSecrets();
          if (operation.value) registerSecret(...credentialStrings(operation.value));

          const outcome = await outcomeOf(operation, answers);

          const first = answers[0]!;
          expect({ operation: operation.name, first: first.kind, status: first.status, rejected: outcome.rejected || !mustRejectFirst(first) }).toEqual({
            operation: operation.name,
            first: first.kind,
            status: first.status,
            rejected: true,
          });
          if (outcome.rejected) expect({ operation: operation.name, problems: failureProblems(outcome.error, operation.secrets) }).toEqual({ operation: operation.name, problems: [] });
        }),
        { numRuns: 150 },
      );
    });
  });

  describe('the checks themselves', () => {
    const secret = 'abcDEF0123456789ghiJKL';

    it('flag an error that quotes the secret, in its message, its fields or its cause', () => {
      // Assess
      expect(failureProblems(new ProviderResponseError('x', `bad key ${secret}`), [secret])).toEqual(['carries a secret (22 characters)']);
      expect(failureProblems(Object.assign(new ProviderResponseError('x', 'bad key'), { platformMessage: secret }), [secret])).toEqual(['carries a secret (22 characters)']);
      expect(failureProblems(new ProviderResponseError('x', 'bad key', { cause: new Error(secret) }), [secret])).toEqual(['carries a secret (22 characters)']);
    });

    it('flag a TypeError, a plain Error and a bare KeyrotorError as untyped', () => {
      // Assess
      expect(failureProblems(new TypeError("Cannot read properties of undefined (reading 'x')"), [secret])).toEqual([expect.stringMatching(/^untyped TypeError/)]);
      expect(failureProblems(new Error('boom'), [secret])).toEqual([expect.stringMatching(/^untyped Error/)]);
      expect(failureProblems(new KeyrotorError('boom'), [secret])).toEqual(['a bare KeyrotorError, not a subclass']);
      expect(failureProblems(new ProviderResponseError('x', 'boom'), [secret])).toEqual([]);
    });

    it('know which first answers cannot be a reply', () => {
      // Prepare
      const answer = (status: number, body: string): Answer => ({ kind: 'test', status, headers: {}, body: () => body });

      // Assess
      expect(mustRejectFirst(answer(200, '<html></html>'))).toBe(true);
      expect(mustRejectFirst(answer(200, '{"message":'))).toBe(true);
      expect(mustRejectFirst(answer(404, '{}'))).toBe(true);
      expect(mustRejectFirst(answer(200, `{"pad":"${'.'.repeat(MAX_BODY_BYTES)}"}`))).toBe(true);
      expect(mustRejectFirst(answer(200, '{}'))).toBe(false);
      expect(mustRejectFirst(answer(503, '<html></html>'))).toBe(false);
      expect(mustRejectFirst(answer(429, 'slow down'))).toBe(false);
    });
  });
});
