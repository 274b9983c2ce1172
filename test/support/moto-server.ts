/**
 * Runs `moto_server` (a local AWS emulator, `pip install "moto[server]"`) for integration tests.
 *
 * Each {@link startMotoServer} call spawns its own server on a free loopback port. The process cannot outlive the
 * test worker: it is killed when the worker exits normally, and on Linux (when `setpriv` is available) the kernel
 * also kills it when the worker dies from a signal.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { runInThisContext } from 'node:vm';

/** A running moto_server. */
export interface MotoServer {
  /** Endpoint for AWS SDK clients (`endpoint` option or `AWS_ENDPOINT_URL`), e.g. `http://127.0.0.1:54321`. */
  readonly endpoint: string;
  /** The configuration an AWS SDK client needs to talk to this server (endpoint, region, dummy credentials). */
  readonly clientConfig: { readonly endpoint: string; readonly region: string; readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } };
  /** Drops every resource in every service and region (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  /** Kills the server and waits for the process to exit. Safe to call twice. */
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_LIMIT = 16_384;
const INSTALL_HINT = 'pip install "moto[server]"';

/**
 * The worker's real `process`. Under jest, the test's global `process` is a copy whose `'exit'` listeners never fire,
 * so the cleanup hook must be registered on the process of the main context.
 */
function realProcess(): NodeJS.Process {
  try {
    const candidate = runInThisContext('process') as NodeJS.Process | undefined;
    if (candidate && typeof candidate.on === 'function') return candidate;
  } catch {
    // fall through
  }
  return process;
}

const CHILDREN = Symbol.for('keyrotor.test.motoServer.children');

/** Children still alive, shared by every copy of this module in the worker (jest loads it once per test file). */
function liveChildren(): Set<ChildProcess> {
  const host = realProcess() as NodeJS.Process & { [CHILDREN]?: Set<ChildProcess> };
  let children = host[CHILDREN];
  if (!children) {
    const created = new Set<ChildProcess>();
    children = created;
    host[CHILDREN] = created;
    host.on('exit', () => {
      for (const child of created) {
        try {
          child.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  return children;
}

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), fsConstants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

let available: boolean | undefined;

/**
 * True when moto_server is on PATH and runs (`moto_server --help` succeeds; a pyenv shim without moto behind it
 * does not count). The answer is cached.
 */
export function motoServerAvailable(): boolean {
  if (available === undefined) {
    available =
      onPath('moto_server') && spawnSync('moto_server', ['--help'], { stdio: 'ignore', timeout: 15_000 }).status === 0;
  }
  return available;
}

let pdeathsig: boolean | undefined;

/** Whether children can be started through `setpriv --pdeathsig KILL` (Linux, util-linux ≥ 2.33). */
function canUsePdeathsig(): boolean {
  if (pdeathsig === undefined) {
    pdeathsig =
      process.platform === 'linux' &&
      onPath('setpriv') &&
      spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true'], { stdio: 'ignore', timeout: 5_000 }).status === 0;
  }
  return pdeathsig;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

interface Attempt {
  child: ChildProcess;
  endpoint: string;
  output: () => string;
  /** Settles once the process has exited and its pipes are drained. */
  closed: Promise<void>;
}

function spawnMoto(port: number): Attempt {
  const args = ['-H', '127.0.0.1', '-p', String(port)];
  const [command, argv] = canUsePdeathsig()
    ? ['setpriv', ['--pdeathsig', 'KILL', 'moto_server', ...args]]
    : ['moto_server', args];
  const child = spawn(command, argv, { detached: false, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  liveChildren().add(child);
  child.once('exit', () => liveChildren().delete(child));
  child.once('error', () => liveChildren().delete(child));

  // moto logs every request: keep draining the pipes (or it blocks) but only remember the tail.
  let buffered = '';
  const collect = (chunk: Buffer) => {
    buffered = (buffered + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // A forgotten stop() must not keep the worker alive; the exit hook still kills the process.
  child.unref();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

  return { child, endpoint: `http://127.0.0.1:${port}`, output: () => buffered, closed };
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (exited(child) || child.pid === undefined) return;
  child.ref(); // keep the event loop alive until the exit is seen
  const gone = waitForExit(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!exited(child)) child.kill('SIGKILL');
  }, STOP_GRACE_MS);
  await gone;
  clearTimeout(timer);
}

/** Starts moto_server on a free loopback port and waits until it answers (polls `GET /moto-api/`; timeout 20 s). */
export async function startMotoServer(): Promise<MotoServer> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  const failures: string[] = [];

  // The port may be taken between probing and binding: try again with another one when that is why it failed.
  for (let attempt = 1; attempt <= 3 && Date.now() < deadline; attempt += 1) {
    const { child, endpoint, output, closed } = spawnMoto(await freePort());
    let spawnError: Error | undefined;
    child.once('error', (error) => {
      spawnError = error;
    });

    while (Date.now() < deadline && !exited(child) && !spawnError) {
      if (await answers(endpoint)) {
        let stopping: Promise<void> | undefined;
        return {
          endpoint,
          clientConfig: { endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } },
          async reset() {
            const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
            const text = await response.text();
            if (!response.ok) throw new Error(`moto_server reset failed: HTTP ${response.status} ${text}`);
          },
          stop() {
            stopping ??= kill(child);
            return stopping;
          },
        };
      }
      await sleep(100);
    }

    const exitedEarly = exited(child);
    if (exitedEarly) {
      // let the pipes drain so that the output below is complete
      await Promise.race([closed, sleep(500)]);
    } else {
      await kill(child);
    }
    const reason = spawnError
      ? `could not run moto_server: ${spawnError.message}`
      : exitedEarly
        ? `moto_server exited early (code ${child.exitCode}, signal ${child.signalCode})`
        : `moto_server did not answer on ${endpoint} within ${STARTUP_TIMEOUT_MS / 1000} s`;
    failures.push(`attempt ${attempt}: ${reason}\n--- moto_server output ---\n${output().trim() || '(none)'}`);
    if (spawnError || !/address already in use/i.test(output())) break;
  }

  throw new Error(`Could not start moto_server (install it with: ${INSTALL_HINT}).\n${failures.join('\n')}`);
}

function isCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

let warned = false;

/**
 * For test files: jest's `describe` when moto_server is available. When it is missing, under CI (`CI` set and not
 * `false`/`0`) a describe whose single test fails saying moto_server is required; elsewhere `describe.skip`, with a
 * one-time `console.warn` on how to install it.
 */
export const describeWithMoto = (name: string, fn: () => void): void => {
  if (motoServerAvailable()) {
    describe(name, fn);
    return;
  }
  if (isCi()) {
    describe(name, () => {
      it('requires moto_server', () => {
        throw new Error(
          `moto_server is required in CI but was not found on PATH (or does not run). Install it with: ${INSTALL_HINT}`,
        );
      });
    });
    return;
  }
  if (!warned) {
    warned = true;
    console.warn(`moto_server not found on PATH: skipping tests that need it. Install it with: ${INSTALL_HINT}`);
  }
  describe.skip(name, fn);
};
