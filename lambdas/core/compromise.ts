import * as z from 'zod/mini';
import { BOOTSTRAP_SECRET_MARKER, STAGE, TAG } from './contracts';
import { CompromiseResponseError, SecretStateError, ValidationError } from './errors';
import { NO_EVENTS, publishSecretEvent, tryPublishSecretEvent, type EventPublisher } from './events';
import { fingerprintOf, fingerprintTagValue } from './fingerprint';
import { recordAfterTheFact } from './ledger-record';
import { redactText, registerSecret } from './redaction';
import { keyIdOf, keyNameFor } from './rotation';
import { resolveSecretContext } from './secret-context';
import { credentialStrings, describeIssues, tryParseSecretValue, type ManagedSecretValue, type SecretContext } from './secret-value';
import type { Ledger, LedgerEvent } from '../ports/ledger';
import type { LoggerPort } from '../ports/logger';
import type { Provider } from '../ports/provider';
import { versionWithStage, type SecretMetadata, type SecretStore } from '../ports/secret-store';
import type { ProviderRegistry } from '../providers/registry';

/**
 * The compromise response (DESIGN §3): a key someone reports as leaked is taken out of service
 * as fast as the platform allows, and people are told exactly what is left for them.
 *
 * - Platforms whose keys keyrotor creates by API (Imburse, Boss Insights): a rotation starts at
 *   once, and the secret is tagged `keyrotor:compromised` with the key's fingerprint, so the
 *   rotation's finishSecret revokes the compromised key the moment its replacement is
 *   AWSCURRENT — no grace period. The key is not revoked before the replacement exists because
 *   these platforms' management APIs authenticate with that very key: revoking it first would
 *   leave keyrotor unable to make a new one, and every application without a key.
 * - `revokeNow` (or a platform that revokes by API but cannot issue): the key is revoked while it
 *   is still AWSCURRENT. This is the one place keyrotor revokes an AWSCURRENT key, and only on
 *   this explicit request: applications fail until a new key is handed over.
 * - Platforms where a person creates and removes keys (Thought Industries, Thinkific, Thrive):
 *   the CRITICAL alert says to remove the key now and hand over a new one; the tag makes the
 *   rotation that promotes the new key repeat that, and the sweep confirms the old key answers 401.
 *
 * Every step is idempotent, so a redelivered report (EventBridge retries, a second
 * `keyrotor compromised`) repeats nothing harmful: the tag is the same, a rotation in progress is
 * re-driven rather than doubled, and a revocation of a key already gone answers `already-revoked`.
 */

/** What someone reported. */
export interface CompromiseReport {
  readonly secretId: string;
  /** Why the key is believed compromised (free text; redacted before it is stored or published). */
  readonly reason?: string;
  /** Who reported it: `keyrotor compromised`, or the source of a KeyCompromised event. */
  readonly reportedBy: string;
  /** Revoke the AWSCURRENT key at once, before a replacement exists (applications fail until one is handed over). */
  readonly revokeNow?: boolean;
  /**
   * The fingerprint of the leaked key, as keyrotor prints it (`…XXXX#hhhhhhhh`). Names an
   * AWSPREVIOUS key still in its grace period; makes a redelivered report of an AWSCURRENT key
   * that was replaced since harmless (it matches no key, and nothing is done twice).
   * @default the AWSCURRENT key
   */
  readonly fingerprint?: string;
  /**
   * The report's own id (an EventBridge event's `id`). A redelivered or retried report with the
   * same id acts on the key the first delivery found, not on its replacement.
   */
  readonly reportId?: string;
}

export interface CompromiseDeps {
  readonly store: SecretStore;
  readonly providers: ProviderRegistry;
  readonly ledger: Ledger;
  readonly logger: LoggerPort;
  readonly now: () => Date;
  /** A new rotation token (ClientRequestToken), e.g. `randomUUID`. */
  readonly newToken: () => string;
  /** @default NO_EVENTS */
  readonly events?: EventPublisher;
}

/** What the response did. */
export interface CompromiseOutcome {
  readonly secretName: string;
  readonly fingerprint: string;
  /** Which key was reported. */
  readonly stage: 'AWSCURRENT' | 'AWSPREVIOUS';
  /**
   * What becomes of the compromised key: `revoked-now` (revoked by API while AWSCURRENT),
   * `revoked-on-promotion` (by API, the moment the rotation that replaces it finishes),
   * `person-must-remove` (the platform cannot revoke by API).
   */
  readonly revocation: 'revoked-now' | 'already-revoked' | 'revoked-on-promotion' | 'person-must-remove';
  /** The rotation that replaces the key, when one was started or re-driven; otherwise a person hands over a key. */
  readonly rotation?: string;
  /** What keyrotor did, one sentence per action. */
  readonly done: string;
  /** What a person must still do. */
  readonly action: string;
}

