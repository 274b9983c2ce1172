import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { reportErrors } from './report-errors';

/** A handler's dependencies, or a factory that builds them on first use (the deployed composition). */
export type DepsOrFactory<D> = D | (() => D);

/**
 * The shape every keyrotor Lambda shares: middy around `work`, Powertools' Lambda context in the
 * logger (reset per invocation), and one structured line for a failed invocation before it
 * propagates to the invoker. `deps` is resolved per invocation (a factory builds once: see `lazily`).
 */
export function keyrotorHandler<D extends object, R>(
  logger: Logger,
  deps: DepsOrFactory<D>,
  work: (event: unknown, deps: D, context: Context) => Promise<R>,
): MiddyfiedHandler<unknown, R, Error, Context> {
  const resolve = typeof deps === 'function' ? (deps as () => D) : () => deps;
  return middy(async (event: unknown, context: Context): Promise<R> => work(event, resolve(), context))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(reportErrors(logger));
}
