import * as z from 'zod';
import { ENVIRONMENTS, PROVIDER_IDS } from './contracts';
import { ValidationError } from './errors';
import { redactText } from './redaction';
import { describeIssues } from './secret-value';
import { resolveSecretContext } from './secret-context';
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
  secret: z.string().min(1).max(2048),
  provider: z.enum(PROVIDER_IDS),
  environment: z.enum(ENVIRONMENTS),
  /** `…XXXX#hhhhhhhh`; absent where no key is involved. */
  fingerprint: z.string().max(64).optional(),
  /** The rotation step or operation, e.g. `createSecret`, `revoke`, `refresh`. */
  step: z.string().max(64).optional(),
  /** The rotation's ClientRequestToken. */
  rotation: z.string().max(128).optional(),
  /** Which attempt of the step this was (Secrets Manager retries steps). */
  attempt: z.number().int().min(1).max(1000).optional(),
  severity: z.enum(SEVERITY_LEVELS),
  /** One sentence: what happened. */
  summary: z.string().min(1).max(1000),
  /** What keyrotor already did about it. */
  done: z.string().max(1000).optional(),
  /** What a person must do next, when anything. */
  action: z.string().max(2000).optional(),
  /** The error's class, for failures. */
  errorName: z.string().max(128).optional(),
  /** When a key or token expires, ISO 8601 (KeyExpiringSoon, TokenRefreshFailed). */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
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
  if (problems.length > 0 || !result.success) throw new ValidationError(`keyrotor event ${String(type)}`, problems);
  return { type: type as EventType, detail: result.data };
}

/** Publishes keyrotor events (EventBridge PutEvents in Lambdas; a capture in tests). */
export interface EventPublisher {
  publish(event: KeyrotorEvent): Promise<void>;
}

export const NO_EVENTS: EventPublisher = { async publish() {} };

/**
 * Publishes an event about a managed secret. Provider and environment come from its tags (an
 * event must name them, so none is published for a secret without them). A publishing failure
 * is logged and never replaces the outcome of the work it reports.
 */
export async function publishSecretEvent(
  publisher: EventPublisher,
  logger: LoggerPort,
  metadata: SecretMetadata,
  type: EventType,
  fields: Omit<EventDetail, 'version' | 'secret' | 'provider' | 'environment' | 'severity'> & { severity?: EventDetail['severity'] },
): Promise<void> {
  try {
    const context = resolveSecretContext(metadata, undefined);
    await publisher.publish(
      buildEvent(type, { version: DETAIL_VERSION, secret: metadata.name, provider: context.provider, environment: context.environment, severity: DEFAULT_SEVERITY[type], ...fields }),
    );
  } catch (error) {
    logger.warn('could not publish a keyrotor event', { type, secret: metadata.name, errorName: error instanceof Error ? error.name : 'unknown' });
  }
}
