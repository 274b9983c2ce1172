import { STAGE, TAG, type RotationStep } from './contracts';
import { ManualActionRequiredError, SecretStateError, StoreFailedError, ValidationError } from './errors';
import { fingerprintOf, fingerprintTagValue } from './fingerprint';
import { registerSecret } from './redaction';
import { resolveSecretContext } from './secret-context';
import { credentialStrings, parseSecretValue, tryParseSecretValue, type ManagedSecretValue, type SecretContext } from './secret-value';
import { assertFitsSecret, verifyWithPropagation, type PropagationPolicy } from './verification';
import type { LoggerPort } from '../ports/logger';
import type { Ledger, LedgerEvent } from '../ports/ledger';
import { recordAfterTheFact } from './ledger-record';
import type { Provider } from '../ports/provider';
import type { RevocationRequest, RevocationScheduler } from '../ports/revocation-scheduler';
import { NO_EVENTS, publishSecretEvent, type EventPublisher, type EventType } from './events';
import { redactText } from './redaction';
import type { ProviderRegistry } from '../providers/registry';
import { versionWithStage, type SecretMetadata, type SecretStore } from '../ports/secret-store';

/** Secrets Manager's rotation event. */
export interface RotationEvent {
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly Step: RotationStep;
}

export interface RotationDeps {
  readonly store: SecretStore;
  readonly providers: ProviderRegistry;
  readonly logger: LoggerPort;
  readonly propagation: PropagationPolicy;
  readonly now: () => Date;
  readonly ledger: Ledger;
  readonly revocations: RevocationScheduler;
  /** How long an old key stays alive after promotion (longer than any reader's cache). */
  readonly gracePeriodMs: number;
  /** Where keyrotor's events go. @default NO_EVENTS */
  readonly events?: EventPublisher;
}

/** What a step did, for logs and tests. */
export type StepOutcome =
  | 'already-current'
  | 'pending-exists'
  | 'issued'
  | 'nothing-to-set'
  | 'verified'
  | 'configuration-test'
  | 'promoted'
  | 'already-promoted';

function secretSlug(secretName: string): string {
  return secretName.replace(/^keyrotor\//, '').replace(/[^A-Za-z0-9-]/g, '-');
}

/** A name for a key a person creates: the secret and the day, so it can be found in the admin panel later. */
export function keyNameFor(secretName: string, now: Date): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  return `keyrotor-${secretSlug(secretName)}-${day}`;
}

/** A name for a key keyrotor creates by API: the secret and the rotation token, so an orphan of this rotation is found by name. */
export function apiKeyNameFor(secretName: string, token: string): string {
  return `keyrotor-${secretSlug(secretName)}-${token}`;
}

/** Appends to the ledger after the fact; a ledger outage must not fail a rotation whose key is already safe. */
function note(deps: RotationDeps, event: Omit<LedgerEvent, 'at' | 'actor'> & { actor?: string }): Promise<void> {
  return recordAfterTheFact(deps.ledger, deps.logger, { actor: 'rotation-lambda', ...event, at: deps.now().toISOString() });
}

/** The platform's id of the key a value holds. */
export function keyIdOf(provider: Provider, value: ManagedSecretValue): string | undefined {
  return provider.keyIdOf?.(value) ?? value.providerKeyId;
}

/**
 * Runs one step of Secrets Manager's rotation protocol with the guards of AWS's own rotation
 * template: rotation must be enabled, the token must be a version of the secret staged
 * AWSPENDING, and a token that is already AWSCURRENT means the work is done.
 * @throws SecretStateError when a guard fails; ManualActionRequiredError when a person must
 *   hand over a key; ProviderError / EnvironmentMismatchError when the pending key is refused.
 */
