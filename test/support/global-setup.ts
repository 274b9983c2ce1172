/**
 * jest `globalSetup`: gives this run its own directory for the secret scan's flushed captures, which the workers
 * inherit through {@link SCAN_DIR_ENV}, and removes the directories of earlier runs. One directory per run rather
 * than one shared one: runs started side by side in the same checkout must not scan, or delete, each other's files.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SCAN_DIR_ENV } from './secret-scan';

const RUN_DIR = /^run-(\d+)-\d+$/;

/** True while the process that started a run is alive (its run is still going). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: checks existence only
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export default function globalSetup(globalConfig: { rootDir: string }): void {
  const root = join(globalConfig.rootDir, '.tmp', 'secret-scan');
  mkdirSync(root, { recursive: true });
  for (const name of readdirSync(root)) {
    const run = RUN_DIR.exec(name);
    // Leftovers of earlier runs (and files of the flat layout): gone. Another live run's directory stays.
    if (run && Number(run[1]) !== process.pid && isAlive(Number(run[1]))) continue;
    rmSync(join(root, name), { recursive: true, force: true });
  }
  const dir = join(root, `run-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  process.env[SCAN_DIR_ENV] = dir;
}
