import type { TokenSecret, TokenStore } from '../../../lambdas/ports/token-store';
import type { Alert, Notifier } from '../../../lambdas/ports/notifier';
import type { MetricsPort } from '../../../lambdas/ports/metrics';

/** Token and source secrets in memory, with a write log (who wrote what when). */
export class InMemoryTokenStore implements TokenStore {
  readonly #values = new Map<string, string>();
  readonly #tags = new Map<string, Record<string, string>>();
  public readonly writes: { secret: string; value: string; at: number }[] = [];
  public now: () => number = Date.now;
  public failWrites = false;

  public addSecret(name: string, value: string | undefined, tags: Record<string, string> = {}): void {
    if (value !== undefined) this.#values.set(name, value);
    this.#tags.set(name, { ...tags });
  }

  public value(name: string): string | undefined {
    return this.#values.get(name);
  }

  public tags(name: string): Record<string, string> {
    return { ...this.#tags.get(name) };
  }

  public async listTokenSecrets(): Promise<TokenSecret[]> {
    return [...this.#tags].filter(([, tags]) => tags['keyrotor:kind'] === 'token').map(([name, tags]) => ({ arn: name, name, tags: { ...tags } }));
  }

  public async readCurrent(secretId: string): Promise<string | undefined> {
    return this.#values.get(secretId);
  }

  public async writeCurrent(secretId: string, value: string): Promise<void> {
    if (this.failWrites) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    this.#values.set(secretId, value);
    this.writes.push({ secret: secretId, value, at: this.now() });
  }

  public async setTag(secretId: string, key: string, value: string): Promise<void> {
    this.#tags.set(secretId, { ...this.#tags.get(secretId), [key]: value });
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