export async function runRotationStep(event: RotationEvent, deps: RotationDeps): Promise<StepOutcome> {
  const { SecretId: secretId, ClientRequestToken: token, Step: step } = event;
  if (step === 'setSecret') {
    // The platform issued the key (or a person did); there is nothing to set on its side, and a
    // step that changes nothing needs no guard: it makes no call at all.
    deps.logger.info('setSecret: nothing to set for a platform-issued key', { secret: secretId, clientRequestToken: token });
    return 'nothing-to-set';
  }
  const metadata = await deps.store.describe(secretId);
  if (!metadata.rotationEnabled) {
    throw new SecretStateError(`secret ${metadata.name} does not have rotation enabled; enable it (cdk deploy) before rotating`);
  }
  const stages = metadata.versionIdsToStages[token];
  if (stages === undefined) {
    throw new SecretStateError(`secret ${metadata.name} has no version ${token} to rotate to`);
  }
  if (stages.includes(STAGE.current)) {
    if (step === 'finishSecret') {
      try {
        const finished = await finishInterruptedPromotion(metadata, token, deps);
        if (finished) return finished;
      } catch (error) {
        await emitFailure(metadata, token, step, error, deps);
        throw error;
      }
    }
    deps.logger.info('version is already AWSCURRENT; nothing to do', { step, secret: metadata.name, clientRequestToken: token });
    return 'already-current';
  }
  if (!stages.includes(STAGE.pending)) {
    throw new SecretStateError(`version ${token} of secret ${metadata.name} is not staged AWSPENDING; start the rotation again`);
  }

  try {
    switch (step) {
      case 'createSecret':
        return await createSecret(metadata, token, deps);
      case 'testSecret':
        return await testSecret(metadata, token, deps);
      case 'finishSecret':
        return await finishSecret(metadata, token, deps);
    }
  } catch (error) {
    await emitFailure(metadata, token, step, error, deps);
    throw error;
  }
}

/** Publishes an event about this secret (see publishSecretEvent). */
function emit(
  deps: RotationDeps,
  metadata: SecretMetadata,
  type: EventType,
  fields: Parameters<typeof publishSecretEvent>[4],
): Promise<void> {
  return publishSecretEvent(deps.events ?? NO_EVENTS, deps.logger, metadata, type, fields);
}

async function emitFailure(metadata: SecretMetadata, token: string, step: RotationStep, error: unknown, deps: RotationDeps): Promise<void> {
  const message = error instanceof Error ? redactText(error.message) : 'unknown error';
  if (error instanceof ManualActionRequiredError) {
    await emit(deps, metadata, 'ManualActionRequired', { step, rotation: token, summary: `${metadata.name} needs a person to continue its rotation`, action: message });
    return;
  }
  await emit(deps, metadata, 'RotationFailed', {
    step,
    rotation: token,
    errorName: error instanceof Error ? error.name : 'Error',
    summary: `${step} of ${metadata.name} failed: ${message}`.slice(0, 1000),
    done:
      step === 'finishSecret'
        ? 'Secrets Manager retries the rotation; the retry finishes the promotion whether or not this attempt moved AWSCURRENT, so applications keep a working key either way.'
        : 'The current key is unchanged (AWSCURRENT was not moved). Secrets Manager retries the rotation.',
  });
}

/**
 * The AWSCURRENT value, read by the version id DescribeSecret just named: a version's value never
 * changes, so a store that remembers versions (VersionCachingStore) answers the later steps of
 * the same rotation from memory.
 */
function readCurrentRaw(metadata: SecretMetadata, deps: RotationDeps): Promise<string | undefined> {
  const versionId = versionWithStage(metadata, STAGE.current);
  return deps.store.getValue(metadata.arn, versionId === undefined ? { stage: STAGE.current } : { versionId, stage: STAGE.current });
}

async function readCurrent(metadata: SecretMetadata, deps: RotationDeps) {
  const raw = await readCurrentRaw(metadata, deps);
  const value = tryParseSecretValue(raw);
  if (value) registerSecret(...credentialStrings(value));
  return value;
}

