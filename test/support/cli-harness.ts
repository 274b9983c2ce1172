import { PassThrough } from 'node:stream';
import { main, type CliDeps } from '../../bin/cli/commands';
import { recordCapture } from './secret-scan';

/**
 * Runs the CLI in-process with `stdinText` on stdin; returns the exit status and what it printed (also recorded
 * for the suite-wide secret scan, even when the CLI throws).
 */
export async function runCli(argv: string[], stdinText: string, deps: CliDeps): Promise<{ status: number; out: string; err: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += String(c)));
  stderr.on('data', (c) => (err += String(c)));
  stdin.end(stdinText);
  try {
    const status = await main(argv, { stdin, stdout, stderr, env: {} }, deps);
    return { status, out, err };
  } finally {
    recordCapture('cli-output', out);
    recordCapture('cli-output', err);
  }
}
