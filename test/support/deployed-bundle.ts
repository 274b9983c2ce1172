import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { KEYROTOR_BUNDLING, KEYROTOR_RUNTIME, TRIM_SOURCE_MAP_SCRIPT } from '../../lib/keyrotor-function';

/** The esbuild target of {@link KEYROTOR_RUNTIME}, e.g. `node24`. */
export function deployedTarget(): string {
  const match = KEYROTOR_RUNTIME.name.match(/nodejs(\d+)/);
  if (!match) throw new Error(`cannot read a Node version from ${KEYROTOR_RUNTIME.name}`);
  return `node${match[1]}`;
}

/** Changes to the deployed bundling, for comparisons (the benchmark's "SDK from the runtime" variant). */
export interface BundlingVariant {
  /** Packages left out of the bundle. @default KEYROTOR_BUNDLING.externalModules */
  readonly external?: readonly string[];
  /** esbuild's main fields. @default KEYROTOR_BUNDLING.mainFields; `null`: esbuild's own default, as NodejsFunction without mainFields */
  readonly mainFields?: readonly string[] | null;
  /** The folder the entry's packages are resolved from. @default this repository */
  readonly absWorkingDir?: string;
  /** Whether the source map is trimmed to keyrotor's code, as KEYROTOR_BUNDLING's afterBundling hook does. @default true */
  readonly trimSourceMap?: boolean;
}

/**
 * esbuild's options for what aws-cdk-lib's NodejsFunction does with {@link KEYROTOR_BUNDLING}
 * (aws-lambda-nodejs/lib/bundling.js, local esbuild): `esbuild --bundle <entry>
 * --target=node<runtime> --platform=node --outfile=<dir>/index.js --minify --sourcemap
 * --sources-content=false --main-fields=module,main --log-level=warning`, and an `--external:` per
 * external module. CDK passes no --format (esbuild's default for platform node: cjs), no
 * --tsconfig (esbuild finds tsconfig.json above the entry), no define, banner or keep-names. The
 * afterBundling hook (the source map trimmed) is {@link bundleAsDeployed}'s to run.
 */
export function deployedBuildOptions(entry: string, outfile: string, variant: BundlingVariant = {}): BuildOptions {
  const mainFields = variant.mainFields === undefined ? KEYROTOR_BUNDLING.mainFields : variant.mainFields;
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: deployedTarget(),
    outfile,
    minify: KEYROTOR_BUNDLING.minify,
    sourcemap: KEYROTOR_BUNDLING.sourceMap,
    sourcesContent: KEYROTOR_BUNDLING.sourcesContent,
    external: [...(variant.external ?? KEYROTOR_BUNDLING.externalModules)],
    ...(mainFields === null ? {} : { mainFields: [...mainFields] }),
    logLevel: 'warning',
    absWorkingDir: variant.absWorkingDir ?? path.resolve(__dirname, '..', '..'),
    // Analysis only: a metafile does not change the output.
    metafile: true,
  };
}

/** The bundle's own output in an esbuild metafile (the one with an entry point, not its map). */
export function entryOutput(metafile: Metafile): Metafile['outputs'][string] | undefined {
  return Object.values(metafile.outputs).find((output) => output.entryPoint !== undefined);
}

/**
 * Bundles `entry` into `outfile` as a keyrotor function is deployed (or as `variant` changes it),
 * then runs the afterBundling hook's command: the files equal cdk.out's assets for the same source.
 */
export async function bundleAsDeployed(entry: string, outfile: string, variant: BundlingVariant = {}): Promise<Metafile> {
  const { metafile, warnings } = await build(deployedBuildOptions(entry, outfile, variant));
  if (!metafile) throw new Error(`esbuild wrote no metafile for ${entry}`);
  if (warnings.length > 0) throw new Error(`esbuild warned while bundling ${entry}: ${warnings.map((w) => w.text).join('; ')}`);
  if (variant.trimSourceMap ?? true) execFileSync(process.execPath, [TRIM_SOURCE_MAP_SCRIPT, `${outfile}.map`]);
  return metafile;
}