async function createSecret(metadata: SecretMetadata, token: string, deps: RotationDeps): Promise<StepOutcome> {
  const pending = await deps.store.getValue(metadata.arn, { versionId: token, stage: STAGE.pending });
  if (pending !== undefined) {
    // Idempotent: a retried step, or a key a person submitted with `keyrotor submit`.
    const value = parseSecretValue(pending, `pending value of ${metadata.name}`);
    registerSecret(...credentialStrings(value));
    deps.logger.info('createSecret: pending version already holds a key', {
      secret: metadata.name,
      token,
      fingerprint: value.fingerprint ?? fingerprintOf(credentialStrings(value)[0] ?? ''),
    });
    return 'pending-exists';
  }

  const current = await readCurrent(metadata, deps);
  const context = resolveSecretContext(metadata, current);
  const provider = deps.providers.get(context.provider);
  if (!provider.capabilities.issueByApi || !provider.issueKey || !current) {
    await note(deps, { secretArn: metadata.arn, token, state: 'manual-action-required' });
    const why = current
      ? `${provider.displayName} keys can only be created by a person`
      : `it holds no working key yet, so keyrotor cannot authenticate to ${provider.displayName} to create one`;
    throw new ManualActionRequiredError(
      `${metadata.name} is due for rotation and ${why}. ` +
        provider.manual.issue({
          secretName: metadata.name,
          baseUrl: context.baseUrl,
          environment: context.environment,
          keyName: keyNameFor(metadata.name, deps.now()),
        }),
    );
  }
  return issueByApi(metadata, token, current, context, provider, deps);
}

/**
 * Creates the new key at the platform with the write-ahead protocol: claim the rotation in
 * the ledger (the intent, with the key's name) before the key exists; clean up the orphan of
 * an earlier attempt that died between create and store; store the new key as AWSPENDING
 * before anything else can fail; revoke it again if that store fails.
 */
async function issueByApi(
  metadata: SecretMetadata,
  token: string,
  current: ManagedSecretValue,
  context: SecretContext,
  provider: Provider,
  deps: RotationDeps,
): Promise<StepOutcome> {
  const issueKey = provider.issueKey as NonNullable<Provider['issueKey']>;
  const keyName = apiKeyNameFor(metadata.name, token);
  await emit(deps, metadata, 'RotationStarted', { step: 'createSecret', rotation: token, summary: `keyrotor is creating a new ${provider.displayName} key for ${metadata.name}` });
  const claim = await deps.ledger.claimIssue(metadata.arn, token, keyName, deps.now().toISOString());
  if (claim.previous) await revokeOrphans(metadata, token, keyName, current, context, provider, claim.previous.providerKeyId, deps);

  const issued = await issueKey.call(provider, { current, target: context, keyName });
  const strings = credentialStrings(issued.value);
  registerSecret(...strings);
  const fingerprint = fingerprintOf(strings[0] ?? '');
  const value = { ...issued.value, issuedAt: deps.now().toISOString(), fingerprint, providerKeyId: issued.providerKeyId ?? issued.value.providerKeyId };
  const serialized = JSON.stringify(value);
  try {
    await deps.store.putPendingValue(metadata.arn, token, serialized);
  } catch (storeError) {
    // A timeout or a lost response leaves it unknown whether the store happened: look before
    // revoking, or a key that is safely AWSPENDING would be revoked and every retry would then
    // find a dead pending key.
    const stored = await storedAfterAll(metadata, token, serialized, deps);
    if (stored === 'no') await compensate(metadata, token, current, context, provider, issued.providerKeyId, fingerprint, storeError, deps);
    if (stored === 'unknown') {
      // Neither revoke a key that may be stored nor keep going: the retry finds it AWSPENDING, or
      // finds the intent in the ledger and revokes the unstored key by its name.
      throw new StoreFailedError(
        `storing the new ${provider.displayName} key ${fingerprint} for ${metadata.name} as AWSPENDING may or may not have happened (${storeError instanceof Error ? storeError.name : 'unknown error'}); ` +
          'the current key is unchanged. Secrets Manager retries the rotation, which keeps the key if it was stored and revokes it if it was not.',
        { cause: storeError },
      );
    }
    deps.logger.warn('PutSecretValue failed but the new key is stored as AWSPENDING; going on', { secret: metadata.name, clientRequestToken: token, fingerprint, errorName: storeError instanceof Error ? storeError.name : 'unknown' });
  }
  await note(deps, { secretArn: metadata.arn, token, state: 'stored-pending', providerKeyId: issued.providerKeyId, fingerprint });
  deps.logger.info('createSecret: new key created at the platform and stored as AWSPENDING', {
    secret: metadata.name,
    token,
    fingerprint,
    providerKeyId: issued.providerKeyId,
    attempt: claim.attempt,
  });
  return 'issued';
}