/** The `detail` of a KeyCompromised event put on the bus by a person or a security tool (the response's input). */
export const compromiseReportSchema = z.object({
  /** The secret's name (`keyrotor/…`) or ARN. */
  secret: z.string().check(z.minLength(1), z.maxLength(2048)),
  reason: z.optional(z.string().check(z.maxLength(1000))),
  /** Revoke the AWSCURRENT key at once, before a replacement exists. @default false */
  revokeNow: z.optional(z.boolean()),
  /** Who is reporting (a person, a tool); defaults to the event's source. */
  reportedBy: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  /** The leaked key's fingerprint (see CompromiseReport.fingerprint). */
  fingerprint: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
});

/**
 * Reads a KeyCompromised report from an EventBridge event (`detail-type` KeyCompromised, any
 * source but keyrotor's own).
 * @throws ValidationError naming each wrong field.
 */
export function parseCompromiseEvent(event: unknown): CompromiseReport {
  const envelope = z
    .looseObject({
      id: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
      source: z.string().check(z.minLength(1)),
      'detail-type': z.literal('KeyCompromised'),
      detail: compromiseReportSchema,
    })
    .safeParse(event);
  if (!envelope.success) throw new ValidationError('KeyCompromised event', describeIssues(envelope.error.issues));
  const { id, source, detail } = envelope.data;
  return {
    ...(id === undefined ? {} : { reportId: id }),
    secretId: detail.secret,
    reportedBy: detail.reportedBy ?? source,
    ...(detail.reason === undefined ? {} : { reason: detail.reason }),
    ...(detail.revokeNow === undefined ? {} : { revokeNow: detail.revokeNow }),
    ...(detail.fingerprint === undefined ? {} : { fingerprint: detail.fingerprint }),
  };
}

/** The key a report is about: the AWSCURRENT one unless the report names another by fingerprint. */
interface ReportedKey {
  readonly value: ManagedSecretValue;
  readonly stage: typeof STAGE.current | typeof STAGE.previous;
  readonly fingerprint: string;
}

async function findReportedKey(metadata: SecretMetadata, report: CompromiseReport, deps: CompromiseDeps): Promise<{ current: ManagedSecretValue; reported: ReportedKey }> {
  const raw = await deps.store.getValue(metadata.arn, { stage: STAGE.current });
  const current = tryParseSecretValue(raw);
  if (!current) {
    const bootstrap = raw !== undefined && raw.includes(BOOTSTRAP_SECRET_MARKER.keyrotor);
    throw new SecretStateError(
      `${metadata.name} holds no ${bootstrap ? 'key yet (it awaits its first one)' : 'readable managed key'}, so keyrotor has nothing to revoke. ` +
        "If a key of this platform leaked, remove it in the platform's admin panel now.",
    );
  }
  registerSecret(...credentialStrings(current));
  const currentFingerprint = fingerprintOf(credentialStrings(current)[0] ?? '');
  if (report.fingerprint === undefined || report.fingerprint === currentFingerprint) {
    return { current, reported: { value: current, stage: STAGE.current, fingerprint: currentFingerprint } };
  }
  const previous = versionWithStage(metadata, STAGE.previous) === undefined ? undefined : tryParseSecretValue(await deps.store.getValue(metadata.arn, { stage: STAGE.previous }));
  if (previous) registerSecret(...credentialStrings(previous));
  const previousFingerprint = previous ? fingerprintOf(credentialStrings(previous)[0] ?? '') : undefined;
  if (previous && report.fingerprint === previousFingerprint) {
    return { current, reported: { value: previous, stage: STAGE.previous, fingerprint: previousFingerprint } };
  }
  throw new SecretStateError(
    `${metadata.name} has no key ${report.fingerprint}: its AWSCURRENT key is ${currentFingerprint}` +
      `${previousFingerprint ? ` and its AWSPREVIOUS key ${previousFingerprint}` : ''}. The reported key may have been replaced and revoked already ` +
      `(npx keyrotor history ${metadata.name}); if it still works at the platform, remove it in the admin panel.`,
  );
}

/**
 * Responds to a compromised key (see the module comment): the AWSCURRENT key, or — when the
 * report names its fingerprint — the AWSPREVIOUS key still inside its grace period, which is
 * revoked at once with no rotation needed.
 * @throws SecretStateError when the secret holds no key or no key with the reported fingerprint;
 *   CompromiseResponseError when the tag, the revocation or the rotation could not be done
 *   (after the CRITICAL event says what is left for a person).
 */
