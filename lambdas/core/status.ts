import { BOOTSTRAP_SECRET_MARKER, ENVIRONMENTS, PROVIDER_IDS, STAGE, TAG, type Environment, type ProviderId } from './contracts';
import { fingerprintOf } from './fingerprint';
import { runWithConcurrency } from './pacing';
import { registerSecret } from './redaction';
import { credentialStrings, tryParseSecretValue } from './secret-value';
import type { Ledger, LedgerEvent, LedgerState } from '../ports/ledger';
import type { InventoryEntry, SecretInventory } from '../ports/secret-inventory';
import type { ProviderRegistry } from '../providers/registry';

/**
 * `keyrotor status`: one row per managed API-key secret, with what an operator needs to see at a
 * glance and — in `attention` — every reason a person should look at it now. Reads the listing
 * (tags, dates, stages), each secret's AWSCURRENT value (for the fingerprint and issue date; the
 * value itself never leaves this module) and its ledger history.
 */

/** A secret whose expiry or due rotation is this close needs attention. */
export const ATTENTION_WINDOW_DAYS = 14;

/** Ledger states that mean the last thing keyrotor did for a secret did not go through. */
const TROUBLE_STATES: ReadonlySet<LedgerState> = new Set(['failed', 'revocation-refused', 'manual-action-required', 'compromised']);

const DAY_MS = 86_400_000;

export interface StatusRow {
  readonly secret: string;
  readonly provider: ProviderId | 'unknown';
  readonly environment: Environment | 'unknown';
  /** `…XXXX#hhhhhhhh`; absent while the secret awaits its first key. */
  readonly fingerprint?: string;
  /** Whole days since the current key was issued (issuedAt, else the last rotation, else creation). */
  readonly ageDays?: number;
  /** ISO 8601. */
  readonly nextRotation?: string;
  /** The current key's declared expiry, ISO 8601. */
  readonly expiresAt?: string;
  /** The latest ledger state and when, e.g. `promoted` at `2026-11-20T10:00:00.000Z`. */
  readonly lastOutcome?: { readonly state: LedgerState; readonly at: string };
  /** A rotation waits for a person (a key to hand over, an old key to remove). */
  readonly manualActionPending: boolean;
  /** A rotation is open (AWSPENDING on a version that is not AWSCURRENT). */
  readonly rotationInProgress: boolean;
  /** Why a person should look now; empty when all is well. */
  readonly attention: readonly string[];
}

export interface StatusDeps {
  readonly inventory: SecretInventory;
  readonly ledger: Ledger;
  readonly providers: ProviderRegistry;
  readonly now: () => Date;
  /** Secrets read at once. @default 8 */
  readonly concurrency?: number;
}

/** Every managed API-key secret, sorted by name, with its status. */
export async function collectStatus(deps: StatusDeps): Promise<StatusRow[]> {
  const entries: InventoryEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.inventory.listPage('api-key', cursor);
    entries.push(...page.secrets);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  entries.sort((a, b) => a.name.localeCompare(b.name));

  return runWithConcurrency(entries, deps.concurrency ?? 8, (entry) => statusOf(entry, deps));
}

async function statusOf(entry: InventoryEntry, deps: StatusDeps): Promise<StatusRow> {
  const now = deps.now();
  const attention: string[] = [];
  const providerTag = entry.tags[TAG.provider];
  const environmentTag = entry.tags[TAG.environment];
  const provider = PROVIDER_IDS.includes(providerTag as ProviderId) ? (providerTag as ProviderId) : 'unknown';
  const environment = ENVIRONMENTS.includes(environmentTag as Environment) ? (environmentTag as Environment) : 'unknown';
  if (provider === 'unknown') attention.push(`tag ${TAG.provider} is missing or unknown`);
  if (environment === 'unknown') attention.push(`tag ${TAG.environment} is missing or unknown`);

  const raw = await deps.inventory.readValue(entry.arn, STAGE.current);
  const value = tryParseSecretValue(raw);
  let fingerprint: string | undefined;
  if (value) {
    const strings = credentialStrings(value);
    registerSecret(...strings);
    fingerprint = value.fingerprint ?? fingerprintOf(strings[0] ?? '');
  } else if (raw?.includes(BOOTSTRAP_SECRET_MARKER.keyrotor)) {
    attention.push('awaits its first key (npx keyrotor submit)');
  } else {
    attention.push('its AWSCURRENT value is not a managed credential');
  }

  const issued = value?.issuedAt ? new Date(value.issuedAt) : (entry.lastRotatedDate ?? entry.createdDate);
  const ageDays = issued ? Math.floor((now.getTime() - issued.getTime()) / DAY_MS) : undefined;
  const nextRotation = entry.nextRotationDate;
  if (nextRotation && nextRotation.getTime() < now.getTime()) attention.push(`rotation overdue since ${nextRotation.toISOString().slice(0, 10)}`);
  const expiresAt = entry.tags[TAG.expiresAt] ?? value?.expiresAt;
  if (expiresAt) {
    const daysLeft = (Date.parse(expiresAt) - now.getTime()) / DAY_MS;
    if (daysLeft < 0) attention.push(`key expired ${expiresAt.slice(0, 10)}`);
    else if (daysLeft <= ATTENTION_WINDOW_DAYS) attention.push(`key expires in ${Math.ceil(daysLeft)} days`);
  }
  if (entry.tags[TAG.compromised]) attention.push(`key ${entry.tags[TAG.compromised]} reported compromised; its replacement is not current yet`);

  const rotationInProgress = Object.values(entry.versionIdsToStages).some((stages) => stages.includes(STAGE.pending) && !stages.includes(STAGE.current));
  const history = await deps.ledger.history(entry.arn);
  const last: LedgerEvent | undefined = history.at(-1);
  const issuesByApi = provider !== 'unknown' && deps.providers.get(provider).capabilities.issueByApi;
  const manualActionPending = last?.state === 'manual-action-required' || (rotationInProgress && !issuesByApi);
  if (manualActionPending) attention.push(issuesByApi ? 'a rotation waits for a person (see the last alert)' : 'a rotation waits for a key to be handed over (npx keyrotor submit)');
  else if (last && TROUBLE_STATES.has(last.state)) attention.push(`last outcome: ${last.state}${last.detail ? ` (${last.detail})` : ''}`);

  return {
    secret: entry.name,
    provider,
    environment,
    ...(fingerprint ? { fingerprint } : {}),
    ...(ageDays === undefined ? {} : { ageDays }),
    ...(nextRotation ? { nextRotation: nextRotation.toISOString() } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(last ? { lastOutcome: { state: last.state, at: last.at } } : {}),
    manualActionPending,
    rotationInProgress,
    attention,
  };
}