/** An earlier attempt of this rotation may have created a key and died before storing it: revoke every key with this rotation's name. */
async function revokeOrphans(
  metadata: SecretMetadata,
  token: string,
  keyName: string,
  current: ManagedSecretValue,
  context: SecretContext,
  provider: Provider,
  knownId: string | undefined,
  deps: RotationDeps,
): Promise<void> {
  const currentId = keyIdOf(provider, current);
  const ids = new Set<string>(knownId ? [knownId] : []);
  if (provider.listKeys) {
    for (const key of await provider.listKeys({ authenticateWith: current, target: context })) {
      if (key.name === keyName) ids.add(key.providerKeyId);
    }
  } else if (ids.size === 0) {
    throw new ManualActionRequiredError(
      `an earlier attempt of rotation ${token} of ${metadata.name} may have created a key named "${keyName}" that keyrotor cannot find ` +
        `(${provider.displayName} cannot list keys by API). Check the platform for it and remove it, then retry the rotation.`,
    );
  }
  for (const id of ids) {
    if (id === currentId || !provider.revokeKey) continue;
    const outcome = await provider.revokeKey({ authenticateWith: current, providerKeyId: id, target: context });
    await note(deps, { secretArn: metadata.arn, token, state: 'orphan-revoked', providerKeyId: id, detail: outcome });
    deps.logger.warn('revoked an orphaned key from an earlier attempt', { secret: metadata.name, clientRequestToken: token, providerKeyId: id, outcome });
  }
}

/** Whether the pending version holds exactly `value` after a PutSecretValue that failed: `unknown` when even that cannot be read. */
async function storedAfterAll(metadata: SecretMetadata, token: string, value: string, deps: RotationDeps): Promise<'yes' | 'no' | 'unknown'> {
  try {
    return (await deps.store.getValue(metadata.arn, { versionId: token, stage: STAGE.pending })) === value ? 'yes' : 'no';
  } catch {
    return 'unknown';
  }
}

/** The store failed after the platform created a key: revoke that key, record it, and fail the step with the store's error. */
async function compensate(
  metadata: SecretMetadata,
  token: string,
  current: ManagedSecretValue,
  context: SecretContext,
  provider: Provider,
  providerKeyId: string | undefined,
  fingerprint: string,
  storeError: unknown,
  deps: RotationDeps,
): Promise<never> {
  const reason = storeError instanceof Error ? storeError.name : 'unknown error';
  if (providerKeyId !== undefined && provider.revokeKey) {
    try {
      await provider.revokeKey({ authenticateWith: current, providerKeyId, target: context });
      await note(deps, { secretArn: metadata.arn, token, state: 'compensated', providerKeyId, fingerprint, detail: reason });
    } catch (revokeError) {
      // The next attempt finds the intent and revokes the orphan by name.
      deps.logger.error('could not revoke the unstored key; the next attempt will', { secret: metadata.name, clientRequestToken: token, providerKeyId, errorName: revokeError instanceof Error ? revokeError.name : 'unknown' });
    }
  }
  throw new StoreFailedError(
    `the new ${provider.displayName} key ${fingerprint} for ${metadata.name} could not be stored as AWSPENDING (${reason}); ` +
      `it has been revoked again and the current key is unchanged. Secrets Manager will retry the rotation.`,
    { cause: storeError },
  );
}