export async function respondToCompromise(report: CompromiseReport, deps: CompromiseDeps): Promise<CompromiseOutcome> {
  const metadata = await deps.store.describe(report.secretId);
  const { current, reported } = await findReportedKey(metadata, await pinnedToFirstDelivery(metadata, report, deps), deps);
  const { fingerprint } = reported;
  const isCurrent = reported.stage === STAGE.current;
  const context = resolveSecretContext(metadata, current);
  const provider = deps.providers.get(context.provider);
  const providerKeyId = keyIdOf(provider, reported.value);
  const reason = report.reason === undefined ? undefined : redactText(report.reason).slice(0, 500);
  const pendingVersion = Object.entries(metadata.versionIdsToStages).find(([, stages]) => stages.includes(STAGE.pending) && !stages.includes(STAGE.current))?.[0];
  const token = pendingVersion ?? deps.newToken();
  const log = { secret: metadata.name, fingerprint, stage: reported.stage, clientRequestToken: token, reportedBy: report.reportedBy };
  deps.logger.warn('compromise reported; responding', log);

  const note = (event: Omit<LedgerEvent, 'secretArn' | 'token' | 'at' | 'actor'>): Promise<void> =>
    recordAfterTheFact(deps.ledger, deps.logger, { secretArn: metadata.arn, token, at: deps.now().toISOString(), actor: `compromise (${report.reportedBy})`, ...event });
  await note({ state: 'compromised', fingerprint, ...(providerKeyId ? { providerKeyId } : {}), detail: `${reported.stage} key reported by ${report.reportedBy}${reason ? `: ${reason}` : ''}${report.reportId ? ` [report ${report.reportId}]` : ''}` });

  const canRevoke = provider.capabilities.revokeByApi && provider.revokeKey !== undefined && providerKeyId !== undefined;
  const canIssue = provider.capabilities.issueByApi && provider.issueKey !== undefined;
  // An AWSPREVIOUS key is revoked at once (nothing reads it); an AWSCURRENT one only when asked, or when no new key can be made by API.
  const revokeNow = canRevoke && (!isCurrent || report.revokeNow === true || !canIssue);
  const done: string[] = [];
  const failures: { what: 'tag' | 'revoke' | 'rotation' | 'alert'; text: string }[] = [];

  if (isCurrent) {
    // The tag comes first: it makes the rotation that replaces the key revoke it at once, whoever finishes that rotation.
    try {
      await deps.store.tag(metadata.arn, { [TAG.compromised]: fingerprintTagValue(fingerprint) });
      done.push(`Marked ${metadata.name} as compromised (tag ${TAG.compromised} for key ${fingerprint}).`);
    } catch (error) {
      failures.push({ what: 'tag', text: `could not tag the secret (${errorName(error)})` });
    }
  }

  let revocation: CompromiseOutcome['revocation'] = canRevoke ? 'revoked-on-promotion' : 'person-must-remove';
  if (revokeNow && provider.revokeKey && providerKeyId !== undefined) {
    try {
      // For an AWSCURRENT key this is the one revocation of a current key keyrotor ever makes, on an explicit report.
      const outcome = await provider.revokeKey({ authenticateWith: current, providerKeyId, target: context });
      revocation = outcome === 'revoked' ? 'revoked-now' : 'already-revoked';
      await note({ state: 'revoked', fingerprint, providerKeyId, detail: `compromise: revoked while ${reported.stage} (${outcome})` });
      done.push(`Revoked the compromised key ${fingerprint} at ${provider.displayName} by API at once, while it was ${reported.stage} (${outcome}).`);
    } catch (error) {
      failures.push({ what: 'revoke', text: `could not revoke the key at ${provider.displayName} (${errorName(error)})` });
    }
  }

  let rotation: string | undefined;
  if (isCurrent && canIssue && !revokeNow) {
    try {
      await deps.store.startRotation(metadata.arn, token);
      rotation = token;
      done.push(
        pendingVersion
          ? `Re-drove the rotation already in progress (${token}); the compromised key is revoked the moment its replacement is AWSCURRENT.`
          : `Started rotation ${token}: keyrotor creates a new ${provider.displayName} key by API and revokes the compromised one the moment the new key is AWSCURRENT (no grace period).`,
      );
    } catch (error) {
      failures.push({ what: 'rotation', text: `could not start the rotation (${errorName(error)})` });
    }
  }

  const action = nextSteps({ metadata, context, provider, fingerprint, isCurrent, revocation, rotation, failed: new Set(failures.map((f) => f.what)), now: deps.now() });
  const doneText = [...done, ...failures.map((f) => `Failed: ${f.text}.`)].join(' ') || 'Nothing could be done automatically.';

  // The CRITICAL alert is part of the response: if the bus does not take it, the response fails
  // (and is retried, pinned to this key by its report id) rather than end in silence.
  const alerted = await tryPublishSecretEvent(deps.events ?? NO_EVENTS, deps.logger, metadata, 'KeyCompromised', {
    step: 'compromise-response',
    ...(rotation ? { rotation } : {}),
    fingerprint,
    summary: `${reported.stage} key ${fingerprint} of ${metadata.name} was reported compromised by ${report.reportedBy}${reason ? `: ${reason}` : ''}`.slice(0, 1000),
    done: doneText.slice(0, 1000),
    action: action.slice(0, 2000),
    ...(failures.length > 0 ? { errorName: 'CompromiseResponseError' } : {}),
  });
  if (!alerted) failures.push({ what: 'alert', text: 'could not put the CRITICAL KeyCompromised event on the bus, so no alert went out; tell the security team directly' });
  if (revocation === 'revoked-now' || revocation === 'already-revoked') {
    await publishSecretEvent(deps.events ?? NO_EVENTS, deps.logger, metadata, 'KeyRevoked', {
      step: 'compromise-response',
      fingerprint,
      severity: isCurrent ? 'CRITICAL' : 'WARNING',
      summary: isCurrent
        ? `the compromised key ${fingerprint} of ${metadata.name} was revoked while AWSCURRENT; applications fail until a new key is handed over`
        : `the compromised previous key ${fingerprint} of ${metadata.name} was revoked at once, before its grace period ended`,
      done: `Revoked at ${provider.displayName} by API (${revocation}).`,
      ...(isCurrent ? { action: action.slice(0, 2000) } : {}),
    });
  }
  if (failures.length > 0) {
    deps.logger.error('compromise response incomplete', { ...log, failures: failures.map((f) => f.text) });
    throw new CompromiseResponseError(`the compromise response for ${metadata.name} is incomplete: ${failures.map((f) => f.text).join('; ')}. Do by hand:\n${action}`);
  }
  deps.logger.warn('compromise response done', { ...log, revocation, rotation });
  return { secretName: metadata.name, fingerprint, stage: reported.stage, revocation, ...(rotation ? { rotation } : {}), done: doneText, action };
}

