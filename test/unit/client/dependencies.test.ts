import { build } from 'esbuild';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** The files and packages esbuild pulls in when it bundles `entry` for Node (the AWS SDK stays external, as on Lambda). */
async function bundledInputs(entry: string): Promise<{ files: string[]; external: string[] }> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  const inputs = Object.values(result.metafile.inputs);
  return {
    files: Object.keys(result.metafile.inputs).sort(),
    external: [...new Set(inputs.flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path)))].sort(),
  };
}

describe('Module: client (runtime dependencies)', () => {
  it('needs only the Secrets Manager client and node built-ins at runtime', async () => {
    const { files, external } = await bundledInputs('client/index.ts');

    expect(files.filter((file) => file.includes('node_modules'))).toEqual([]);
    expect(files.filter((file) => file.startsWith('lambdas/'))).toEqual(['lambdas/core/contracts.ts', 'lambdas/core/fingerprint.ts']);
    expect(external.filter((path) => !path.startsWith('node:'))).toEqual(['@aws-sdk/client-secrets-manager']);
  });

  it('keeps the middy middleware free of middy itself (types only)', async () => {
    const { files, external } = await bundledInputs('client/middy.ts');

    expect(files.some((file) => file.includes('@middy') || file.includes('zod') || file.includes('powertools'))).toBe(false);
    expect(external.filter((path) => !path.startsWith('node:'))).toEqual(['@aws-sdk/client-secrets-manager']);
  });
});
