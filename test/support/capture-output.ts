/**
 * Captures everything written to stdout and stderr (Powertools Logger writes JSON lines there)
 * until jest's `restoreAllMocks`. Returns the live list of chunks.
 */
export function captureProcessOutput(): string[] {
  const chunks: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    }) as typeof stream.write);
  }
  return chunks;
}
