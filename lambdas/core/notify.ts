import * as z from 'zod/mini';
import { MANAGED_SECRET_PREFIX } from './contracts';
import { alertFor, alertForSecretsManagerEvent, parseSecretsManagerEvent, secretNameOf, type AlertOptions } from './alert-messages';
import { ROTATION_STEPS } from './contracts';
import { ValidationError } from './errors';
import { buildEvent, EVENT_SOURCE, type EventType, type KeyrotorEvent } from './events';
import { describeIssues } from './secret-value';
import type { AlertDeduper, AlertKey } from '../ports/alert-deduper';
import type { LoggerPort } from '../ports/logger';
import type { Alert, Notifier } from '../ports/notifier';

/** The source of Secrets Manager's own events on EventBridge. */
export const SECRETS_MANAGER_SOURCE = 'aws.secretsmanager';

/** What the notifier is built from. */
export interface NotifyDeps {
  readonly notifier: Notifier;
  readonly deduper: AlertDeduper;
  readonly logger: LoggerPort;
  /** How alerts are rendered (the runbook base URL). @default {} */
  readonly alertOptions?: AlertOptions;
  /** The clock, for events without a time. @default () => new Date() */
  readonly now?: () => Date;
}

/** What became of one event. */
export interface NotifyResult {
  /** `published`: an alert went out; `duplicate`: this failure was alerted already; `no-alert`: the event needs none. */
  readonly outcome: 'published' | 'duplicate' | 'no-alert';
  readonly source: string;
  /** keyrotor's event type, or Secrets Manager's `eventName`. */
  readonly type: string;
  readonly secret?: string;
  readonly severity?: Alert['severity'];
}

/** The part of an EventBridge event the notifier reads; everything else is ignored. */
const envelopeSchema = z.looseObject({
  source: z.string().check(z.minLength(1), z.maxLength(256)),
  'detail-type': z.string().check(z.minLength(1), z.maxLength(256)),
  /** Validated by what reads it: `buildEvent` for keyrotor's events; Secrets Manager's are read field by field. */
  detail: z.optional(z.unknown()),
  time: z.optional(z.string().check(z.maxLength(64))),
});
export type EventBridgeEnvelope = z.infer<typeof envelopeSchema>;

/**
 * keyrotor events whose alert is sent once per failure, not once per retry. `KeyExpiringSoon`
 * too: the daily sweep repeats a warning while its threshold stays crossed (step `warn-7d`,
 * the deadline in `rotation` or `expiresAt`), and people hear of each threshold once.
 */
export const DEDUPED_EVENT_TYPES: readonly EventType[] = ['RotationFailed', 'TokenRefreshFailed', 'ManualActionRequired', 'KeyExpiringSoon'];

/** The dedupe kind of a Secrets Manager event, e.g. `aws.secretsmanager/RotationFailed`. */
function secretsManagerKind(eventName: string): string {
  return `${SECRETS_MANAGER_SOURCE}/${eventName}`;
}

/** The UTC day of an ISO time, or of now when it is missing or unreadable. */
function dayOf(time: string | undefined, now: () => Date): string {
  const parsed = time === undefined ? Number.NaN : Date.parse(time);
  return new Date(Number.isNaN(parsed) ? now().getTime() : parsed).toISOString().slice(0, 10);
}

/**
 * Validates an EventBridge event's envelope.
 * @throws ValidationError naming each wrong field.
 */
export function parseEnvelope(event: unknown): EventBridgeEnvelope {
  const result = envelopeSchema.safeParse(event);
  if (!result.success) throw new ValidationError('EventBridge event', describeIssues(result.error.issues));
  return result.data;
}

interface Plan {
  readonly alert: Alert | undefined;
  readonly type: string;
  readonly secret: string | undefined;
  /** The claim that decides whether this alert goes out; none for events that always alert. */
  readonly key?: AlertKey;
  /**
   * Claims made once the alert went out, for the same failure seen through another source:
   * Secrets Manager reports a step failure keyrotor already explained (`RotationFailed` from
   * `aws.secretsmanager`), and that second report adds nothing.
   */
  readonly covers: readonly AlertKey[];
}

function planKeyrotorEvent(event: KeyrotorEvent, envelope: EventBridgeEnvelope, deps: NotifyDeps): Plan {
  const { detail } = event;
  const alert = alertFor(event, deps.alertOptions);
  const secret = secretNameOf(detail.secret);
  if (!alert || !DEDUPED_EVENT_TYPES.includes(event.type)) return { alert, type: event.type, secret, covers: [] };
  const day = dayOf(envelope.time, deps.now ?? (() => new Date()));
  // The step and the severity belong to the failure: a rotation that needs a new key and later
  // the removal of the old one asks twice, and an escalation must reach people.
  const key: AlertKey = {
    secret,
    kind: [event.type, detail.step ?? '-', detail.severity].join('/'),
    // A failure without a rotation token is identified by the token it could not renew, else by its day.
    rotation: detail.rotation ?? detail.expiresAt ?? day,
    ...(detail.errorName ? { errorName: detail.errorName } : {}),
  };
  const stepFailure = (event.type === 'RotationFailed' || event.type === 'ManualActionRequired') && (ROTATION_STEPS as readonly string[]).includes(detail.step ?? '');
  const covers: AlertKey[] = stepFailure ? [{ secret, kind: secretsManagerKind('RotationFailed'), rotation: day, ...(detail.step ? { errorName: detail.step } : {}) }] : [];
  return { alert, type: event.type, secret, key, covers };
}

