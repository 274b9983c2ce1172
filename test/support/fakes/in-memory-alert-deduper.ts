import type { AlertDeduper, AlertKey } from '../../../lambdas/ports/alert-deduper';

/** The alert deduper in memory: claims never expire within a test. */
export class InMemoryAlertDeduper implements AlertDeduper {
  public readonly claims = new Set<string>();
  /** Makes the next calls fail, as an unreachable table would. */
  public failWith: Error | undefined;

  public static id(key: AlertKey): string {
    return JSON.stringify([key.secret, key.kind, key.rotation ?? '', key.errorName ?? '']);
  }

  public async firstTime(key: AlertKey): Promise<boolean> {
    if (this.failWith) throw this.failWith;
    const id = InMemoryAlertDeduper.id(key);
    if (this.claims.has(id)) return false;
    this.claims.add(id);
    return true;
  }

  public async forget(key: AlertKey): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.claims.delete(InMemoryAlertDeduper.id(key));
  }
}