async function testSecret(metadata: SecretMetadata, token: string, deps: RotationDeps): Promise<StepOutcome> {
  const raw = await deps.store.getValue(metadata.arn, { versionId: token, stage: STAGE.pending });
  if (raw === undefined) {
    throw new SecretStateError(`version ${token} of ${metadata.name} has no pending value to test; run createSecret first`);
  }
  const currentRaw = await readCurrentRaw(metadata, deps);
  if (raw === currentRaw) {
    // Secrets Manager's configuration test: when a schedule is created or changed without
    // rotating (RotateImmediatelyOnUpdate false, as keyrotor deploys it), the service runs
    // testSecret alone on a pending copy of the current value, then removes it. keyrotor never
    // stages a copy of the current key in a real rotation (submit refuses it), so there is no
    // new key to prove; calling the platform here would make a deploy depend on it.
    deps.logger.info('testSecret: configuration test on a copy of the current value; nothing to verify', { secret: metadata.name, clientRequestToken: token });
    return 'configuration-test';
  }
  const pending = parseSecretValue(raw, `pending value of ${metadata.name}`);
  registerSecret(...credentialStrings(pending));
  const current = tryParseSecretValue(currentRaw);
  if (current) registerSecret(...credentialStrings(current));
  const context: SecretContext = resolveSecretContext(metadata, current);
  const provider = deps.providers.get(context.provider);
  assertFitsSecret(provider, pending, context);
  const result = await verifyWithPropagation(provider, pending, context, deps.propagation, deps.logger);
  await note(deps, { secretArn: metadata.arn, token, state: 'tested', fingerprint: fingerprintOf(credentialStrings(pending)[0] ?? '') });
  deps.logger.info('testSecret: pending key verified', {
    secret: metadata.name,
    token,
    fingerprint: fingerprintOf(credentialStrings(pending)[0] ?? ''),
    checked: result.checked,
  });
  return 'verified';
}

async function finishSecret(metadata: SecretMetadata, token: string, deps: RotationDeps): Promise<StepOutcome> {
  const currentVersion = versionWithStage(metadata, STAGE.current);
  if (currentVersion === token) return 'already-promoted';
  const current = await readCurrent(metadata, deps);
  const pending = await readPromotedValue(metadata, { versionId: token, stage: STAGE.pending }, deps);
  // Scheduled before the promotion: should the promotion fail, the revoker finds the old key
  // still AWSCURRENT and refuses; scheduled after it, a failure here would lose the revocation.
  const oldKey = current && currentVersion !== undefined ? await planOldKey(metadata, token, currentVersion, current, pending, deps) : undefined;
  await deps.store.moveStage(metadata.arn, STAGE.current, token, currentVersion);
  await completePromotion(metadata, token, pending, currentVersion, oldKey, deps);
  return 'promoted';
}

/** A promotion's aftermath, planned before AWSCURRENT moves: what becomes of the key it replaces. */
interface OldKeyPlan {
  readonly fingerprint: string;
  readonly compromised: boolean;
  readonly revoke: () => Promise<void>;
  readonly manualAction?: string;
}

async function readPromotedValue(metadata: SecretMetadata, selector: { versionId: string; stage?: string }, deps: RotationDeps): Promise<ManagedSecretValue> {
  const raw = await deps.store.getValue(metadata.arn, selector);
  if (raw === undefined) {
    throw new ValidationError(`pending value of ${metadata.name}`, ['is missing; the rotation must be started again']);
  }
  const value = parseSecretValue(raw, `pending value of ${metadata.name}`);
  registerSecret(...credentialStrings(value));
  return value;
}

/**
 * What becomes of the key being replaced (held by `oldVersion`): a revocation scheduled after the
 * grace period, an immediate one for a key reported compromised (tag keyrotor:compromised), or a
 * person's removal where the platform cannot revoke by API. Scheduling is idempotent (named after
 * the rotation), so planning again on a retry schedules nothing twice.
 */
async function planOldKey(metadata: SecretMetadata, token: string, oldVersion: string, old: ManagedSecretValue, replacement: ManagedSecretValue, deps: RotationDeps): Promise<OldKeyPlan> {
  const context = resolveSecretContext(metadata, old);
  const provider = deps.providers.get(context.provider);
  const fingerprint = fingerprintOf(credentialStrings(old)[0] ?? '');
  const providerKeyId = keyIdOf(provider, old);
  const compromised = metadata.tags[TAG.compromised] === fingerprintTagValue(fingerprint);
  const request = { secretArn: metadata.arn, token, versionId: oldVersion, providerKeyId: providerKeyId ?? '', fingerprint };
  if (provider.capabilities.revokeByApi && provider.revokeKey && providerKeyId !== undefined && compromised) {
    return { fingerprint, compromised, revoke: () => revokeCompromisedKey(metadata, request, replacement, context, provider, deps) };
  }
  if (provider.capabilities.revokeByApi && provider.revokeKey && providerKeyId !== undefined) {
    const at = new Date(deps.now().getTime() + deps.gracePeriodMs);
    const outcome = await deps.revocations.schedule(request, at);
    return {
      fingerprint,
      compromised,
      revoke: async () => {
        await note(deps, { secretArn: metadata.arn, token, state: 'revocation-scheduled', providerKeyId, fingerprint, detail: `at ${at.toISOString()} (${outcome})` });
        deps.logger.info('old key revocation scheduled', { secret: metadata.name, fingerprint, at: at.toISOString(), outcome });
      },
    };
  }
  const removal = provider.manual.revoke({ secretName: metadata.name, baseUrl: context.baseUrl, fingerprint });
  const action = compromised ? `The old key ${fingerprint} was reported compromised: if it is still in the admin panel, remove it now. ${removal}` : removal;
  return {
    fingerprint,
    compromised,
    manualAction: action,
    revoke: async () => {
      deps.logger.warn('manual action required: remove the old key', { secret: metadata.name, fingerprint, compromised, action });
    },
  };
}

