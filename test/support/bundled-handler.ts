import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { recordCapture } from './secret-scan';

/**
 * Runs in the child: loads the bundle, then answers each `{ id, event }` message with the
 * handler's result or its error's name and message, as Lambda's runtime would invoke it.
 */
const RUNNER = `'use strict';
const { handler } = require(process.argv[2]);
let invocation = 0;
process.on('message', async ({ id, event }) => {
  invocation += 1;
  const deadline = Date.now() + 120000;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:' + process.env.AWS_REGION + ':123456789012:function:' + process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: '256', awsRequestId: 'bundle-' + invocation, logGroupName: '/aws/lambda/' + process.env.AWS_LAMBDA_FUNCTION_NAME,
    logStreamName: 'bundle', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    process.send({ id, result: (await handler(event, context)) ?? null });
  } catch (error) {
    process.send({ id, error: { name: error && error.name, message: error && error.message, stack: error && error.stack } });
  }
});
process.send({ ready: typeof handler === 'function' });
`;

/** What the handler threw, as the runtime reports it (`errorType`, `errorMessage`). */
export class BundledHandlerError extends Error {
  public constructor(
    public readonly errorType: string,
    message: string,
    /** The error's stack in the child, as the runtime would log it (source-mapped when the bundle's map is found). */
    public readonly childStack: string,
  ) {
    super(message);
    this.name = 'BundledHandlerError';
  }
}

/** A deployed bundle running in its own Node process, invoked like Lambda invokes it. */
export interface BundledHandler {
  /** Invokes the handler with `event`; resolves to what it returned, rejects with a {@link BundledHandlerError}. */
  invoke(event: unknown): Promise<unknown>;
  /** Everything the process wrote to stdout and stderr so far (its log lines). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `bundle` (an `index.js` as NodejsFunction deploys it) in a fresh `node`, in `cwd` (a folder
 * with no node_modules: the bundle must carry every package it needs), with nothing in its
 * environment but `environment`, PATH and `NODE_OPTIONS=--enable-source-maps` as deployed. Its
 * output is recorded for the suite-wide secret scan.
 */
export async function startBundledHandler(bundle: string, cwd: string, environment: Readonly<Record<string, string>>): Promise<BundledHandler> {
  const runner = path.join(cwd, 'keyrotor-bundle-runner.cjs');
  writeFileSync(runner, RUNNER);
  const child: ChildProcess = fork(runner, [bundle], {
    cwd,
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '--enable-source-maps', ...environment },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      recordCapture('process-output', text);
    });
  }
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      // A process that dies mid-invocation (a crash, an exit) fails what it was running, as Lambda reports it.
      for (const waiting of pending.values()) waiting.reject(new BundledHandlerError('Runtime.ExitError', `the process exited (${code}):\n${output.slice(-4000)}`, ''));
      pending.clear();
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bundle ${bundle} exited (${code}) before it was ready:\n${output.slice(0, 4000)}`)));
    child.once('message', (message: { ready?: boolean }) =>
      message.ready ? resolve() : reject(new Error(`the bundle ${bundle} exports no handler function`)),
    );
  });
  child.on('message', (message: { id?: number; result?: unknown; error?: { name?: string; message?: string; stack?: string } }) => {
    if (message.id === undefined) return;
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.error) waiting?.reject(new BundledHandlerError(message.error.name ?? 'Error', message.error.message ?? '', message.error.stack ?? ''));
    else waiting?.resolve(message.result);
  });
  return {
    invoke: (event) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ id, event });
      }),
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill();
      await exited;
    },
  };
}
