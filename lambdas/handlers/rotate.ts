import * as z from 'zod/mini';
import { ROTATION_STEPS } from '../core/contracts';
import { ValidationError } from '../core/errors';
import { runRotationStep, type RotationDeps, type RotationEvent } from '../core/rotation';
import { describeIssues } from '../core/secret-value';
import { DEFAULT_PROPAGATION } from '../core/verification';
import { createLogger, loggerPort } from '../adapters/logger';
import { SecretsManagerStore } from '../adapters/secrets-manager-store';
import { VersionCachingStore } from '../adapters/version-cache';
import { DynamoDbLedger } from '../adapters/dynamodb-ledger';
import { SchedulerRevocations } from '../adapters/scheduler-revocations';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { createProviderRegistry } from '../providers/registry';
import { lazily, readRotationEnvironment } from './config';
import { keyrotorHandler } from './middleware/keyrotor-handler';

/**
 * Secrets Manager rotation Lambda. Secrets Manager invokes it four times per rotation
 * (createSecret, setSecret, testSecret, finishSecret) with the same ClientRequestToken.
 */
const eventSchema = z.object({
  SecretId: z.string().check(z.minLength(1)),
  ClientRequestToken: z.string().check(z.minLength(1)),
  Step: z.enum(ROTATION_STEPS),
});

export function parseRotationEvent(event: unknown): RotationEvent {
  const result = eventSchema.safeParse(event);
  if (!result.success) throw new ValidationError('rotation event', describeIssues(result.error.issues));
  return result.data;
}

/** Builds the handler around its dependencies (or a factory for them); `handler` below is the deployed composition. */
export function createRotateHandler(deps: RotationDeps | (() => RotationDeps), logger = createLogger('keyrotor-rotate')) {
  return keyrotorHandler(logger, deps, async (event, resolved): Promise<void> => {
    const rotation = parseRotationEvent(event);
    logger.appendKeys({ secretId: rotation.SecretId, step: rotation.Step, clientRequestToken: rotation.ClientRequestToken });
    const outcome = await runRotationStep(rotation, resolved);
    logger.info('rotation step complete', { outcome });
  });
}

const logger = createLogger('keyrotor-rotate');

/**
 * Platform waits must fit the function's 120 s timeout: at most 3 retries × 20 s of
 * Retry-After, plus the 30 s propagation back-off of testSecret. A longer Retry-After fails the
 * step at once with ProviderRateLimitError, and Secrets Manager's retry picks it up later.
 */
const PLATFORM_HTTP = { timeoutMs: 10_000, maxRetryAfterMs: 20_000 } as const;

export const handler = createRotateHandler(
  lazily((): RotationDeps => {
    const env = readRotationEnvironment();
    return {
      // The four steps of a rotation normally run on this same warm container: versions read or
      // written by one step serve the next from memory (see VersionCachingStore).
      store: new VersionCachingStore(new SecretsManagerStore()),
      providers: createProviderRegistry(PLATFORM_HTTP),
      logger: loggerPort(logger),
      propagation: DEFAULT_PROPAGATION,
      now: () => new Date(),
      ledger: new DynamoDbLedger(env.KEYROTOR_LEDGER_TABLE),
      revocations: new SchedulerRevocations({
        revokerArn: env.KEYROTOR_REVOKER_ARN,
        roleArn: env.KEYROTOR_SCHEDULER_ROLE_ARN,
        groupName: env.KEYROTOR_SCHEDULE_GROUP,
        deadLetterArn: env.KEYROTOR_REVOCATION_DLQ_ARN,
      }),
      gracePeriodMs: env.KEYROTOR_GRACE_PERIOD_HOURS * 3_600_000,
      events: new EventBridgePublisher(env.KEYROTOR_EVENT_BUS),
    };
  }),
  logger,
);
