/**
 * The suite-wide secret scan (issue 7): no secret in environment variables, logs, alerts, events or exception
 * messages, whichever test produced them.
 *
 * - Helpers that capture what a person or a system would see (process output, events, alerts, SNS deliveries, CLI
 *   output, ledger records, Lambda environments, exception messages) call {@link recordCapture}.
 * - Helpers that make key material (fixtures, sandboxes, fakes) call {@link recordSecret}.
 * - After each test file, `secret-scan-setup.ts` writes both to `<run dir>/<pid>-<n>.json`; after the run,
 *   `global-teardown.ts` scans every capture of every file for every secret recorded anywhere in the run
 *   ({@link scanCaptures}) and fails the run on a find, printing only fingerprints and redacted excerpts.
 *
 * A test that puts a secret into a capture on purpose (a redaction test feeding a raw key to a fake sink) says so
 * with {@link allowInThisTest}, naming the secrets and why; nothing else is exempt.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { fingerprintOf } from '../../lambdas/core/fingerprint';

/** Shorter values collide with ordinary text too easily to be worth recording as secrets. */
export const MIN_SECRET_LENGTH = 12;
/**
 * Nor are values of fewer distinct characters: filler a generator shrinks to or a test stands in with
 * (`'0'.repeat(12)`, `'AAAAAAAAAAAAAAAA'`) would match zero-padded ids and base64 of zeros, never a real key.
 */
export const MIN_DISTINCT_CHARACTERS = 5;

/** Whether a recorded value is worth scanning for: long and varied enough to be a key, not ordinary text. */
export function isScannableSecret(value: unknown): value is string {
  return typeof value === 'string' && value.length >= MIN_SECRET_LENGTH && new Set(value).size >= MIN_DISTINCT_CHARACTERS;
}
/** Characters of context shown on each side of a find. */
export const EXCERPT_RADIUS = 40;
/** Set by `global-setup.ts` for the workers: the directory of this run's flushed captures. */
export const SCAN_DIR_ENV = 'KEYROTOR_SECRET_SCAN_DIR';
/** Finds described in full when the run fails; the rest are counted. */
const MAX_FINDINGS_SHOWN = 50;

/** Where a captured chunk came from: what a person or a system would have seen. */
export type CaptureSource =
  | 'process-output'
  | 'logger-port'
  | 'event'
  | 'alert'
  | 'sns-delivery'
  | 'cli-output'
  | 'ledger'
  | 'lambda-environment'
  | 'exception';

/** One captured chunk, with the test that was running when it was captured (none in `beforeAll`/`afterAll`). */
export interface Capture {
  readonly source: CaptureSource;
  readonly test?: string;
  readonly text: string;
}

/** A test's explicit permission for some secrets to appear in its own captures. */
export interface Allowance {
  readonly test: string;
  readonly reason: string;
  /** SHA-256 (hex) of each allowed secret: the flushed file need not repeat them. */
  readonly secretHashes: readonly string[];
}

/** What one test file recorded, as flushed to disk. */
export interface FlushedCaptures {
  /** The test file, relative to the repository root. */
  readonly testFile: string;
  readonly secrets: readonly string[];
  readonly captures: readonly Capture[];
  readonly allowances: readonly Allowance[];
}

const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * What one test file records: secrets, captures and allowances. The setup module keeps one per test file
 * ({@link currentScanBuffer}); the scanner's own tests make their own so their planted leaks stay out of the run.
 */
export class SecretScanBuffer {
  readonly #secrets = new Set<string>();
  #captures: Capture[] = [];
  #allowances: Allowance[] = [];
  #currentTest: string | undefined;
  /** Once the file's buffer was flushed, anything recorded later (a root `afterAll`) is written at once here. */
  #late: { dir: string; testFile: string } | undefined;

  /** Records key material; anything but a {@link isScannableSecret} string (e.g. `undefined`, a short value) is ignored. */
  public recordSecret(...values: unknown[]): void {
    for (const value of values) if (isScannableSecret(value)) this.#secrets.add(value);
    this.#writeLate();
  }

  /** Records text a person or a system would see. */
  public recordCapture(source: CaptureSource, text: string): void {
    if (text.length === 0) return;
    this.#captures.push(this.#currentTest === undefined ? { source, text } : { source, test: this.#currentTest, text });
    this.#writeLate();
  }

  /** Marks the start of a test (the setup module calls it in `beforeEach`). */
  public enterTest(name: string): void {
    this.#currentTest = name;
  }