/** Everything after AWSCURRENT moved: the ledger, the old key's fate, the tags, the events. */
async function completePromotion(
  metadata: SecretMetadata,
  token: string,
  promoted: ManagedSecretValue,
  previousVersion: string | undefined,
  oldKey: OldKeyPlan | undefined,
  deps: RotationDeps,
): Promise<void> {
  const newFingerprint = fingerprintOf(credentialStrings(promoted)[0] ?? '');
  await note(deps, { secretArn: metadata.arn, token, state: 'promoted', fingerprint: newFingerprint, providerKeyId: promoted.providerKeyId });
  deps.logger.info('finishSecret: new key is AWSCURRENT', { secret: metadata.name, clientRequestToken: token, fingerprint: newFingerprint, previousVersion });
  await oldKey?.revoke();
  await updateKeyTags(metadata, promoted, deps);
  await emit(deps, metadata, 'RotationSucceeded', {
    step: 'finishSecret',
    rotation: token,
    fingerprint: newFingerprint,
    summary: `${metadata.name} now uses key ${newFingerprint}`,
    done: `Promoted to AWSCURRENT${oldKey ? `; the old key ${oldKey.fingerprint} is AWSPREVIOUS` : ''}.`,
  });
  if (oldKey?.manualAction) {
    await emit(deps, metadata, 'ManualActionRequired', {
      step: 'finishSecret',
      rotation: token,
      fingerprint: oldKey.fingerprint,
      ...(oldKey.compromised ? { severity: 'CRITICAL' as const } : {}),
      summary: `remove the old key ${oldKey.fingerprint} of ${metadata.name}${oldKey.compromised ? ' now: it was reported compromised' : ''}`,
      action: oldKey.manualAction,
    });
  }
}

/** Ledger states of a rotation that has not been promoted yet. */
const BEFORE_PROMOTION: ReadonlySet<string> = new Set(['intent', 'orphan-revoked', 'key-created', 'stored-pending', 'tested']);

/**
 * finishSecret found its own version already AWSCURRENT. Normally that is a retry after a
 * finished promotion; but when UpdateSecretVersionStage moved the label and its answer was lost,
 * the ledger still says the rotation was not promoted, and everything after the move — the
 * ledger, the old key's revocation, the tags, the events — has not happened. Finish it now, with
 * the key that became AWSPREVIOUS as the old one.
 */
async function finishInterruptedPromotion(metadata: SecretMetadata, token: string, deps: RotationDeps): Promise<StepOutcome | undefined> {
  const record = await deps.ledger.get(metadata.arn, token).catch((error: unknown) => {
    deps.logger.warn('could not read the ledger to see whether this promotion finished; assuming it did', { secret: metadata.name, clientRequestToken: token, errorName: error instanceof Error ? error.name : 'unknown' });
    return undefined;
  });
  if (!record || !BEFORE_PROMOTION.has(record.state)) return undefined;
  deps.logger.warn('AWSCURRENT moved but the promotion did not finish (its answer was lost); finishing it', { secret: metadata.name, clientRequestToken: token, ledgerState: record.state });
  const promoted = await readPromotedValue(metadata, { versionId: token }, deps);
  const previousVersion = versionWithStage(metadata, STAGE.previous);
  const previousRaw = previousVersion === undefined ? undefined : await deps.store.getValue(metadata.arn, { versionId: previousVersion });
  const previous = tryParseSecretValue(previousRaw);
  if (previous) registerSecret(...credentialStrings(previous));
  const oldKey = previous && previousVersion !== undefined ? await planOldKey(metadata, token, previousVersion, previous, promoted, deps) : undefined;
  await completePromotion(metadata, token, promoted, previousVersion, oldKey, deps);
  return 'promoted';
}

