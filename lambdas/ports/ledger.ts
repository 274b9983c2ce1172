/**
 * The write-ahead ledger of rotations: the intent to create a provider key is recorded before
 * the key exists, so a retry never creates a second key and an orphan is always found; every
 * state change after it is appended, so `keyrotor history` can say who rotated what, when.
 */
export const LEDGER_STATES = [
  'intent',
  'orphan-revoked',
  'key-created',
  'stored-pending',
  'compensated',
  'manual-action-required',
  'tested',
  'promoted',
  'revocation-scheduled',
  'revocation-refused',
  'revoked',
  'failed',
  /** A key was reported compromised (by `keyrotor compromised` or a KeyCompromised event); `detail` holds the reason. */
  'compromised',
] as const;
export type LedgerState = (typeof LEDGER_STATES)[number];

/** One line of a secret's history. Never holds a secret: fingerprints and provider key ids only. */
export interface LedgerEvent {
  readonly secretArn: string;
  readonly token: string;
  readonly state: LedgerState;
  /** ISO 8601. */
  readonly at: string;
  readonly providerKeyId?: string;
  readonly fingerprint?: string;
  /** Who or what acted (a Lambda step, `keyrotor submit`, the revoker). */
  readonly actor?: string;
  readonly detail?: string;
}

/** The latest state of one rotation (one ClientRequestToken). */
export interface RotationRecord {
  readonly secretArn: string;
  readonly token: string;
  readonly state: LedgerState;
  /** How many times a key creation was claimed for this token. */
  readonly attempt: number;
  readonly keyName?: string;
  readonly providerKeyId?: string;
  readonly updatedAt: string;
}

export interface Ledger {
  /**
   * Claims the right to create a provider key for this rotation: records the intent (with the
   * key's name) conditionally, so two concurrent attempts cannot both proceed.
   * @returns the previous record when an earlier attempt claimed it (its key may be an orphan).
   * @throws ConcurrentRotationError when another attempt claimed it in between.
   */
  claimIssue(secretArn: string, token: string, keyName: string, at: string): Promise<{ attempt: number; previous?: RotationRecord }>;
  /** Appends an event and moves the rotation record to its state. */
  record(event: LedgerEvent): Promise<void>;
  /** The rotation record for a token, read consistently. */
  get(secretArn: string, token: string): Promise<RotationRecord | undefined>;
  /** Every event of a secret, oldest first. */
  history(secretArn: string): Promise<LedgerEvent[]>;
}