  /** Marks the end of a test (the setup module calls it in `afterEach`). */
  public leaveTest(): void {
    this.#currentTest = undefined;
  }

  /**
   * Lets `secrets` appear in the captures of the running test only, and only them; every other secret in those
   * captures is still a find. For tests that put a secret into captured text on purpose.
   * @param reason - why the test does it, e.g. `'feeds a raw key to the notifier to prove it is redacted'`.
   * @throws Error outside a test, without a reason or without a secret.
   */
  public allowInThisTest(reason: string, ...secrets: string[]): void {
    if (this.#currentTest === undefined) throw new Error('secretScan.allowInThisTest must be called inside a test (it, test)');
    if (reason.trim().length === 0) throw new Error('secretScan.allowInThisTest needs a reason');
    if (secrets.length === 0) throw new Error('secretScan.allowInThisTest needs the secrets the test puts into captured text on purpose');
    this.#allowances.push({ test: this.#currentTest, reason, secretHashes: secrets.map(sha256) });
  }

  /** Returns everything recorded so far under `testFile` and empties the buffer (secrets included). */
  public take(testFile: string): FlushedCaptures {
    const flushed: FlushedCaptures = { testFile, secrets: [...this.#secrets], captures: this.#captures, allowances: this.#allowances };
    this.#secrets.clear();
    this.#captures = [];
    this.#allowances = [];
    return flushed;
  }

  /**
   * Writes what was recorded to a new file in `dir` and from then on writes anything recorded later straight
   * away, so a root-level `afterAll` that runs after the flush is still scanned.
   */
  public flushTo(dir: string, testFile: string): string {
    this.#late = { dir, testFile };
    return writeFlushed(dir, this.take(testFile));
  }

  #writeLate(): void {
    if (this.#late === undefined || (this.#secrets.size === 0 && this.#captures.length === 0)) return;
    writeFlushed(this.#late.dir, this.take(this.#late.testFile));
  }
}

const BUFFER_KEY = Symbol.for('keyrotor.secret-scan.buffer');

/**
 * The buffer of the running test file. Kept on the test file's global object rather than in this module, so a
 * test that resets the module registry (`jest.resetModules`, `jest.isolateModules`) still records into it.
 */
export function currentScanBuffer(): SecretScanBuffer {
  const holder = globalThis as { [BUFFER_KEY]?: SecretScanBuffer };
  return (holder[BUFFER_KEY] ??= new SecretScanBuffer());
}

/** Records key material for the suite-wide scan; see {@link SecretScanBuffer.recordSecret}. */
export function recordSecret(...values: unknown[]): void {
  currentScanBuffer().recordSecret(...values);
}

/** Records captured text for the suite-wide scan; see {@link SecretScanBuffer.recordCapture}. */
export function recordCapture(source: CaptureSource, text: string): void {
  currentScanBuffer().recordCapture(source, text);
}

/** See {@link SecretScanBuffer.allowInThisTest}. */
export function allowInThisTest(reason: string, ...secrets: string[]): void {
  currentScanBuffer().allowInThisTest(reason, ...secrets);
}

/**
 * `value` as a capture: a string as it is, anything else as JSON with errors written out (name, message, own
 * fields, cause) the way a logger prints them. Never throws (a circular value falls back to `util.inspect`).
 */
export function capturedText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return (
      JSON.stringify(value, (_key, field: unknown) =>
        field instanceof Error
          ? { name: field.name, message: field.message, ...(Object.fromEntries(Object.entries(field)) as Record<string, unknown>), ...(field.cause === undefined ? {} : { cause: field.cause }) }
          : field,
      ) ?? String(value)
    );
  } catch {
    return inspect(value, { depth: 8 });
  }
}

/** The scan's API for tests and helpers. */
export const secretScan = { recordSecret, recordCapture, allowInThisTest } as const;

/** Writes `flushed` to a new `<pid>-<n>.json` in `dir` (created if missing); returns its path. */
export function writeFlushed(dir: string, flushed: FlushedCaptures): string {
  mkdirSync(dir, { recursive: true });
  const payload = JSON.stringify(flushed);
  for (let n = 1; ; n += 1) {
    const path = join(dir, `${process.pid}-${n}.json`);
    let fd: number;
    try {
      fd = openSync(path, 'wx'); // exclusive: each flush gets a file of its own
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    try {
      writeSync(fd, payload);
    } finally {
      closeSync(fd);
    }
    return path;
  }
}

/** Reads every flushed file in `dir` (none when it does not exist). */
export function readFlushed(dir: string): FlushedCaptures[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as FlushedCaptures);
}

/** How a secret appeared in a capture. */
export type SecretForm = 'plain' | 'base64' | 'url-encoded' | 'json-escaped';

interface Needle {
  readonly text: string;
  readonly secret: number;
  readonly form: SecretForm;
}

/**
 * The stretches of `secret`'s base64 (and base64url) encoding that are the same wherever the secret starts in the
 * encoded bytes: one per byte alignment, without the characters its neighbours share. Finds the secret inside a
 * longer encoded value too, e.g. `Basic base64(user:secret)`.
 */
export function base64Cores(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const cores = new Set<string>();
  for (const offset of [0, 1, 2]) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const fullGroups = Math.floor(padded.length / 3);
    const from = offset === 0 ? 0 : 4;
    for (const encoding of ['base64', 'base64url'] as const) {
      const core = padded.toString(encoding).slice(from, fullGroups * 4);
      if (core.length >= MIN_SECRET_LENGTH) cores.add(core);
    }
  }
  // A secret that fits whole groups also appears with its padding; the first core is a prefix of it.
  return [...cores];
}

function needlesOf(secret: string, index: number): Needle[] {
  const needles: Needle[] = [{ text: secret, secret: index, form: 'plain' }];
  for (const text of base64Cores(secret)) needles.push({ text, secret: index, form: 'base64' });
  for (const text of new Set([encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)])) {
    if (text !== secret) needles.push({ text, secret: index, form: 'url-encoded' });
  }
  // Once for a JSON capture, twice for JSON inside a JSON string (an SNS envelope's Message, a logged body).
  const escaped = JSON.stringify(secret).slice(1, -1);
  const escapedTwice = JSON.stringify(escaped).slice(1, -1);
  for (const text of new Set([escaped, escapedTwice])) if (text !== secret) needles.push({ text, secret: index, form: 'json-escaped' });
  return needles;
}

