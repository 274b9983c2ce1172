/**
 * Cold start of every Lambda handler: bundle size and `require` time, next to a naive handler
 * (bench/fixtures/naive-handler.ts: all the project's Powertools utilities, zod's named `z`
 * import, middy, the AWS SDK bundled) measured in the same run. Each handler is bundled with
 * esbuild exactly as lib/keyrotor-function.ts has NodejsFunction bundle it; the naive one the same
 * way except that the SDK is bundled. `require` is timed in a fresh `node` per sample (the SDK,
 * external, resolved from node_modules as the runtime's is), interleaved across bundles, and
 * reported as the median and as a ratio to the naive handler's median. esbuild's metafile names the
 * ten biggest contributors of each bundle. Prints figures; asserts nothing.
 *
 * Run: npx tsx bench/cold-start.ts [--samples N] [--candidate DIR]
 *   --candidate DIR  also bundles and times DIR/lambdas/handlers/*.ts (a copy of the repo with a
 *                    proposed change), in the same run
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build, version as esbuildVersion, type BuildOptions, type Metafile } from 'esbuild';
import { KEYROTOR_RUNTIME } from '../lib/keyrotor-function';

const ROOT = path.resolve(__dirname, '..');
const HANDLERS = ['rotate', 'revoke', 'refresh-tokens', 'notify', 'compromise', 'sweep'] as const;
const NAIVE_ENTRY = path.join(ROOT, 'bench/fixtures/naive-handler.ts');
const TARGET_BYTES = 150 * 1024;
const TARGET_RATIO = 0.5;
const KB = 1024;

/**
 * `bundling` of lib/keyrotor-function.ts, and what aws-cdk-lib's NodejsFunction makes of it
 * (aws-lambda-nodejs/lib/bundling.js, local esbuild): `esbuild --bundle <entry>
 * --target=node<runtime> --platform=node --outfile=<dir>/index.js --minify --sourcemap
 * --sources-content=false --external:@aws-sdk/* --log-level=warning`. CDK passes no --format
 * (esbuild's default for platform node: cjs), no --main-fields (esbuild's default: main,module),
 * no --tsconfig (esbuild finds tsconfig.json above the entry), no define, banner or keep-names.
 */
const KEYROTOR_BUNDLING = { minify: true, sourcemap: true, sourcesContent: false, external: ['@aws-sdk/*'] } as const;
const SOURCE_OF_TRUTH = ["minify: true", 'sourceMap: true', 'sourcesContent: false', "externalModules: ['@aws-sdk/*']"];

/** The Lambda environment a require needs (names only); NODE_OPTIONS as KeyrotorFunction sets it. */
const CHILD_ENV = {
  PATH: process.env.PATH ?? '',
  NODE_PATH: path.join(ROOT, 'node_modules'),
  NODE_OPTIONS: '--enable-source-maps',
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_SERVICE_NAME: 'keyrotor-bench',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  POWERTOOLS_METRICS_NAMESPACE: 'keyrotor-bench',
};

/**
 * Runs in the child: requires each argument in turn, timed with process.hrtime around it (wall),
 * and process.cpuUsage (this process's CPU: steadier than wall time on a busy machine).
 */
const CHILD_SCRIPT =
  'const c0 = process.cpuUsage(); const t0 = process.hrtime.bigint(); for (const m of process.argv.slice(1)) require(m); ' +
  'const t1 = process.hrtime.bigint(); const c = process.cpuUsage(c0); process.stdout.write(`${Number(t1 - t0) / 1e6} ${(c.user + c.system) / 1e3}`);';

interface Timing {
  readonly wallMs: number[];
  readonly cpuMs: number[];
}

interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly mapBytes: number;
  readonly metafile: Metafile;
  /** The AWS SDK packages the bundle loads: its external imports, or (SDK bundled) the client packages it bundles. */
  readonly sdkModules: readonly string[];
  readonly bundle: Timing;
  /** The same SDK packages required alone from node_modules: the SDK's share of the bundle's require. */
  readonly sdkAlone: Timing;
}

