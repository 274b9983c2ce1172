import * as z from 'zod/mini';
import { ConfigError } from '../core/errors';
import { describeIssues } from '../core/secret-value';

/**
 * Environment configuration of keyrotor's Lambdas, validated once at cold start. Only names
 * and ARNs: a secret value never goes into an environment variable.
 */
const nonEmpty = () => z.string().check(z.minLength(1));
const arn = () => z.string().check(z.startsWith('arn:'));
/** A whole number from a variable's text, from `min` to `max`. */
const wholeNumber = (min: number, max: number) => z.pipe(z.coerce.number(), z.int().check(z.minimum(min), z.maximum(max)));

const ledgerEnvironment = z.object({
  KEYROTOR_LEDGER_TABLE: nonEmpty(),
  /** keyrotor's EventBridge bus, where the Lambdas publish their events. */
  KEYROTOR_EVENT_BUS: nonEmpty(),
});

const rotationEnvironment = z.extend(ledgerEnvironment, {
  KEYROTOR_REVOKER_ARN: arn(),
  KEYROTOR_SCHEDULER_ROLE_ARN: arn(),
  KEYROTOR_SCHEDULE_GROUP: nonEmpty(),
  KEYROTOR_REVOCATION_DLQ_ARN: arn(),
  KEYROTOR_GRACE_PERIOD_HOURS: z.coerce.number().check(z.positive(), z.maximum(24 * 90)),
});

const refreshEnvironment = z.object({
  /** keyrotor's EventBridge bus: the refresher publishes TokenRefreshed / TokenRefreshFailed there. */
  KEYROTOR_EVENT_BUS: nonEmpty(),
  KEYROTOR_REFRESH_RATE_MINUTES: wholeNumber(1, 60),
  KEYROTOR_RENEW_AT_FRACTION: z.coerce.number().check(z.minimum(0.5), z.maximum(0.95)),
  KEYROTOR_RENEW_JITTER_FRACTION: z.coerce.number().check(z.minimum(0), z.maximum(0.2)),
  KEYROTOR_REFRESH_CONCURRENCY: wholeNumber(1, 20),
});

function read<S extends z.ZodMiniType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) throw new ConfigError(describeIssues(result.error.issues), 'Lambda environment');
  return result.data;
}

/** The rotation Lambda's environment. @throws ConfigError naming every missing or malformed variable. */
export function readRotationEnvironment(env: NodeJS.ProcessEnv = process.env): z.infer<typeof rotationEnvironment> {
  return read(rotationEnvironment, env);
}

/** The environment of Lambdas that only write the ledger (the revoker). */
export function readLedgerEnvironment(env: NodeJS.ProcessEnv = process.env): z.infer<typeof ledgerEnvironment> {
  return read(ledgerEnvironment, env);
}

/** The token refresher's environment. */
export function readRefreshEnvironment(env: NodeJS.ProcessEnv = process.env): z.infer<typeof refreshEnvironment> {
  return read(refreshEnvironment, env);
}

/** Builds a value on first use, so importing a handler (tests, bundling) needs no environment. */
export function lazily<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

/** `14,7,3,1`: the sweep's warning thresholds in days, descending, each once. */
const warningDaysVariable = z.pipe(
  z.string(),
  z.transform((text: string, ctx) => {
    const days = text.split(',').map((part) => Number(part.trim()));
    const ascendingAt = days.findIndex((day, index) => index > 0 && day >= (days[index - 1] as number));
    if (days.length === 0 || days.length > 10 || days.some((day) => !Number.isInteger(day) || day < 1 || day > 365) || ascendingAt !== -1) {
      ctx.issues.push({ code: 'custom', input: text, message: 'must be 1 to 10 whole numbers of days from 1 to 365, comma-separated, in descending order (e.g. 14,7,3,1)' });
      return z.NEVER;
    }
    return days;
  }),
);

const sweepEnvironment = z.extend(rotationEnvironment, {
  KEYROTOR_SWEEP_WARNING_DAYS: warningDaysVariable,
  KEYROTOR_SWEEP_STUCK_AFTER_HOURS: wholeNumber(1, 168),
  KEYROTOR_SWEEP_CONCURRENCY: wholeNumber(1, 20),
});

/** The daily sweep's environment: the rotation function's (it starts rotations and schedules revocations) plus its own settings. */
export function readSweepEnvironment(env: NodeJS.ProcessEnv = process.env): z.infer<typeof sweepEnvironment> {
  return read(sweepEnvironment, env);
}