/**
 * A report seen before (same report id, e.g. an EventBridge redelivery or a Lambda retry after a
 * failure) is about the key the first delivery found, which the response may have replaced since:
 * pin it by that key's fingerprint, from the ledger. Without the ledger the report stands as is.
 */
async function pinnedToFirstDelivery(metadata: SecretMetadata, report: CompromiseReport, deps: CompromiseDeps): Promise<CompromiseReport> {
  if (report.reportId === undefined || report.fingerprint !== undefined) return report;
  try {
    const marker = `[report ${report.reportId}]`;
    const first = (await deps.ledger.history(metadata.arn)).find((event) => event.state === 'compromised' && event.detail?.endsWith(marker) === true);
    return first?.fingerprint ? { ...report, fingerprint: first.fingerprint } : report;
  } catch (error) {
    deps.logger.warn('could not read the ledger for an earlier delivery of this report', { secret: metadata.name, errorName: errorName(error) });
    return report;
  }
}

/** What a person must still do, numbered. */
function nextSteps(facts: {
  metadata: SecretMetadata;
  context: SecretContext;
  provider: Provider;
  fingerprint: string;
  isCurrent: boolean;
  revocation: CompromiseOutcome['revocation'];
  rotation: string | undefined;
  failed: ReadonlySet<'tag' | 'revoke' | 'rotation' | 'alert'>;
  now: Date;
}): string {
  const { metadata, context, provider, fingerprint, isCurrent, revocation, rotation, failed } = facts;
  const name = metadata.name;
  const newKey = provider.manual.issue({ secretName: name, baseUrl: context.baseUrl, environment: context.environment, keyName: keyNameFor(name, facts.now) });
  const removeKey = provider.manual.revoke({ secretName: name, baseUrl: context.baseUrl, fingerprint });
  const revokedNow = revocation === 'revoked-now' || revocation === 'already-revoked';
  const actions: string[] = [];
  if (revocation === 'person-must-remove' || failed.has('revoke')) actions.push(`Remove the compromised key now: ${removeKey}`);
  if (isCurrent && rotation !== undefined) actions.push(`Follow the rotation (npx keyrotor history ${name}); once it finishes, confirm the new key works: npx keyrotor verify ${name}`);
  else if (isCurrent && failed.has('rotation')) actions.push(`Retry the rotation now: aws secretsmanager rotate-secret --secret-id ${name} (or npx keyrotor compromised ${name} again)`);
  else if (isCurrent) actions.push(`Create a new key and hand it over (applications ${revokedNow ? 'are failing until you do' : 'fail from the moment the old key is removed until you do'}): ${newKey}`);
  if (failed.has('tag')) actions.push(`Once a new key is AWSCURRENT, make sure ${fingerprint} is revoked: keyrotor could not mark it for revocation on promotion.`);
  actions.push(`Review the ${provider.displayName} audit log for use of key ${fingerprint}, and tell your security team.`);
  return actions.map((a, i) => `${i + 1}. ${a}`).join('\n');
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
