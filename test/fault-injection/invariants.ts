/**
 * The invariants every scenario must keep once its retries have settled (and, for the first, at
 * every moment). Each check returns what it found wrong, in words that name keys by id or
 * fingerprint, never by value.
 *
 * - `current-key-verifies`: after every external call and at the end, AWSCURRENT holds a key the
 *   platform accepts.
 * - `no-revoked-current`: no key keyrotor (or the person it asked) revoked is AWSCURRENT.
 * - `no-orphan`: every key live at the platform is AWSCURRENT, AWSPENDING, or AWSPREVIOUS with its
 *   revocation still scheduled (within the grace period).
 * - `no-lost-key`: every key created during the flow is stored in a version of the secret or revoked.
 * - `ledger-consistent`: the ledger states nothing false (a key it calls revoked is revoked, a
 *   rotation it calls promoted was, a stored key is stored, a scheduled revocation exists) and,
 *   once the flow reached its goal, misses no state the fault-free run recorded — except the one
 *   after-the-fact write that the fault itself dropped (a ledger outage must not fail a rotation,
 *   by design: lambdas/core/ledger-record.ts).
 * - `alerts-once`: see {@link checkAlerts}.
 * - `no-secret-in-output`: no secret value in any event, alert, log line, ledger record, error
 *   message an invoker saw, or dead-lettered payload.
 * - `recovers`: the flow reached its goal despite the one fault (the services' and people's
 *   retries are there for exactly this); otherwise it is a terminal failure.
 */
import { STAGE } from '../../lambdas/core/contracts';
import { TAKES_EFFECT } from './fault-layer';
import type { Observation } from './flows';
import type { DeliveredAlert } from './simulated-aws';

export const INVARIANTS = [
  'current-key-verifies',
  'no-revoked-current',
  'no-orphan',
  'no-lost-key',
  'ledger-consistent',
  'alerts-once',
  'no-secret-in-output',
  'recovers',
] as const;
export type InvariantName = (typeof INVARIANTS)[number];

export interface Violation {
  readonly invariant: InvariantName;
  readonly detail: string;
}

function currentVersion(obs: Observation) {
  return obs.versions.find((v) => v.stages.includes(STAGE.current));
}

function checkCurrentKey(obs: Observation): Violation[] {
  const violations: Violation[] = obs.world.monitorViolations.map((detail) => ({ invariant: 'current-key-verifies' as const, detail }));
  const current = currentVersion(obs);
  const key = obs.keys.find((k) => k.id === current?.keyId);
  if (!key) violations.push({ invariant: 'current-key-verifies', detail: `at the end AWSCURRENT holds ${current?.keyId ?? 'nothing'}, a key the platform does not know` });
  else if (!key.active) {
    violations.push({ invariant: 'current-key-verifies', detail: `at the end AWSCURRENT holds key ${key.id}, which the platform rejects` });
    violations.push({ invariant: 'no-revoked-current', detail: `key ${key.id} was revoked but is AWSCURRENT` });
  }
  return violations;
}

function checkKeys(obs: Observation): Violation[] {
  const violations: Violation[] = [];
  const pendingRevocations = new Set([...obs.world.scheduler.schedules.values()].map((s) => s.request.providerKeyId));
  for (const key of obs.keys) {
    const holders = obs.versions.filter((v) => v.keyId === key.id);
    const stages = holders.flatMap((v) => v.stages);
    if (key.active) {
      const inUse = stages.includes(STAGE.current) || stages.includes(STAGE.pending) || (stages.includes(STAGE.previous) && pendingRevocations.has(key.id));
      if (!inUse) {
        const where = holders.length === 0 ? 'no version of the secret holds it' : `its version is ${stages.length > 0 ? stages.join('+') : 'unlabelled'} and no revocation is pending`;
        violations.push({ invariant: 'no-orphan', detail: `key ${key.id} (${key.origin}) is live at the platform but ${where}` });
      }
    }
    if (key.origin !== 'initial' && holders.length === 0 && key.active) {
      violations.push({ invariant: 'no-lost-key', detail: `key ${key.id}, created during the flow, is live at the platform and stored in no version of the secret` });
    }
  }
  return violations;
}