/** Characters that may carry part of an encoded secret next to a base64 core. */
const BASE64_CHAR = /[A-Za-z0-9+/=_-]/;

interface Hit {
  start: number;
  end: number;
  secret: number;
  form: SecretForm;
}

/** Every occurrence of every needle in `text`, as intervals (base64 ones widened over their partial neighbours). */
function hitsIn(text: string, byPrefix: Map<string, Needle[]>, prefixLength: number): Hit[] {
  const hits: Hit[] = [];
  for (let i = 0; i + prefixLength <= text.length; i += 1) {
    const candidates = byPrefix.get(text.slice(i, i + prefixLength));
    if (!candidates) continue;
    for (const needle of candidates) {
      if (!text.startsWith(needle.text, i)) continue;
      let start = i;
      let end = i + needle.text.length;
      if (needle.form === 'base64') {
        for (let k = 0; k < 3 && start > 0 && BASE64_CHAR.test(text[start - 1]); k += 1) start -= 1;
        for (let k = 0; k < 3 && end < text.length && BASE64_CHAR.test(text[end]); k += 1) end += 1;
      }
      hits.push({ start, end, secret: needle.secret, form: needle.form });
    }
  }
  return hits;
}

/** One secret found in the captures of one test (or of a test file's hooks), from one source. */
export interface Finding {
  readonly testFile: string;
  readonly test?: string;
  readonly source: CaptureSource;
  /** {@link fingerprintOf} the secret: safe to print. */
  readonly fingerprint: string;
  readonly forms: readonly SecretForm[];
  readonly occurrences: number;
  /** Up to {@link EXCERPT_RADIUS} characters each side of the first occurrence, every secret in it replaced. */
  readonly excerpt: string;
}

/** What {@link scanCaptures} found. */
export interface SecretScanReport {
  readonly files: number;
  readonly chunks: number;
  readonly bytes: number;
  readonly secrets: number;
  /** One per secret, test file, test and capture source. */
  readonly findings: readonly Finding[];
  /** Chunks in which a test's allowance hid a secret. */
  readonly allowedChunks: number;
}

