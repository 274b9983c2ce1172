import { TAG, type SecretKind } from '../../../lambdas/core/contracts';
import type { InventoryPage, SecretInventory, SecretVersion } from '../../../lambdas/ports/secret-inventory';
import type { InMemorySecretStore } from './in-memory-secret-store';

/**
 * The daily sweep's view of an {@link InMemorySecretStore}, as ListSecrets and
 * ListSecretVersionIds show it: pages of `pageSize` (cursor = an offset, opaque to the sweep),
 * tags re-checked, values read by stage. Records what it was asked.
 */
export class InMemorySecretInventory implements SecretInventory {
  public readonly calls: { op: 'ListSecrets' | 'ListSecretVersionIds' | 'GetSecretValue'; secretId?: string; cursor?: string }[] = [];
  /** Fail the next call of an operation (a throttle, an outage). */
  public readonly failNext = new Map<'ListSecrets' | 'ListSecretVersionIds' | 'GetSecretValue', Error>();

  public constructor(
    private readonly store: InMemorySecretStore,
    public pageSize = 100,
  ) {}

  #record(op: 'ListSecrets' | 'ListSecretVersionIds' | 'GetSecretValue', details: { secretId?: string; cursor?: string }): void {
    this.calls.push({ op, ...details });
    const failure = this.failNext.get(op);
    if (failure) {
      this.failNext.delete(op);
      throw failure;
    }
  }

  public async listPage(kind: SecretKind, cursor?: string): Promise<InventoryPage> {
    this.#record('ListSecrets', cursor === undefined ? {} : { cursor });
    const all = this.store.listing().filter((secret) => secret.tags[TAG.kind] === kind);
    const start = cursor === undefined ? 0 : Number(cursor.replace(/^page-/, ''));
    const end = start + this.pageSize;
    return { secrets: all.slice(start, end), ...(end < all.length ? { nextCursor: `page-${end}` } : {}) };
  }

  public async listVersions(secretId: string): Promise<SecretVersion[]> {
    this.#record('ListSecretVersionIds', { secretId });
    return this.store.versionsOf(secretId);
  }

  public async readValue(secretId: string, stage: string): Promise<string | undefined> {
    this.#record('GetSecretValue', { secretId });
    return this.store.valueAt(secretId, stage);
  }
}
