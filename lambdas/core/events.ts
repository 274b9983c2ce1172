import * as z from 'zod/mini';
import { ENVIRONMENTS, PROVIDER_IDS, TAG, type Environment, type ProviderId } from './contracts';
import { SecretStateError, ValidationError } from './errors';
import { redactText } from './redaction';
import { describeIssues } from './secret-value';
import type { LoggerPort } from '../ports/logger';
import type { SecretMetadata } from '../ports/secret-store';

/**
 * keyrotor's own events on its EventBridge bus (source `keyrotor`). Security tools subscribe to
 * them; the notifier turns them into alerts. Each `detail` is versioned and validated at the
 * publisher, and holds no secret: fingerprints, never keys.
 */
export const EVENT_SOURCE = 'keyrotor';
export const DETAIL_VERSION = '1';

export const EVENT_TYPES = [
  'RotationStarted',
  'RotationSucceeded',
  'RotationFailed',
  'ManualActionRequired',
  'KeyExpiringSoon',
  'KeyRevoked',
  'KeyRevokedExternally',
  'KeyCompromised',
  'TokenRefreshed',
  'TokenRefreshFailed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const SEVERITY_LEVELS = ['INFO', 'WARNING', 'CRITICAL'] as const;

/** The severity each event carries unless its publisher says otherwise. */
export const DEFAULT_SEVERITY: Readonly<Record<EventType, (typeof SEVERITY_LEVELS)[number]>> = {
  RotationStarted: 'INFO',
  RotationSucceeded: 'INFO',
  RotationFailed: 'WARNING',
  ManualActionRequired: 'WARNING',
  KeyExpiringSoon: 'WARNING',
  KeyRevoked: 'INFO',
  KeyRevokedExternally: 'CRITICAL',
  KeyCompromised: 'CRITICAL',
  TokenRefreshed: 'INFO',
  TokenRefreshFailed: 'WARNING',
};

/** The `detail` of every keyrotor event (version 1). */
export const eventDetailSchema = z.strictObject({
  version: z.literal(DETAIL_VERSION),
  /** The secret's name (or ARN). */
  secret: z.string().check(z.minLength(1), z.maxLength(2048)),
  provider: z.enum(PROVIDER_IDS),
  environment: z.enum(ENVIRONMENTS),
  /** `…XXXX#hhhhhhhh`; absent where no key is involved. */
  fingerprint: z.optional(z.string().check(z.maxLength(64))),
  /** The rotation step or operation, e.g. `createSecret`, `revoke`, `refresh`. */
  step: z.optional(z.string().check(z.maxLength(64))),
  /** The rotation's ClientRequestToken. */
  rotation: z.optional(z.string().check(z.maxLength(128))),
  /** Which attempt of the step this was (Secrets Manager retries steps). */
  attempt: z.optional(z.int().check(z.minimum(1), z.maximum(1000))),
  severity: z.enum(SEVERITY_LEVELS),
  /** One sentence: what happened. */
  summary: z.string().check(z.minLength(1), z.maxLength(1000)),
  /** What keyrotor already did about it. */
  done: z.optional(z.string().check(z.maxLength(1000))),
  /** What a person must do next, when anything. */
  action: z.optional(z.string().check(z.maxLength(2000))),
  /** The error's class, for failures. */
  errorName: z.optional(z.string().check(z.maxLength(128))),
  /** When a key or token expires, ISO 8601 (KeyExpiringSoon, TokenRefreshFailed). */
  expiresAt: z.optional(z.iso.datetime({ offset: true })),
});
export type EventDetail = z.infer<typeof eventDetailSchema>;

export interface KeyrotorEvent {
  readonly type: EventType;
  readonly detail: EventDetail;
}

/**
 * Validates an event before it is published (or after it is received).
 * Free-text fields are redacted first, so a secret cannot ride along in a summary.
 * @throws ValidationError naming each wrong field.
 */
export function buildEvent(type: string, detail: unknown): KeyrotorEvent {
  const problems: string[] = [];
  if (!EVENT_TYPES.includes(type as EventType)) problems.push(`detail-type: must be one of ${EVENT_TYPES.join(', ')}`);
  const redacted =
    typeof detail === 'object' && detail !== null
      ? Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, typeof v === 'string' ? redactText(v) : v]))
      : detail;
  const result = eventDetailSchema.safeParse(redacted);
  if (!result.success) problems.push(...describeIssues(result.error.issues));
  if (problems.length > 0 || !result.success) // The type came from outside too (an event's detail-type): redacted, and cut short.
    throw new ValidationError(`keyrotor event ${redactText(String(type)).slice(0, 128)}`, problems);
  return { type: type as EventType, detail: result.data };
}

