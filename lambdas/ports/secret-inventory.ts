import type { SecretKind } from '../core/contracts';
import type { SecretMetadata } from './secret-store';

/**
 * A managed secret as a listing shows it: names, dates, stages and tags, nothing decrypted.
 * Everything the daily sweep decides by policy (warnings, overdue and stuck rotations) comes
 * from here; only its live checks read values.
 */
export interface InventoryEntry extends SecretMetadata {
  /** When the secret was created (the age of a key that was never rotated). */
  readonly createdDate?: Date;
}

/** One page of a listing, and where the next one starts. */
export interface InventoryPage {
  readonly secrets: readonly InventoryEntry[];
  /** Opaque; absent on the last page. */
  readonly nextCursor?: string;
}

/** One version of a secret, as ListSecretVersionIds reports it. */
export interface SecretVersion {
  readonly versionId: string;
  readonly stages: readonly string[];
  readonly createdDate?: Date;
}

/** What the daily sweep reads from the secret store (Secrets Manager in production; fakes in tests). */
export interface SecretInventory {
  /**
   * One page of the managed secrets of `kind` (the `keyrotor:kind` tag), without their values.
   * Deleted secrets and secrets whose tags do not carry the pair are left out.
   * @param cursor - a page's `nextCursor`; absent for the first page
   */
  listPage(kind: SecretKind, cursor?: string): Promise<InventoryPage>;
  /** Every version of a secret with its stages and creation date (only needed for a dangling AWSPENDING). */
  listVersions(secretId: string): Promise<SecretVersion[]>;
  /** The value of the version that holds `stage`; `undefined` when it has none. */
  readValue(secretId: string, stage: string): Promise<string | undefined>;
}