function esbuildTarget(): string {
  const match = KEYROTOR_RUNTIME.name.match(/nodejs(\d+)/);
  if (!match) throw new Error(`cannot read a Node version from ${KEYROTOR_RUNTIME.name}`);
  return `node${match[1]}`;
}

function options(entry: string, outfile: string, external: readonly string[], absWorkingDir: string): BuildOptions {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: esbuildTarget(),
    outfile,
    minify: KEYROTOR_BUNDLING.minify,
    sourcemap: KEYROTOR_BUNDLING.sourcemap,
    sourcesContent: KEYROTOR_BUNDLING.sourcesContent,
    external: [...external],
    logLevel: 'warning',
    absWorkingDir,
    // Analysis only: a metafile does not change the output.
    metafile: true,
  };
}

function sdkModulesOf(metafile: Metafile): string[] {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  const external = (output?.imports ?? []).filter((i) => i.external && i.path.startsWith('@aws-sdk/')).map((i) => i.path);
  const bundled = Object.keys(output?.inputs ?? {}).flatMap((input) => input.match(/node_modules\/(@aws-sdk\/client-[^/]+)/)?.[1] ?? []);
  return [...new Set([...external, ...bundled])].sort();
}

async function bundle(name: string, entry: string, outDir: string, external: readonly string[], absWorkingDir: string): Promise<Bundle> {
  const file = path.join(outDir, name.replace(/[^A-Za-z0-9-]+/g, '-'), 'index.js');
  const { metafile } = await build(options(entry, file, external, absWorkingDir));
  if (!metafile) throw new Error(`esbuild wrote no metafile for ${entry}`);
  return {
    name,
    file,
    bytes: statSync(file).size,
    mapBytes: statSync(`${file}.map`).size,
    metafile,
    sdkModules: sdkModulesOf(metafile),
    bundle: { wallMs: [], cpuMs: [] },
    sdkAlone: { wallMs: [], cpuMs: [] },
  };
}

function requireOnce(modules: readonly string[], into: Timing): void {
  const child = spawnSync(process.execPath, ['-e', CHILD_SCRIPT, ...modules], { env: CHILD_ENV, encoding: 'utf8' });
  const [wall, cpu] = child.stdout.split(' ').map(Number);
  if (child.status !== 0 || !Number.isFinite(wall) || !Number.isFinite(cpu)) throw new Error(`require(${modules.join(', ')}) failed: ${child.stderr.slice(0, 2000)}`);
  into.wallMs.push(wall as number);
  into.cpuMs.push(cpu as number);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** An npm package (all its files), or a folder of this repository's source. */
function contributor(input: string): string {
  const inPackage = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (inPackage) return inPackage[1] as string;
  return input.replace(/^(\.\.\/)+/, '').replace(/\/[^/]+$/, '/');
}

function topContributors(bundled: Bundle, count: number): [string, number][] {
  const output = Object.values(bundled.metafile.outputs).find((o) => o.entryPoint !== undefined);
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const key = contributor(input);
    totals.set(key, (totals.get(key) ?? 0) + bytesInOutput);
  }
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, count);
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