/**
 * The tags that describe the current key, so the sweep decides without decrypting: its declared
 * expiry (`keyrotor:expires-at`), and no `keyrotor:compromised` once a new key is current.
 * Best effort: the rotation is done, and Secrets Manager does not re-run a finished step.
 */
async function updateKeyTags(metadata: SecretMetadata, promoted: ManagedSecretValue, deps: RotationDeps): Promise<void> {
  const stale = [
    ...(metadata.tags[TAG.compromised] !== undefined ? [TAG.compromised] : []),
    ...(metadata.tags[TAG.expiresAt] !== undefined && promoted.expiresAt === undefined ? [TAG.expiresAt] : []),
  ];
  try {
    if (promoted.expiresAt !== undefined && metadata.tags[TAG.expiresAt] !== promoted.expiresAt) await deps.store.tag(metadata.arn, { [TAG.expiresAt]: promoted.expiresAt });
    await deps.store.untag(metadata.arn, stale);
  } catch (error) {
    deps.logger.warn('could not update the key tags after promotion', { secret: metadata.name, errorName: error instanceof Error ? error.name : 'unknown' });
  }
}

/**
 * Revokes a compromised key the moment its replacement is AWSCURRENT, authenticated with the
 * new key. Should the platform refuse or be unreachable, the revoker takes over at once (a
 * one-time schedule a minute out, retried by Scheduler and dead-lettered), and people are told.
 */
async function revokeCompromisedKey(
  metadata: SecretMetadata,
  request: RevocationRequest,
  replacement: ManagedSecretValue,
  context: SecretContext,
  provider: Provider,
  deps: RotationDeps,
): Promise<void> {
  const { token, providerKeyId, fingerprint } = request;
  try {
    const outcome = await (provider.revokeKey as NonNullable<Provider['revokeKey']>).call(provider, { authenticateWith: replacement, providerKeyId, target: context });
    await note(deps, { secretArn: metadata.arn, token, state: 'revoked', providerKeyId, fingerprint, detail: `compromise: revoked on promotion, no grace period (${outcome})` });
    deps.logger.warn('compromised key revoked on promotion', { secret: metadata.name, fingerprint, providerKeyId, outcome });
    await emit(deps, metadata, 'KeyRevoked', {
      step: 'finishSecret',
      rotation: token,
      fingerprint,
      severity: 'WARNING',
      summary: `the compromised key ${fingerprint} of ${metadata.name} was revoked the moment its replacement became AWSCURRENT (${outcome})`,
      done: `Revoked at ${provider.displayName} by API with no grace period; the ledger records it.`,
      action: `Review the ${provider.displayName} audit log for use of key ${fingerprint} before now.`,
    });
  } catch (error) {
    const at = new Date(deps.now().getTime() + 60_000);
    const outcome = await deps.revocations.schedule(request, at);
    await note(deps, { secretArn: metadata.arn, token, state: 'revocation-scheduled', providerKeyId, fingerprint, detail: `compromise: immediate revocation failed, revoker at ${at.toISOString()} (${outcome})` });
    await emit(deps, metadata, 'RotationFailed', {
      step: 'revoke',
      rotation: token,
      fingerprint,
      severity: 'CRITICAL',
      errorName: error instanceof Error ? error.name : 'Error',
      summary: `the compromised key ${fingerprint} of ${metadata.name} could not be revoked on promotion; it still works at ${provider.displayName}`,
      done: `Promoted the new key; handed the revocation to the revoker at ${at.toISOString()} (retried, then dead-lettered and alarmed).`,
      action: provider.manual.revoke({ secretName: metadata.name, baseUrl: context.baseUrl, fingerprint }),
    });
  }
}
