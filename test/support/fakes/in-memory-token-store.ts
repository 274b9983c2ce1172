import type { CurrentSecretValue, TokenSecret, TokenStore } from '../../../lambdas/ports/token-store';
import type { Alert, Notifier } from '../../../lambdas/ports/notifier';
import type { MetricsPort } from '../../../lambdas/ports/metrics';

/**
 * Token and source secrets in memory, with a write log (who wrote what when) and a log of every
 * value read. Each value has a version id, as in Secrets Manager. Like the real listing, only
 * secrets with a `keyrotor:kind` tag show their AWSCURRENT version to `listTokenSecrets`, and
 * `listedVersions` can make the listing lag behind (ListSecrets is eventually consistent).
 */
export class InMemoryTokenStore implements TokenStore {
  readonly #values = new Map<string, string>();
  readonly #versions = new Map<string, string>();
  readonly #tags = new Map<string, Record<string, string>>();
  #nextVersion = 1;
  public readonly writes: { secret: string; value: string; at: number }[] = [];
  /** Every secret whose value was read (GetSecretValue), in order. */
  public readonly reads: string[] = [];
  /** Every secret described (DescribeSecret), in order. */
  public readonly describes: string[] = [];
  /** Version ids the listing shows instead of the current ones: a listing that has not caught up yet. */
  public readonly listedVersions = new Map<string, string>();
  public now: () => number = Date.now;
  public failWrites = false;
  public failDescribes = false;

  public addSecret(name: string, value: string | undefined, tags: Record<string, string> = {}): void {
    if (value !== undefined) this.#setValue(name, value);
    this.#tags.set(name, { ...tags });
  }

  /** Puts a new AWSCURRENT value, as a rotation or a person's put-secret-value does (not logged as a refresher write); returns its version id. */
  public replaceValue(name: string, value: string): string {
    return this.#setValue(name, value);
  }

  public value(name: string): string | undefined {
    return this.#values.get(name);
  }

  /** The AWSCURRENT version id of a secret. */
  public versionId(name: string): string | undefined {
    return this.#versions.get(name);
  }

  public tags(name: string): Record<string, string> {
    return { ...this.#tags.get(name) };
  }

  public async listTokenSecrets(): Promise<TokenSecret[]> {
    const listedVersion = (name: string | undefined) =>
      name === undefined || this.#tags.get(name)?.['keyrotor:kind'] === undefined ? undefined : (this.listedVersions.get(name) ?? this.#versions.get(name));
    return [...this.#tags]
      .filter(([, tags]) => tags['keyrotor:kind'] === 'token')
      .map(([name, tags]) => {
        const listedSourceVersionId = listedVersion(tags['keyrotor:token-source']);
        return { arn: name, name, tags: { ...tags }, ...(listedSourceVersionId === undefined ? {} : { listedSourceVersionId }) };
      });
  }

  public async readCurrent(secretId: string): Promise<string | undefined> {
    return (await this.readCurrentVersion(secretId))?.value;
  }

  public async readCurrentVersion(secretId: string): Promise<CurrentSecretValue | undefined> {
    this.reads.push(secretId);
    const value = this.#values.get(secretId);
    return value === undefined ? undefined : { value, versionId: this.#versions.get(secretId) };
  }

  public async describeCurrentVersionId(secretId: string): Promise<string | undefined> {
    this.describes.push(secretId);
    if (this.failDescribes) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    return this.#versions.get(secretId);
  }

  public async writeCurrent(secretId: string, value: string): Promise<void> {
    if (this.failWrites) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    this.#setValue(secretId, value);
    this.writes.push({ secret: secretId, value, at: this.now() });
  }

  public async setTag(secretId: string, key: string, value: string): Promise<void> {
    this.#tags.set(secretId, { ...this.#tags.get(secretId), [key]: value });
  }

  #setValue(name: string, value: string): string {
    const versionId = `v${this.#nextVersion}`;
    this.#nextVersion += 1;
    this.#values.set(name, value);
    this.#versions.set(name, versionId);
    return versionId;
  }
}

export class CapturingNotifier implements Notifier {
  public readonly alerts: Alert[] = [];
  public async notify(alert: Alert): Promise<void> {
    this.alerts.push(alert);
  }
}

export class CapturingMetrics implements MetricsPort {
  public readonly counts = new Map<string, number>();
  public readonly records: { name: string; value: number; unit: string }[] = [];
  public count(name: string, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  public record(name: string, value: number, unit: string): void {
    this.records.push({ name, value, unit });
  }
}
