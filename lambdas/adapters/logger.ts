import { Logger } from '@aws-lambda-powertools/logger';
import { redactingReplacer } from '../core/redaction';
import type { LoggerPort } from '../ports/logger';

/**
 * A Powertools Logger whose JSON output passes through keyrotor's redaction: secret fields,
 * registered secret values and credential-shaped strings never reach CloudWatch.
 */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, jsonReplacerFn: redactingReplacer });
}

/** Adapts a Powertools Logger to the port core code writes to. */
export function loggerPort(logger: Logger): LoggerPort {
  const call =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, attributes?: Record<string, unknown>): void => {
      if (attributes) logger[level](message, attributes);
      else logger[level](message);
    };
  return { debug: call('debug'), info: call('info'), warn: call('warn'), error: call('error') };
}
