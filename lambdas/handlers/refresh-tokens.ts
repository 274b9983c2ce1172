import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parseRefreshEvent, refreshTokens, type RefreshDeps, type RefreshReport } from '../core/token-refresh';
import { createLogger, loggerPort } from '../adapters/logger';
import { metricsPort } from '../adapters/powertools-metrics';
import { SecretsManagerTokenStore } from '../adapters/secrets-manager-token-store';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { createTokenMinter } from '../providers/token-minters';
import { lazily, readRefreshEnvironment } from './config';
import { keyrotorHandler } from './middleware/keyrotor-handler';

/**
 * The token refresher: run by an EventBridge Scheduler schedule (every few minutes), renews
 * every access token that is due, writes it to its token secret and publishes what happened on
 * keyrotor's bus. Reserved concurrency 1 keeps one run, and so one renewal per token, in flight.
 */
export function createRefreshHandler(deps: RefreshDeps | (() => RefreshDeps), logger = createLogger('keyrotor-refresh-tokens'), metrics?: Metrics) {
  const handler = keyrotorHandler(logger, deps, async (event, resolved): Promise<RefreshReport> => {
    parseRefreshEvent(event);
    return refreshTokens(resolved);
  });
  return metrics ? handler.use(logMetrics(metrics)) : handler;
}

const logger = createLogger('keyrotor-refresh-tokens');
const metrics = new Metrics({ serviceName: 'keyrotor-refresh-tokens' });

export const handler = createRefreshHandler(
  lazily((): RefreshDeps => {
    const env = readRefreshEnvironment();
    return {
      store: new SecretsManagerTokenStore(),
      // A token request is cheap to repeat; keep a run well inside the function's timeout.
      minter: createTokenMinter({ timeoutMs: 10_000, maxRetryAfterMs: 30_000 }),
      // TokenRefreshed / TokenRefreshFailed; the notifier Lambda turns them into alerts.
      events: new EventBridgePublisher(env.KEYROTOR_EVENT_BUS),
      metrics: metricsPort(metrics),
      logger: loggerPort(logger),
      policy: {
        renewAtFraction: env.KEYROTOR_RENEW_AT_FRACTION,
        jitterFraction: env.KEYROTOR_RENEW_JITTER_FRACTION,
        windowMs: env.KEYROTOR_REFRESH_RATE_MINUTES * 60_000,
        concurrency: env.KEYROTOR_REFRESH_CONCURRENCY,
      },
      now: () => new Date(),
    };
  }),
  logger,
  metrics,
);
