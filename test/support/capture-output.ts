import { recordCapture } from './secret-scan';

/**
 * Captures everything written to stdout and stderr (Powertools Logger writes JSON lines there)
 * until jest's `restoreAllMocks`. Returns the live list of chunks; each is also recorded for the
 * suite-wide secret scan.
 */
export function captureProcessOutput(): string[] {
  const chunks: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      chunks.push(String(chunk));
      recordCapture('process-output', text);
      return true;
    }) as typeof stream.write);
  }
  return chunks;
}