async function main(): Promise<void> {
  const samples = Number(argument('--samples') ?? 15);
  const candidate = argument('--candidate');
  const functionSource = readFileSync(path.join(ROOT, 'lib/keyrotor-function.ts'), 'utf8');
  const drift = SOURCE_OF_TRUTH.filter((flag) => !functionSource.includes(flag));
  const outDir = mkdtempSync(path.join(tmpdir(), 'keyrotor-cold-start-'));
  try {
    const bundles: Bundle[] = [await bundle('naive (SDK bundled)', NAIVE_ENTRY, outDir, [], ROOT)];
    for (const name of HANDLERS) bundles.push(await bundle(name, path.join(ROOT, 'lambdas/handlers', `${name}.ts`), outDir, KEYROTOR_BUNDLING.external, ROOT));
    if (candidate) {
      const root = path.resolve(candidate);
      for (const name of HANDLERS) bundles.push(await bundle(`${name} (candidate)`, path.join(root, 'lambdas/handlers', `${name}.ts`), outDir, KEYROTOR_BUNDLING.external, root));
    }

    // Interleaved rounds, so drift in the machine's load touches every bundle alike.
    for (let round = 0; round < samples; round++) {
      for (const b of bundles) {
        requireOnce([b.file], b.bundle);
        requireOnce(b.sdkModules, b.sdkAlone);
      }
    }

    const naive = bundles[0] as Bundle;
    const naiveMs = median(naive.bundle.wallMs);
    const naiveCpu = median(naive.bundle.cpuMs);
    const naiveRestCpu = naiveCpu - median(naive.sdkAlone.cpuMs);
    console.log(
      `esbuild ${esbuildVersion}, options of lib/keyrotor-function.ts: --bundle --platform=node --target=${esbuildTarget()} --minify --sourcemap --sources-content=false --external:@aws-sdk/* ` +
        `(CDK adds no --format: esbuild's cjs; no --main-fields: main,module)${drift.length > 0 ? `; WARNING: lib/keyrotor-function.ts no longer says ${drift.join(', ')}` : ''}`,
    );
    console.log(`require() in a fresh node ${process.version} per sample, NODE_OPTIONS=${CHILD_ENV.NODE_OPTIONS} (as deployed), median of ${samples}; targets: bundle < ${TARGET_BYTES / KB} KB, require ≤ ${TARGET_RATIO} × naive\n`);
    console.log('handler                    |    bundle |     map | require wall | vs naive | require CPU | vs naive | its AWS SDK alone (CPU) | rest (CPU) | rest vs naive rest | < 150 KB | ≤ 0.5× naive (wall)');
    for (const b of bundles) {
      const ms = median(b.bundle.wallMs);
      const cpu = median(b.bundle.cpuMs);
      const sdk = median(b.sdkAlone.cpuMs);
      const isNaive = b === naive;
      console.log(
        [
          b.name.padEnd(26),
          `${(b.bytes / KB).toFixed(1)} KB`.padStart(9),
          `${(b.mapBytes / KB).toFixed(0)} KB`.padStart(7),
          `${ms.toFixed(1)} ms`.padStart(12),
          (ms / naiveMs).toFixed(2).padStart(8),
          `${cpu.toFixed(1)} ms`.padStart(11),
          (cpu / naiveCpu).toFixed(2).padStart(8),
          `${sdk.toFixed(1)} ms (${b.sdkModules.length} clients)`.padStart(23),
          `${(cpu - sdk).toFixed(1)} ms`.padStart(10),
          ((cpu - sdk) / naiveRestCpu).toFixed(2).padStart(18),
          (isNaive ? '' : b.bytes < TARGET_BYTES ? 'yes' : 'no').padStart(8),
          isNaive ? '' : ms / naiveMs <= TARGET_RATIO ? 'yes' : 'no',
        ].join(' | '),
      );
    }
    console.log(`  (AWS SDK alone: the same @aws-sdk packages required by themselves from node_modules in a fresh process; rest = bundle − SDK, CPU time. Naive bundles ${naive.sdkModules.join(', ')}.)`);

    console.log('\nTop 10 contributors per bundle (bytes in the minified output; npm packages whole, this repo by folder)');
    for (const b of bundles) {
      const top = topContributors(b, 10)
        .map(([name, bytes]) => `${name} ${(bytes / KB).toFixed(1)}`)
        .join(' · ');
      console.log(`  ${b.name} (${(b.bytes / KB).toFixed(1)} KB): ${top}`);
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

void main();
