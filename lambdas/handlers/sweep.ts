import { randomUUID } from 'node:crypto';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { DEFAULT_SWEEP_POLICY, parseSweepRequest, sweep, SWEEP_SERVICE_NAME, type SweepDeps, type SweepReport } from '../core/sweep';
import { Pacer } from '../core/pacing';
import { createLogger, loggerPort } from '../adapters/logger';
import { DynamoDbLedger } from '../adapters/dynamodb-ledger';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { LambdaSweepContinuation } from '../adapters/lambda-sweep-continuation';
import { metricsPort } from '../adapters/powertools-metrics';
import { SchedulerRevocations } from '../adapters/scheduler-revocations';
import { SecretsManagerInventory } from '../adapters/secrets-manager-inventory';
import { SecretsManagerStore } from '../adapters/secrets-manager-store';
import { createProviderRegistry } from '../providers/registry';
import type { SweepContinuation } from '../ports/sweep-continuation';
import { lazily, readSweepEnvironment } from './config';
import { keyrotorHandler } from './middleware/keyrotor-handler';

/**
 * What the sweep handler is built from: the sweep's dependencies, except what each invocation
 * brings (its remaining time, and how to continue: by default the function invoking itself).
 */
export type SweepHandlerDeps = Omit<SweepDeps, 'remainingTimeMs' | 'continuation'> & {
  /** @default the function invokes itself asynchronously (LambdaSweepContinuation with the context's function name) */
  readonly continuation?: (context: Context) => SweepContinuation;
};

/**
 * The daily sweep: run by an EventBridge Scheduler schedule (`{}`), or by itself with
 * `{ cursor, skip, runId }` to continue a run that ran short of time. Each invocation sweeps batches of
 * managed secrets and returns (and logs) what it found.
 */
export function createSweepHandler(deps: SweepHandlerDeps | (() => SweepHandlerDeps), logger = createLogger(SWEEP_SERVICE_NAME), metrics?: Metrics) {
  const handler = keyrotorHandler(logger, deps, async (event, base, context): Promise<SweepReport> => {
    const request = parseSweepRequest(event);
    const runId = request.runId ?? (base.newToken ?? randomUUID)();
    logger.appendKeys({ runId });
    const { continuation, ...rest } = base;
    return sweep(
      { ...request, runId },
      {
        ...rest,
        continuation: continuation ? continuation(context) : new LambdaSweepContinuation(context.functionName),
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
      },
    );
  });
  return metrics ? handler.use(logMetrics(metrics)) : handler;
}

const logger = createLogger(SWEEP_SERVICE_NAME);
const metrics = new Metrics({ serviceName: SWEEP_SERVICE_NAME });

/** Platform calls must leave the run time to the sweep: a long Retry-After fails that check fast (counted, not a revocation). */
const PLATFORM_HTTP = { timeoutMs: 10_000, maxRetryAfterMs: 30_000 } as const;

export const handler = createSweepHandler(
  lazily((): SweepHandlerDeps => {
    const env = readSweepEnvironment();
    const secretsManager = new SecretsManagerClient({});
    return {
      inventory: new SecretsManagerInventory(secretsManager),
      store: new SecretsManagerStore(secretsManager),
      providers: createProviderRegistry(PLATFORM_HTTP),
      ledger: new DynamoDbLedger(env.KEYROTOR_LEDGER_TABLE),
      revocations: new SchedulerRevocations({
        revokerArn: env.KEYROTOR_REVOKER_ARN,
        roleArn: env.KEYROTOR_SCHEDULER_ROLE_ARN,
        groupName: env.KEYROTOR_SCHEDULE_GROUP,
        deadLetterArn: env.KEYROTOR_REVOCATION_DLQ_ARN,
      }),
      events: new EventBridgePublisher(env.KEYROTOR_EVENT_BUS),
      metrics: metricsPort(metrics),
      logger: loggerPort(logger),
      policy: {
        ...DEFAULT_SWEEP_POLICY,
        warningDays: env.KEYROTOR_SWEEP_WARNING_DAYS,
        stuckAfterMs: env.KEYROTOR_SWEEP_STUCK_AFTER_HOURS * 3_600_000,
        gracePeriodMs: env.KEYROTOR_GRACE_PERIOD_HOURS * 3_600_000,
        concurrency: env.KEYROTOR_SWEEP_CONCURRENCY,
      },
      now: () => new Date(),
      // One pacer per container: a warm container keeps spacing platform calls across invocations.
      pacer: new Pacer(),
    };
  }),
  logger,
  metrics,
);