function planSecretsManagerEvent(envelope: EventBridgeEnvelope, deps: NotifyDeps): Plan {
  const facts = parseSecretsManagerEvent(envelope);
  const alert = alertForSecretsManagerEvent(envelope, deps.alertOptions);
  const secret = facts.secret ? secretNameOf(facts.secret) : undefined;
  const type = facts.eventName ?? 'unknown';
  // The rule sees every secret of the account; rotations of secrets keyrotor does not manage are not its to report.
  if (secret && !secret.startsWith(MANAGED_SECRET_PREFIX)) return { alert: undefined, type, secret, covers: [] };
  if (!alert || !secret) return { alert, type, secret, covers: [] };
  // Secrets Manager's events carry no rotation token: one alert per secret, event, step and day.
  const key: AlertKey = {
    secret,
    kind: secretsManagerKind(type),
    rotation: dayOf(facts.time, deps.now ?? (() => new Date())),
    ...(facts.step ? { errorName: facts.step } : {}),
  };
  return { alert, type, secret, key, covers: [] };
}

/** Claims a key; when the deduper itself fails, the alert goes out anyway (a duplicate beats a lost alert). */
async function claim(key: AlertKey, deps: NotifyDeps): Promise<boolean> {
  try {
    return await deps.deduper.firstTime(key);
  } catch (error) {
    deps.logger.warn('could not check whether this alert was sent already; sending it', { kind: key.kind, secret: key.secret, errorName: errorName(error) });
    return true;
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Turns one EventBridge event into at most one alert: keyrotor's own events (source `keyrotor`)
 * through `buildEvent` and `alertFor`, Secrets Manager's service events (`aws.secretsmanager`)
 * through `alertForSecretsManagerEvent`. Failures are alerted once per failure: retries of the
 * same rotation step with the same error, and Secrets Manager's echo of a failure keyrotor
 * already reported, are suppressed. If publishing fails, the claim is released and the error
 * propagates, so the delivery's retry alerts.
 * @throws ValidationError for an event that is not a well-formed keyrotor or Secrets Manager event.
 */
export async function notify(event: unknown, deps: NotifyDeps): Promise<NotifyResult> {
  const envelope = parseEnvelope(event);
  let plan: Plan;
  if (envelope.source === EVENT_SOURCE) {
    plan = planKeyrotorEvent(buildEvent(envelope['detail-type'], envelope.detail), envelope, deps);
  } else if (envelope.source === SECRETS_MANAGER_SOURCE) {
    plan = planSecretsManagerEvent(envelope, deps);
  } else {
    throw new ValidationError('EventBridge event', [`source: must be "${EVENT_SOURCE}" or "${SECRETS_MANAGER_SOURCE}" (the notifier's rule routes only these)`]);
  }
  const base = { source: envelope.source, type: plan.type, ...(plan.secret ? { secret: plan.secret } : {}) };

  if (!plan.alert) {
    deps.logger.debug('event needs no alert', base);
    return { outcome: 'no-alert', ...base };
  }
  const result = { ...base, severity: plan.alert.severity };
  if (plan.key && !(await claim(plan.key, deps))) {
    deps.logger.info('alert already sent for this failure; not sending it again', { ...result, kind: plan.key.kind, rotation: plan.key.rotation });
    return { outcome: 'duplicate', ...result };
  }

  try {
    await deps.notifier.notify(plan.alert);
  } catch (error) {
    if (plan.key) {
      const key = plan.key;
      await deps.deduper.forget(key).catch((forgetError: unknown) =>
        deps.logger.error('could not release the alert claim; the retry of this event will not alert', { ...result, kind: key.kind, errorName: errorName(forgetError) }),
      );
    }
    throw error;
  }
  for (const cover of plan.covers) {
    // Best effort: without the claim, Secrets Manager's echo of this failure alerts too.
    await deps.deduper.firstTime(cover).catch((coverError: unknown) =>
      deps.logger.warn('could not record the alert for Secrets Manager\'s report of the same failure', { ...result, kind: cover.kind, errorName: errorName(coverError) }),
    );
  }
  deps.logger.info('alert sent', { ...result, subject: plan.alert.subject });
  return { outcome: 'published', ...result };
}
