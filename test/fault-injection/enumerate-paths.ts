/**
 * Prints the path of every flow run without a fault (one line of JSON: flow id → calls), so the
 * matrix can declare one test per (flow, call, fault kind) before any of them runs: jest needs
 * its tests declared synchronously, and a flow only runs asynchronously.
 * Run: node --import tsx test/fault-injection/enumerate-paths.ts
 */
import { FLOWS } from './flows';

async function main(): Promise<void> {
  const paths: Record<string, { service: string; op: string; phase: string }[]> = {};
  for (const flow of FLOWS) {
    const observation = await flow.run();
    const { calls } = observation.world.faults;
    paths[flow.id] = calls.slice(0, observation.world.settleFrom ?? calls.length).map(({ service, op, phase }) => ({ service, op, phase }));
  }
  process.stdout.write(`${JSON.stringify(paths)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
