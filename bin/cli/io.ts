import type { Readable, Writable } from 'node:stream';

/** What a CLI command reads and writes; the real process in production, buffers in tests. */
export interface CliIo {
  readonly stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

/** Exit statuses: documented in the README. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Raised for a malformed command line; printed with the command's usage. */
export class UsageError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const MAX_SECRET_INPUT = 64 * 1024;

/**
 * Reads a secret: from a hidden prompt when stdin is a terminal, else all of stdin.
 * Secrets are never taken from argv (visible in `ps` and shell history).
 */
export async function readSecretInput(io: CliIo, prompt: string): Promise<string> {
  const value = io.stdin.isTTY && io.stdin.setRawMode ? await promptHidden(io, prompt) : await readAll(io.stdin);
  if (value.trim().length === 0) throw new UsageError('no credential given: pipe it on stdin or type it at the prompt');
  return value;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_SECRET_INPUT) throw new UsageError(`stdin is larger than ${MAX_SECRET_INPUT} bytes; pipe only the credential`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function promptHidden(io: CliIo, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const { stdin, stderr } = io;
    let value = '';
    stderr.write(prompt);
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (error?: Error): void => {
      stdin.setRawMode?.(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') return done();
        if (char === '\u0003') return done(new UsageError('cancelled'));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}
