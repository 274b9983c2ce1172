import type { SecretMetadata, SecretStore } from '../ports/secret-store';

/**
 * A SecretStore that remembers the values of secret versions it has read or written, by version
 * id. A version's value never changes once it is set (Secrets Manager refuses a PutSecretValue
 * with an existing version id and different data), so a remembered value is always true; what can
 * change is which version holds which staging label, and that is never cached: every rotation
 * step still starts with DescribeSecret and checks the stages itself.
 *
 * Secrets Manager invokes the four steps of a rotation one after another, normally on the same
 * warm Lambda, so the current and pending values read or written in createSecret serve
 * testSecret and finishSecret without another GetSecretValue. Values stay in this process's
 * memory (where every step holds them anyway) for at most `ttlMs`, and at most `maxEntries`.
 */
export class VersionCachingStore implements SecretStore {
  readonly #values = new Map<string, { value: string; at: number }>();

  public constructor(
    private readonly inner: SecretStore,
    private readonly options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {},
  ) {}

  #key(secretArn: string, versionId: string): string {
    return `${secretArn}\u0000${versionId}`;
  }

  #remember(secretArn: string, versionId: string, value: string): void {
    const max = this.options.maxEntries ?? 64;
    if (this.#values.size >= max) {
      const oldest = this.#values.keys().next().value;
      if (oldest !== undefined) this.#values.delete(oldest);
    }
    this.#values.set(this.#key(secretArn, versionId), { value, at: this.#now() });
  }

  #now(): number {
    return (this.options.now ?? Date.now)();
  }

  public describe(secretId: string): Promise<SecretMetadata> {
    return this.inner.describe(secretId);
  }

  /**
   * By version id: from memory when this process has seen the version (the caller has checked its
   * stage with DescribeSecret). By stage alone: always from the service.
   */
  public async getValue(secretId: string, selector: { versionId?: string; stage?: string }): Promise<string | undefined> {
    if (selector.versionId === undefined) return this.inner.getValue(secretId, selector);
    const key = this.#key(secretId, selector.versionId);
    const hit = this.#values.get(key);
    if (hit && this.#now() - hit.at <= (this.options.ttlMs ?? 15 * 60_000)) return hit.value;
    this.#values.delete(key);
    const value = await this.inner.getValue(secretId, selector);
    if (value !== undefined) this.#remember(secretId, selector.versionId, value);
    return value;
  }

  public async putPendingValue(secretId: string, versionId: string, value: string): Promise<void> {
    await this.inner.putPendingValue(secretId, versionId, value);
    this.#remember(secretId, versionId, value);
  }

  public moveStage(secretId: string, stage: string, toVersionId: string, fromVersionId?: string): Promise<void> {
    return this.inner.moveStage(secretId, stage, toVersionId, fromVersionId);
  }

  public removeStage(secretId: string, stage: string, fromVersionId: string): Promise<void> {
    return this.inner.removeStage(secretId, stage, fromVersionId);
  }

  public tag(secretId: string, tags: Readonly<Record<string, string>>): Promise<void> {
    return this.inner.tag(secretId, tags);
  }

  public untag(secretId: string, keys: readonly string[]): Promise<void> {
    return this.inner.untag(secretId, keys);
  }

  public startRotation(secretId: string, clientRequestToken: string): Promise<void> {
    return this.inner.startRotation(secretId, clientRequestToken);
  }
}