/** The excerpt around `hit`: every hit overlapping the window replaced by its secret's fingerprint, one line. */
function excerptAround(text: string, hit: Hit, hits: readonly Hit[], fingerprints: readonly string[]): string {
  const from = Math.max(0, hit.start - EXCERPT_RADIUS);
  const to = Math.min(text.length, hit.end + EXCERPT_RADIUS);
  const inWindow = hits.filter((h) => h.end > from && h.start < to).sort((a, b) => a.start - b.start || b.end - a.end);
  let out = from > 0 ? '…' : '';
  let at = from;
  for (const h of inWindow) {
    if (h.end <= at) continue; // inside a stretch already replaced
    out += text.slice(at, Math.max(at, h.start));
    out += `[secret ${fingerprints[h.secret]}]`;
    at = Math.min(to, h.end);
    if (at >= to) break;
  }
  out += text.slice(at, to) + (to < text.length ? '…' : '');
  return JSON.stringify(out).slice(1, -1);
}

/**
 * Scans every capture of every file for every secret recorded in any file (plain, base64 at any byte alignment,
 * URL-encoded, JSON-escaped). A secret a test allowed is not a find in that test's captures.
 */
export function scanCaptures(files: readonly FlushedCaptures[]): SecretScanReport {
  const secrets = [...new Set(files.flatMap((file) => file.secrets))].filter(isScannableSecret);
  const hashes = secrets.map(sha256);
  const fingerprints = secrets.map(fingerprintOf);
  const needles = secrets.flatMap(needlesOf);
  const prefixLength = Math.min(...needles.map((needle) => needle.text.length));
  const byPrefix = new Map<string, Needle[]>();
  for (const needle of needles) {
    const prefix = needle.text.slice(0, prefixLength);
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), needle]);
  }

  let chunks = 0;
  let bytes = 0;
  let allowedChunks = 0;
  const findings = new Map<string, Finding>();
  for (const file of files) {
    for (const capture of file.captures) {
      chunks += 1;
      bytes += Buffer.byteLength(capture.text, 'utf8');
      if (needles.length === 0) continue;
      const hits = hitsIn(capture.text, byPrefix, prefixLength);
      if (hits.length === 0) continue;
      const allowed = new Set(
        file.allowances.filter((allowance) => allowance.test === capture.test).flatMap((allowance) => allowance.secretHashes),
      );
      let hidden = false;
      for (const hit of hits) {
        if (allowed.has(hashes[hit.secret])) {
          hidden = true;
          continue;
        }
        const key = JSON.stringify([file.testFile, capture.test ?? null, capture.source, hit.secret]);
        const previous = findings.get(key);
        findings.set(
          key,
          previous
            ? { ...previous, occurrences: previous.occurrences + 1, forms: previous.forms.includes(hit.form) ? previous.forms : [...previous.forms, hit.form] }
            : {
                testFile: file.testFile,
                ...(capture.test === undefined ? {} : { test: capture.test }),
                source: capture.source,
                fingerprint: fingerprints[hit.secret],
                forms: [hit.form],
                occurrences: 1,
                excerpt: excerptAround(capture.text, hit, hits, fingerprints),
              },
        );
      }
      if (hidden) allowedChunks += 1;
    }
  }
  return { files: files.length, chunks, bytes, secrets: secrets.length, findings: [...findings.values()], allowedChunks };
}

/** The one line the run prints. */
export function summaryLine(report: SecretScanReport): string {
  return `secret scan: ${report.chunks} captured chunks (${report.bytes} bytes) from ${report.files} test files, ${report.secrets} secrets, ${report.findings.length} found`;
}

/** Why the run fails: each find with its test file, test, source, fingerprint and redacted excerpt. Never a secret. */
export function describeFindings(report: SecretScanReport): string {
  const lines = report.findings.slice(0, MAX_FINDINGS_SHOWN).map(
    (finding) =>
      `  - ${finding.testFile}${finding.test ? ` › ${finding.test}` : ' (outside a test)'}: ${finding.source} holds secret ${finding.fingerprint}` +
      ` (${finding.forms.join(', ')}; ${finding.occurrences}×): "${finding.excerpt}"`,
  );
  if (report.findings.length > MAX_FINDINGS_SHOWN) lines.push(`  … and ${report.findings.length - MAX_FINDINGS_SHOWN} more`);
  return [
    `secret scan: ${report.findings.length} secret(s) found in captured output:`,
    ...lines,
    'Fix the code that let the secret out. A test that puts a secret into captured text on purpose opts out with',
    "secretScan.allowInThisTest('<why>', secret) (test/support/secret-scan.ts).",
  ].join('\n');
}
