import { parseRevocationRequest, revokeOldKey, type RevokeDeps } from '../core/revocation';
import { createLogger, loggerPort } from '../adapters/logger';
import { DynamoDbLedger } from '../adapters/dynamodb-ledger';
import { SecretsManagerStore } from '../adapters/secrets-manager-store';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { createProviderRegistry } from '../providers/registry';
import { lazily, readLedgerEnvironment } from './config';
import { keyrotorHandler } from './middleware/keyrotor-handler';

/**
 * The revoker: invoked by a one-time EventBridge Scheduler schedule after an old key's grace
 * period, with the RevocationRequest as its input. Failures are retried by Scheduler and then
 * land in the dead-letter queue (alarmed).
 */
export function createRevokeHandler(deps: RevokeDeps | (() => RevokeDeps), logger = createLogger('keyrotor-revoke')) {
  return keyrotorHandler(logger, deps, async (event, resolved): Promise<{ outcome: string }> => {
    const request = parseRevocationRequest(event);
    logger.appendKeys({ secretArn: request.secretArn, clientRequestToken: request.token, providerKeyId: request.providerKeyId });
    return { outcome: await revokeOldKey(request, resolved) };
  });
}

const logger = createLogger('keyrotor-revoke');

export const handler = createRevokeHandler(
  lazily((): RevokeDeps => {
    const env = readLedgerEnvironment();
    return {
      store: new SecretsManagerStore(),
      providers: createProviderRegistry({ timeoutMs: 10_000, maxRetryAfterMs: 20_000 }),
      ledger: new DynamoDbLedger(env.KEYROTOR_LEDGER_TABLE),
      logger: loggerPort(logger),
      now: () => new Date(),
      events: new EventBridgePublisher(env.KEYROTOR_EVENT_BUS),
    };
  }),
  logger,
);