/** Publishes keyrotor events (EventBridge PutEvents in Lambdas; a capture in tests). */
export interface EventPublisher {
  publish(event: KeyrotorEvent): Promise<void>;
}

export const NO_EVENTS: EventPublisher = { async publish() {} };

/** The secret an event is about: its name and tags (a token secret as listed, or a managed secret as described). */
export type EventSubject = Pick<SecretMetadata, 'name' | 'tags'>;

/** What a managed secret's current value says about it, for a secret whose tags do not (one a person made by hand). */
export interface EventContextHint {
  readonly provider?: string;
  readonly environment?: string;
}

/**
 * The provider and environment an event about `secret` names: from its `keyrotor:provider` and
 * `keyrotor:environment` tags, else from `hint` (a managed secret's current value). Nothing else
 * is needed: an event names no base URL, so token secrets (which have none) qualify too. Where the
 * tag and the value disagree the tag wins: it is what the stack deployed, and the rotation itself
 * refuses and reports the disagreement.
 * @throws SecretStateError naming what is missing or unknown.
 */
export function eventContextOf(secret: EventSubject, hint?: EventContextHint): { provider: ProviderId; environment: Environment } {
  const provider = secret.tags[TAG.provider] ?? hint?.provider;
  const environment = secret.tags[TAG.environment] ?? hint?.environment;
  const problems: string[] = [];
  if (!PROVIDER_IDS.includes(provider as ProviderId)) {
    problems.push(`provider: ${provider === undefined ? `missing (no ${TAG.provider} tag and no value that names it)` : `"${provider}" is not a known provider`}`);
  }
  if (!ENVIRONMENTS.includes(environment as Environment)) {
    problems.push(`environment: ${environment === undefined ? `missing (no ${TAG.environment} tag and no value that names it)` : `"${environment}" must be production or sandbox`}`);
  }
  if (problems.length > 0) throw new SecretStateError(`no keyrotor event can name secret ${secret.name}: ${problems.join('; ')}`);
  return { provider: provider as ProviderId, environment: environment as Environment };
}

/** The fields a caller of {@link publishSecretEvent} gives; the rest come from the secret. */
export type SecretEventFields = Omit<EventDetail, 'version' | 'secret' | 'provider' | 'environment' | 'severity'> & { severity?: EventDetail['severity'] };

/**
 * Publishes an event about a managed secret, like {@link publishSecretEvent}, and says whether it
 * reached the bus: a caller that records "people were told" (the refresher's state tag) records
 * it only then, and tries again on its next run.
 */
export async function tryPublishSecretEvent(
  publisher: EventPublisher,
  logger: LoggerPort,
  secret: EventSubject,
  type: EventType,
  fields: SecretEventFields,
  hint?: EventContextHint,
): Promise<boolean> {
  try {
    const context = eventContextOf(secret, hint);
    await publisher.publish(
      buildEvent(type, { version: DETAIL_VERSION, secret: secret.name, provider: context.provider, environment: context.environment, severity: DEFAULT_SEVERITY[type], ...fields }),
    );
    return true;
  } catch (error) {
    logger.warn('could not publish a keyrotor event', { type, secret: secret.name, errorName: error instanceof Error ? error.name : 'unknown' });
    return false;
  }
}

/**
 * Publishes an event about a managed secret. Provider and environment come from its tags, or from
 * `hint` (its current value) where a tag is missing; an event must name both, so none is published
 * for a secret that names neither (see {@link eventContextOf}). A publishing failure is logged and
 * never replaces the outcome of the work it reports.
 */
export async function publishSecretEvent(
  publisher: EventPublisher,
  logger: LoggerPort,
  secret: EventSubject,
  type: EventType,
  fields: SecretEventFields,
  hint?: EventContextHint,
): Promise<void> {
  await tryPublishSecretEvent(publisher, logger, secret, type, fields, hint);
}
