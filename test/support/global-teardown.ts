/**
 * jest `globalTeardown`: scans everything the run's test files captured for every secret they recorded
 * (secret-scan.ts), prints one summary line and fails the run on any find. Runs after failing runs too.
 */
import { rmSync } from 'node:fs';
import { describeFindings, readFlushed, scanCaptures, SCAN_DIR_ENV, summaryLine } from './secret-scan';

export default function globalTeardown(): void {
  const dir = process.env[SCAN_DIR_ENV];
  if (dir === undefined || dir === '') throw new Error(`secret scan: ${SCAN_DIR_ENV} is not set; is test/support/global-setup.ts the globalSetup?`);
  const report = scanCaptures(readFlushed(dir));
  process.stdout.write(`${summaryLine(report)}\n`);
  // On a find the files stay for inspection (next run's global setup removes them); they hold only test keys.
  if (report.findings.length > 0) throw new Error(describeFindings(report));
  rmSync(dir, { recursive: true, force: true });
}