function checkLedger(obs: Observation, baseline: Observation): Violation[] {
  const violations: Violation[] = [];
  const events = obs.world.ledger.events;
  const keys = new Map(obs.keys.map((k) => [k.id, k]));
  const versions = new Map(obs.versions.map((v) => [v.versionId, v]));
  const scheduledTokens = new Set(obs.world.schedulesCreated.map((s) => s.request.token));
  for (const event of events) {
    const key = event.providerKeyId === undefined ? undefined : keys.get(event.providerKeyId);
    if ((event.state === 'revoked' || event.state === 'orphan-revoked' || event.state === 'compensated') && key?.active) {
      violations.push({ invariant: 'ledger-consistent', detail: `the ledger says key ${key.id} is ${event.state} (token ${event.token}) but it is live at the platform` });
    }
    const version = versions.get(event.token);
    if (event.state === 'promoted' && !(version?.stages.includes(STAGE.current) || version?.stages.includes(STAGE.previous))) {
      violations.push({ invariant: 'ledger-consistent', detail: `the ledger says rotation ${event.token} was promoted but its version is ${version ? version.stages.join('+') || 'unlabelled' : 'missing'}` });
    }
    if (event.state === 'stored-pending' && version?.keyId === undefined) {
      violations.push({ invariant: 'ledger-consistent', detail: `the ledger says rotation ${event.token} stored a key but its version holds none` });
    }
    if (event.state === 'revocation-scheduled' && !scheduledTokens.has(event.token)) {
      violations.push({ invariant: 'ledger-consistent', detail: `the ledger says the revocation of rotation ${event.token} was scheduled but no schedule was created` });
    }
  }
  if (obs.goalMissing.length === 0) {
    const faulted = obs.world.faults.faulted;
    const dropped =
      faulted?.service === 'dynamodb' && faulted.fault !== undefined && !TAKES_EFFECT[faulted.fault] && faulted.op.startsWith('ledger.record:')
        ? faulted.op.slice('ledger.record:'.length)
        : undefined;
    const states = new Set(events.map((e) => e.state));
    const missing = [...new Set(baseline.world.ledger.events.map((e) => e.state))].filter((state) => !states.has(state) && state !== dropped);
    if (missing.length > 0) {
      violations.push({
        invariant: 'ledger-consistent',
        detail: `the rotation finished but the ledger never recorded ${missing.join(', ')} (it has: ${[...new Set(events.map((e) => e.state))].join(', ')})`,
      });
    }
  }
  return violations;
}

/** Alerts about something that went wrong (as opposed to notices of work done or asked for). */
function isFailureAlert(alert: DeliveredAlert): boolean {
  return alert.source !== 'keyrotor' || alert.type === 'RotationFailed' || alert.type === 'TokenRefreshFailed' || alert.type === 'ManualActionRequired';
}

function describeAlert(alert: DeliveredAlert): string {
  const from = alert.source === 'keyrotor' ? alert.type : `Secrets Manager ${alert.type}`;
  return `${from}(${[alert.step, alert.errorName].filter(Boolean).join(', ')})`;
}

/** Whether the faulted call is part of the alert path itself: the deduper's claim, or an SNS Publish that went out. */
function faultInAlertPath(obs: Observation): boolean {
  const faulted = obs.world.faults.faulted;
  if (faulted?.fault === undefined) return false;
  return (faulted.service === 'dynamodb' && faulted.op.startsWith('deduper.')) || (faulted.service === 'sns' && TAKES_EFFECT[faulted.fault]);
}

/**
 * What a person receives.
 *
 * Duplicates: one event delivery yields at most one alert; one failure (same step and error of
 * the same rotation) is alerted by at most one delivery, and Secrets Manager's own RotationFailed
 * never alerts a step keyrotor already alerted (the same failure seen twice). The one allowance:
 * when the single fault hit the alert path itself — the deduper's claim (any kind: a client that
 * gets no answer cannot know whether the alert went out before) or an SNS Publish that went out
 * but whose response was lost — the notifier cannot know, and its documented choice is to send
 * ("a duplicate beats a lost alert", lambdas/core/notify.ts); that fault may cost at most one
 * duplicate alert in the whole scenario. Any other fault may cost none.
 *
 * Completeness: a terminal failure (the flow did not reach its goal) yields exactly one failure
 * (RotationFailed, ManualActionRequired or Secrets Manager's RotationFailed) alert; a notice a
 * person must act on reaches them (B, D: "remove the old key" exactly once; D: "hand over a new
 * key" exactly once; C: the KeyCompromised CRITICAL alert at least once).
 */
function checkAlerts(obs: Observation): Violation[] {
  return alertFindings(obs).violations;
}

