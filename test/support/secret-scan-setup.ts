/**
 * Registered in jest.config.cjs (`setupFilesAfterEnv`): tells the secret scan which test is running, so a test's
 * opt-out covers its own captures only, and flushes what the test file recorded after it ran (see secret-scan.ts).
 */
import { relative, resolve } from 'node:path';
import { currentScanBuffer, SCAN_DIR_ENV } from './secret-scan';

const REPO_ROOT = resolve(__dirname, '..', '..');

beforeEach(() => currentScanBuffer().enterTest(expect.getState().currentTestName ?? '(unnamed test)'));
afterEach(() => currentScanBuffer().leaveTest());

afterAll(() => {
  // Without global-setup.ts (e.g. another jest config) there is no run to report to, and no teardown to scan.
  const dir = process.env[SCAN_DIR_ENV];
  if (dir === undefined || dir === '') return;
  const testPath = expect.getState().testPath ?? 'unknown test file';
  currentScanBuffer().flushTo(dir, relative(REPO_ROOT, testPath));
});
