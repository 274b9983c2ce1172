import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { fingerprintOf } from '../../../lambdas/core/fingerprint';
import {
  base64Cores,
  capturedText,
  describeFindings,
  isScannableSecret,
  readFlushed,
  scanCaptures,
  SecretScanBuffer,
  summaryLine,
  type Capture,
  type FlushedCaptures,
  type SecretScanReport,
} from '../../support/secret-scan';

// The planted leaks below live in buffers and reports of these tests' own: nothing here reaches the run's scan.
const SECRET = 'ti_live_PLANTEDplanted0000000042';
const OTHER = 'imburse-private-Zm9vYmFyYmF6cXV4MTIz';
const TEST = 'Suite › a test';

function file(captures: Capture[], secrets: string[] = [SECRET], testFile = 'test/unit/x.test.ts'): FlushedCaptures {
  return { testFile, secrets, captures, allowances: [] };
}

/** A report must never show a secret, in any form the scan looks for. */
function expectNoSecretIn(report: SecretScanReport, ...secrets: string[]): void {
  const printed = [summaryLine(report), describeFindings(report), JSON.stringify(report)].join('\n');
  for (const secret of secrets) {
    expect(printed).not.toContain(secret);
    expect(printed).not.toContain(encodeURIComponent(secret));
    expect(printed).not.toContain(Buffer.from(secret).toString('base64'));
    for (const core of base64Cores(secret)) expect(printed).not.toContain(core);
  }
}

