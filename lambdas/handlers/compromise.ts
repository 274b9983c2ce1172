import { randomUUID } from 'node:crypto';
import { parseCompromiseEvent, respondToCompromise, type CompromiseDeps, type CompromiseOutcome } from '../core/compromise';
import { createLogger, loggerPort } from '../adapters/logger';
import { DynamoDbLedger } from '../adapters/dynamodb-ledger';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { SecretsManagerStore } from '../adapters/secrets-manager-store';
import { createProviderRegistry } from '../providers/registry';
import { lazily, readLedgerEnvironment } from './config';
import { keyrotorHandler } from './middleware/keyrotor-handler';

/**
 * The compromise responder: EventBridge invokes it with a `KeyCompromised` report that a person
 * or a security tool put on keyrotor's bus (`keyrotor compromised` runs the same response
 * in-process). A failed response is retried by Lambda and then dead-lettered (alarmed).
 */
export function createCompromiseHandler(deps: CompromiseDeps | (() => CompromiseDeps), logger = createLogger('keyrotor-compromise')) {
  return keyrotorHandler(logger, deps, async (event, resolved): Promise<CompromiseOutcome> => {
    const report = parseCompromiseEvent(event);
    logger.appendKeys({ secretId: report.secretId, reportedBy: report.reportedBy });
    return respondToCompromise(report, resolved);
  });
}

const logger = createLogger('keyrotor-compromise');

export const handler = createCompromiseHandler(
  lazily((): CompromiseDeps => {
    const env = readLedgerEnvironment();
    return {
      store: new SecretsManagerStore(),
      providers: createProviderRegistry({ timeoutMs: 10_000, maxRetryAfterMs: 20_000 }),
      ledger: new DynamoDbLedger(env.KEYROTOR_LEDGER_TABLE),
      logger: loggerPort(logger),
      now: () => new Date(),
      newToken: randomUUID,
      events: new EventBridgePublisher(env.KEYROTOR_EVENT_BUS),
    };
  }),
  logger,
);
