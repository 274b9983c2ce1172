import * as z from 'zod/mini';
import { notify, type NotifyDeps, type NotifyResult } from '../core/notify';
import { ConfigError } from '../core/errors';
import { describeIssues } from '../core/secret-value';
import { DynamoDbAlertDeduper } from '../adapters/dynamodb-alert-deduper';
import { createLogger, loggerPort } from '../adapters/logger';
import { SnsNotifier } from '../adapters/sns-notifier';
import { lazily } from './config';
import { keyrotorHandler } from './middleware/keyrotor-handler';

/** The notifier's environment: names and ARNs only. */
const notifyEnvironment = z.object({
  KEYROTOR_ALERTS_TOPIC_ARN: z.string().check(z.startsWith('arn:')),
  /** The ledger table, which also holds the alert claims (`sk` = `alert#…`). */
  KEYROTOR_LEDGER_TABLE: z.string().check(z.minLength(1)),
  /** Where the runbooks are browsable; an empty value (CloudFormation's "unset") means none. */
  KEYROTOR_RUNBOOK_BASE_URL: z.pipe(
    z.optional(z.union([z.literal(''), z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://github.com/acme/keyrotor/blob/main' })])),
    z.transform((value: string | undefined) => value || undefined),
  ),
});
export type NotifyEnvironment = z.infer<typeof notifyEnvironment>;

/** The notifier's environment. @throws ConfigError naming every missing or malformed variable. */
export function readNotifyEnvironment(env: NodeJS.ProcessEnv = process.env): NotifyEnvironment {
  const result = notifyEnvironment.safeParse(env);
  if (!result.success) throw new ConfigError(describeIssues(result.error.issues), 'Lambda environment');
  return result.data;
}

/**
 * The notifier: the target of the EventBridge rules for keyrotor's bus and for Secrets Manager's
 * rotation events. Turns each event into at most one readable alert on the SNS topic, once per
 * failure. A malformed event fails the invocation with a ValidationError (logged by
 * reportErrors), so it lands in the dead-letter queue instead of vanishing.
 */
export function createNotifyHandler(deps: NotifyDeps | (() => NotifyDeps), logger = createLogger('keyrotor-notify')) {
  return keyrotorHandler(logger, deps, (event, resolved): Promise<NotifyResult> => notify(event, resolved));
}

const logger = createLogger('keyrotor-notify');

export const handler = createNotifyHandler(
  lazily((): NotifyDeps => {
    const env = readNotifyEnvironment();
    return {
      notifier: new SnsNotifier(env.KEYROTOR_ALERTS_TOPIC_ARN),
      deduper: new DynamoDbAlertDeduper(env.KEYROTOR_LEDGER_TABLE),
      logger: loggerPort(logger),
      alertOptions: env.KEYROTOR_RUNBOOK_BASE_URL ? { runbookBaseUrl: env.KEYROTOR_RUNBOOK_BASE_URL } : {},
    };
  }),
  logger,
);