describe('Module: secret-scan', () => {
  describe('Function: scanCaptures', () => {
    it('finds a secret in a capture, names where, and shows its fingerprint and the redacted context', () => {
      // Prepare
      const text = `{"level":"INFO","message":"promoted key ${SECRET} for acme-prod"}`;

      // Act
      const report = scanCaptures([file([{ source: 'process-output', test: TEST, text }])]);

      // Assess
      expect(report.findings).toEqual([
        {
          testFile: 'test/unit/x.test.ts',
          test: TEST,
          source: 'process-output',
          fingerprint: fingerprintOf(SECRET),
          forms: ['plain'],
          occurrences: 1,
          excerpt: `{\\"level\\":\\"INFO\\",\\"message\\":\\"promoted key [secret ${fingerprintOf(SECRET)}] for acme-prod\\"}`,
        },
      ]);
      expectNoSecretIn(report, SECRET);
    });

    it('finds the base64 form of a secret', () => {
      const report = scanCaptures([file([{ source: 'alert', text: `body: ${Buffer.from(SECRET).toString('base64')}` }])]);

      expect(report.findings).toHaveLength(1);
      expect(report.findings[0].forms).toEqual(['base64']);
      expectNoSecretIn(report, SECRET);
    });

    it.each([
      ['Basic user:secret', (secret: string) => `Authorization: Basic ${Buffer.from(`tenant:${secret}`).toString('base64')}`],
      ['base64url, two bytes in', (secret: string) => Buffer.from(`ab${secret}xyz`).toString('base64url')],
      ['URL-encoded', (secret: string) => `GET /x?key=${encodeURIComponent(`${secret}/+=`)}`],
      ['JSON inside JSON', (secret: string) => JSON.stringify({ detail: JSON.stringify({ apiKey: secret }) })],
    ])('finds a secret embedded as %s', (_name, render) => {
      const secret = 'Zm9v+YmFy/YmF6=cXV4"MTIz';
      const report = scanCaptures([file([{ source: 'event', text: render(secret) }], [secret])]);

      expect(report.findings).toHaveLength(1);
      expectNoSecretIn(report, secret);
    });

    it('finds a secret recorded by another test file (fixtures are recorded once, used everywhere)', () => {
      const report = scanCaptures([
        file([], [SECRET], 'test/a.test.ts'),
        file([{ source: 'cli-output', text: `stored ${SECRET}` }], [], 'test/b.test.ts'),
      ]);

      expect(report.findings.map((finding) => finding.testFile)).toEqual(['test/b.test.ts']);
    });

    it('does not report captures that hold no recorded secret: a fingerprint, a key id, a prefix, another key', () => {
      const text = [
        `fingerprint ${fingerprintOf(SECRET)}`,
        'publicKey 5f0c2b8e-0000-4000-8000-000000000001',
        `prefix ${SECRET.slice(0, 20)} and ${SECRET.slice(-11)}`,
        `base64 of a prefix ${Buffer.from(SECRET.slice(0, 10)).toString('base64')}`,
        'ti_live_[REDACTED] and ti_live_ANOTHERanother000000099',
      ].join('\n');

      const report = scanCaptures([file([{ source: 'logger-port', text }])]);

      expect(report.findings).toEqual([]);
    });

    it('ignores recorded values shorter than 12 characters or of fewer than 5 different ones', () => {
      const text = 'the word shortsecret in learner 00000000-0000-4000-8000-000000000001';

      const report = scanCaptures([file([{ source: 'event', text }], ['shortsecret', '000000000001'])]);

      expect(report.secrets).toBe(0);
      expect(report.findings).toEqual([]);
    });

    it('lets an allowed secret through in the allowing test only, and still finds every other secret there', () => {
      // Prepare
      const buffer = new SecretScanBuffer();
      buffer.recordSecret(SECRET, OTHER);
      buffer.enterTest(TEST);
      buffer.allowInThisTest('feeds a raw key to the sink to prove the sink redacts it', SECRET);
      buffer.recordCapture('alert', `raw ${SECRET}`);
      buffer.recordCapture('alert', `and ${OTHER}`);
      buffer.leaveTest();
      buffer.enterTest('Suite › another test');
      buffer.recordCapture('alert', `again ${SECRET}`);
      buffer.leaveTest();

      // Act
      const report = scanCaptures([buffer.take('test/unit/x.test.ts')]);

      // Assess
      expect(report.findings.map((finding) => [finding.test, finding.fingerprint])).toEqual([
        [TEST, fingerprintOf(OTHER)],
        ['Suite › another test', fingerprintOf(SECRET)],
      ]);
      expect(report.allowedChunks).toBe(1);
    });

    it('counts occurrences per secret, test and source, and replaces every secret in an excerpt', () => {
      const text = `${OTHER} then ${SECRET} then ${SECRET}`;

      const report = scanCaptures([file([{ source: 'ledger', test: TEST, text }], [SECRET, OTHER])]);

      expect(report.findings.map((finding) => [finding.fingerprint, finding.occurrences])).toEqual([
        [fingerprintOf(OTHER), 1],
        [fingerprintOf(SECRET), 2],
      ]);
      expect(report.findings[1].excerpt).toBe(`…[secret ${fingerprintOf(OTHER)}] then [secret ${fingerprintOf(SECRET)}] then [secret ${fingerprintOf(SECRET)}]`);
      expectNoSecretIn(report, SECRET, OTHER);
    });

    it('counts chunks, bytes, files and distinct secrets for the summary line', () => {
      const report = scanCaptures([
        file([{ source: 'event', text: 'ab' }, { source: 'alert', text: 'é' }], [SECRET]),
        file([{ source: 'cli-output', text: 'c' }], [SECRET, OTHER], 'test/b.test.ts'),
      ]);

      expect(summaryLine(report)).toBe('secret scan: 3 captured chunks (5 bytes) from 2 test files, 2 secrets, 0 found');
    });

    it('never prints a secret it finds, whatever the secret and wherever it sits', () => {
      fc.assert(
        fc.property(
          fc.string({ minLength: 12, maxLength: 60, unit: 'grapheme' }),
          fc.string({ maxLength: 60 }),
          fc.string({ maxLength: 60 }),
          fc.constantFrom<(s: string) => string>(
            (s) => s,
            (s) => Buffer.from(s).toString('base64'),
            (s) => encodeURIComponent(s),
            (s) => JSON.stringify({ s }),
          ),
          (secret, before, after, render) => {
            fc.pre(isScannableSecret(secret) && !before.includes(secret) && !after.includes(secret));
            const report = scanCaptures([file([{ source: 'exception', text: `${before}${render(secret)}${after}` }], [secret])]);

            expect(report.findings.length).toBeGreaterThanOrEqual(1);
            expect(report.findings.map((finding) => finding.fingerprint)).toContain(fingerprintOf(secret));
            const printed = describeFindings(report);
            expect(printed).not.toContain(secret);
            expect(printed).not.toContain(JSON.stringify(secret).slice(1, -1));
          },
        ),
      );
    });
  });

  describe('Function: describeFindings', () => {
    it('names the test file, the test, the source, the fingerprint and the redacted excerpt, and how to opt out', () => {
      const report = scanCaptures([file([{ source: 'sns-delivery', test: TEST, text: `leak ${SECRET}` }])]);

      const text = describeFindings(report);

      expect(text).toContain(`test/unit/x.test.ts › ${TEST}: sns-delivery holds secret ${fingerprintOf(SECRET)} (plain; 1×): "leak [secret ${fingerprintOf(SECRET)}]"`);
      expect(text).toContain('secretScan.allowInThisTest');
      expectNoSecretIn(report, SECRET);
    });
  });

  describe('Class: SecretScanBuffer', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'secret-scan-test-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('records strings of 12 characters or more and 5 different ones only, each once', () => {
      const buffer = new SecretScanBuffer();

      buffer.recordSecret('elevenchars', 'twelve-chars', '000000000001', 'A'.repeat(44), undefined, 42, SECRET, SECRET);

      expect(buffer.take('f').secrets).toEqual(['twelve-chars', SECRET]);
    });

    it('tags each capture with the running test, and none outside a test', () => {
      const buffer = new SecretScanBuffer();
      buffer.recordCapture('event', 'in beforeAll');
      buffer.enterTest(TEST);
      buffer.recordCapture('event', 'in the test');
      buffer.leaveTest();

      expect(buffer.take('f').captures).toEqual([
        { source: 'event', text: 'in beforeAll' },
        { source: 'event', test: TEST, text: 'in the test' },
      ]);
    });

    it('refuses an opt-out outside a test, without a reason or without naming the secrets', () => {
      const buffer = new SecretScanBuffer();

      expect(() => buffer.allowInThisTest('why', SECRET)).toThrow('inside a test');
      buffer.enterTest(TEST);
      expect(() => buffer.allowInThisTest(' ', SECRET)).toThrow('needs a reason');
      expect(() => buffer.allowInThisTest('why')).toThrow('needs the secrets');
    });

    it('flushes to a file of its own and writes anything recorded afterwards at once (a root afterAll)', () => {
      // Prepare
      const buffer = new SecretScanBuffer();
      buffer.recordSecret(SECRET);
      buffer.recordCapture('cli-output', 'first');

      // Act
      buffer.flushTo(dir, 'test/x.test.ts');
      buffer.recordCapture('process-output', `late ${SECRET}`);

      // Assess
      expect(readdirSync(dir).sort()).toEqual([`${process.pid}-1.json`, `${process.pid}-2.json`]);
      const report = scanCaptures(readFlushed(dir));
      expect(report.chunks).toBe(2);
      expect(report.findings.map((finding) => [finding.testFile, finding.source])).toEqual([['test/x.test.ts', 'process-output']]);
    });

    it('reads nothing from a directory that does not exist', () => {
      expect(readFlushed(join(dir, 'missing'))).toEqual([]);
    });
  });

  describe('Function: capturedText', () => {
    it('writes out errors with their message, own fields and cause, as a logger would', () => {
      const error = Object.assign(new Error('outer', { cause: new Error(`inner ${SECRET}`) }), { secretId: 'keyrotor/acme' });

      const text = capturedText({ attributes: { error } });

      expect(text).toContain('"message":"outer"');
      expect(text).toContain('"secretId":"keyrotor/acme"');
      expect(text).toContain(`inner ${SECRET}`);
    });

    it('never throws on a circular value', () => {
      const value: Record<string, unknown> = { name: 'loop' };
      value.self = value;

      expect(capturedText(value)).toContain('loop');
    });
  });
});
