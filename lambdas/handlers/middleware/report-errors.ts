import type { MiddlewareObj } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { KeyrotorError } from '../../core/errors';
import { redactText } from '../../core/redaction';

/**
 * Logs a failed invocation once, as a structured line with the error's class and message,
 * then lets it propagate so the invoker (Secrets Manager, Scheduler) records the failure.
 * Only keyrotor's own errors carry their message; anything else is logged by class and a
 * redacted message, without the cause chain (SDK errors can carry request details).
 */
export function reportErrors(logger: Logger): MiddlewareObj {
  const onError: MiddlewareObj['onError'] = async (request) => {
    const error = request.error;
    if (!(error instanceof Error)) {
      logger.error('invocation failed', { errorName: typeof error });
      return;
    }
    logger.error('invocation failed', {
      errorName: error.name,
      errorMessage: redactText(error.message),
      expected: error instanceof KeyrotorError,
    });
  };
  return { onError };
}