/** The duplicate alerts of a run (see {@link checkAlerts}) and the alert invariants it breaks. */
export function alertFindings(obs: Observation): { duplicates: string[]; allowed: number; violations: Violation[] } {
  const violations: Violation[] = [];
  const duplicates: string[] = [];
  const byDelivery = new Map<number, DeliveredAlert[]>();
  for (const alert of obs.world.alerts) byDelivery.set(alert.delivery, [...(byDelivery.get(alert.delivery) ?? []), alert]);
  const distinct: DeliveredAlert[] = [];
  for (const copies of byDelivery.values()) {
    const first = copies[0] as DeliveredAlert;
    distinct.push(first);
    for (let i = 1; i < copies.length; i += 1) duplicates.push(`one ${describeAlert(first)} event was alerted again`);
  }

  const noticeOf = (alert: DeliveredAlert) => obs.notices.find((notice) => notice.matches(alert));
  for (const notice of obs.notices) {
    const count = distinct.filter((alert) => noticeOf(alert) === notice).length;
    if (count === 0) violations.push({ invariant: 'alerts-once', detail: `${notice.name} never reached a person` });
    else if (notice.exactlyOnce) for (let i = 1; i < count; i += 1) duplicates.push(`${notice.name} reached a person again`);
  }

  const failures = distinct.filter((alert) => isFailureAlert(alert) && !noticeOf(alert));
  const identities = new Set<string>();
  const alertedSteps = new Set<string>();
  for (const alert of distinct.filter(isFailureAlert)) {
    if (alert.source !== 'keyrotor') {
      if (alert.step && alertedSteps.has(alert.step)) duplicates.push(`Secrets Manager's RotationFailed(${alert.step}) alerted a failure already alerted`);
    } else if (alert.step) alertedSteps.add(alert.step);
    if (noticeOf(alert)) continue;
    const identity = alert.source === 'keyrotor' ? `${alert.type}/${alert.step ?? '-'}/${alert.errorName ?? '-'}/${alert.rotation ?? '-'}` : `sm/${alert.step ?? '-'}`;
    if (identities.has(identity)) duplicates.push(`the same failure was alerted again: ${describeAlert(alert)}`);
    identities.add(identity);
  }
  const allowed = faultInAlertPath(obs) ? 1 : 0;
  if (duplicates.length > allowed) {
    violations.push({ invariant: 'alerts-once', detail: `${duplicates.length} duplicate alert(s) (allowed here: ${allowed}): ${duplicates.join('; ')}` });
  }

  if (obs.goalMissing.length > 0 && identities.size !== 1) {
    violations.push({
      invariant: 'alerts-once',
      detail: `a terminal failure must yield exactly one failure alert; got ${identities.size}${failures.length > 0 ? `: ${failures.map(describeAlert).join(', ')}` : ''}`,
    });
  }
  return { duplicates, allowed, violations };
}

function errorTexts(error: unknown, depth = 0): string[] {
  if (!(error instanceof Error) || depth > 3) return [];
  return [`${error.name}: ${error.message}`, ...errorTexts((error as { cause?: unknown }).cause, depth + 1)];
}

function checkSecrets(obs: Observation): Violation[] {
  const { world } = obs;
  const outputs: Record<string, string> = {
    events: JSON.stringify(world.busEvents),
    alerts: JSON.stringify(world.alerts.map((a) => a.alert)),
    logs: world.capture.text(),
    ledger: JSON.stringify(world.ledger.events),
    errors: world.seenErrors.flatMap((e) => errorTexts(e.error)).join('\n'),
    'dead letters': JSON.stringify(world.deadLetters),
    'alert claims': JSON.stringify([...world.deduper.claims]),
  };
  const violations: Violation[] = [];
  for (const secret of obs.secrets) {
    for (const [where, text] of Object.entries(outputs)) {
      if (text.includes(secret)) violations.push({ invariant: 'no-secret-in-output', detail: `the secret of a key appears in the ${where}` });
    }
  }
  return violations;
}

/** Every invariant, for one settled run; `baseline` is the same flow without a fault. */
export function checkInvariants(obs: Observation, baseline: Observation): Violation[] {
  return [
    ...checkCurrentKey(obs),
    ...checkKeys(obs),
    ...checkLedger(obs, baseline),
    ...checkAlerts(obs),
    ...checkSecrets(obs),
    ...obs.goalMissing.map((detail) => ({ invariant: 'recovers' as const, detail })),
  ];
}
