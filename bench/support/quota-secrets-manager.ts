import { randomUUID } from 'node:crypto';
import { STAGE, TAG, type SecretKind } from '../../lambdas/core/contracts';
import type { InventoryEntry, InventoryPage, SecretInventory, SecretVersion } from '../../lambdas/ports/secret-inventory';
import type { SecretMetadata, SecretStore } from '../../lambdas/ports/secret-store';
import { uniform, type Random } from './seeded-random';
import type { VirtualClock } from './virtual-clock';

/**
 * Secrets Manager's request quotas per account and region (requests per second), as AWS documents
 * them (DESIGN §6; the user guide's "AWS Secrets Manager quotas"; ListSecrets' 100/s from the
 * What's New of 2022-11-11). Operations in one family share one bucket.
 */
export const SECRETS_MANAGER_QUOTAS = {
  GetSecretValue: 10_000,
  DescribeSecret: 40_000,
  ListSecrets: 100,
  /** PutSecretValue, UpdateSecret, UpdateSecretVersionStage (and replication calls) combined. */
  writes: 50,
  /** RotateSecret and CancelRotateSecret combined. */
  RotateSecret: 50,
  /** TagResource and UntagResource combined. */
  tags: 50,
  /** Not found in the quotas table this bench was written against: assumed as low as the control-plane calls. */
  ListSecretVersionIds: 50,
} as const;
export type QuotaFamily = keyof typeof SECRETS_MANAGER_QUOTAS;

export const OPERATIONS = [
  'GetSecretValue',
  'DescribeSecret',
  'ListSecrets',
  'ListSecretVersionIds',
  'PutSecretValue',
  'UpdateSecretVersionStage',
  'RotateSecret',
  'TagResource',
  'UntagResource',
] as const;
export type Operation = (typeof OPERATIONS)[number];

const FAMILY: Readonly<Record<Operation, QuotaFamily>> = {
  GetSecretValue: 'GetSecretValue',
  DescribeSecret: 'DescribeSecret',
  ListSecrets: 'ListSecrets',
  ListSecretVersionIds: 'ListSecretVersionIds',
  PutSecretValue: 'writes',
  UpdateSecretVersionStage: 'writes',
  RotateSecret: 'RotateSecret',
  TagResource: 'tags',
  UntagResource: 'tags',
};

/** Round-trip latency per operation, ms (uniform between the two). A page of 100 listed secrets with their tags is a larger answer. */
export const DEFAULT_LATENCY_MS: Readonly<Record<Operation, readonly [number, number]>> = {
  GetSecretValue: [20, 40],
  DescribeSecret: [20, 40],
  ListSecrets: [60, 120],
  ListSecretVersionIds: [20, 40],
  PutSecretValue: [25, 45],
  UpdateSecretVersionStage: [25, 45],
  RotateSecret: [30, 60],
  TagResource: [20, 40],
  UntagResource: [20, 40],
};

/** An error shaped as the SDK surfaces a service error: `name` is the error code. */
export class FakeServiceError extends Error {
  public readonly $fault: 'client' | 'server';
  public readonly $metadata: { httpStatusCode: number };

  public constructor(name: string, message: string, status = 400) {
    super(message);
    this.name = name;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status };
  }
}

/** What the SDK throws when Secrets Manager throttles a request (HTTP 400, code ThrottlingException). */
export function throttlingException(operation: Operation): FakeServiceError {
  return new FakeServiceError('ThrottlingException', `Rate exceeded (${operation})`);
}

export function isThrottle(error: unknown): boolean {
  return error instanceof Error && error.name === 'ThrottlingException';
}

/** A token bucket refilled continuously at `ratePerSecond`, holding at most `burstSeconds` of it. */
class TokenBucket {
  #tokens: number;
  #at: number;

  public constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.#tokens = capacity;
    this.#at = now;
  }

  public tryTake(now: number): boolean {
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#at) * this.ratePerSecond) / 1000);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

interface FakeVersion {
  value?: string;
  readonly stages: Set<string>;
  readonly createdAt: Date;
}

interface FakeSecret {
  readonly arn: string;
  readonly name: string;
  readonly rotationEnabled: boolean;
  readonly versions: Map<string, FakeVersion>;
  readonly tags: Record<string, string>;
  readonly createdAt: Date;
  lastRotatedDate?: Date;
  nextRotationDate?: Date;
  readonly rotationIntervalDays: number;
}

export type RotationStepName = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
/** The rotation function the service invokes, one step at a time (the bench adds the Lambda invocation around it). */
export type RotationFunction = (event: { SecretId: string; ClientRequestToken: string; Step: RotationStepName }) => Promise<unknown>;

/** How one rotation the service ran ended. */
export interface RotationRecord {
  readonly secretId: string;
  readonly token: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly failedStep?: RotationStepName;
  readonly error?: unknown;
}

export interface NewSecret {
  readonly value: string;
  readonly tags: Readonly<Record<string, string>>;
  /** An older value kept as AWSPREVIOUS (a secret rotated before). */
  readonly previousValue?: string;
  readonly createdAt?: Date;
  readonly lastRotatedDate?: Date;
  readonly nextRotationDate?: Date;
  /** @default 90 */
  readonly rotationIntervalDays?: number;
}

export interface QuotaSecretsManagerOptions {
  readonly clock: VirtualClock;
  readonly random: Random;
  readonly latencyMs?: Partial<Record<Operation, readonly [number, number]>>;
  /** @default SECRETS_MANAGER_QUOTAS */
  readonly quotas?: Partial<Record<QuotaFamily, number>>;
  /** How many seconds of quota a bucket holds (the burst it allows). @default 1 */
  readonly burstSeconds?: number;
  /** ListSecrets' page size. @default 100 */
  readonly pageSize?: number;
}

/**
 * A Secrets Manager fake for fleet-scale benchmarks: the semantics keyrotor relies on (staging
 * labels, AWSPENDING versions from RotateSecret, "a previous rotation isn't complete"), a
 * round-trip latency per call, and a token bucket per quota family. A request that finds its
 * bucket empty (checked when it reaches the service, half-way through its latency) fails with
 * ThrottlingException, as the SDK surfaces it, and changes nothing. RotateSecret answers at once and
 * the service then runs the four rotation steps asynchronously, as the real service does, each
 * through `rotationFunction`, whose calls draw on the same buckets.
 *
 * Implements the ports the real code uses (SecretStore and SecretInventory) with one round trip
 * per method, so wrapping it in an SDK-retry model is wrapping each API call.
 */
export class QuotaSecretsManager implements SecretStore, SecretInventory {
  readonly #clock: VirtualClock;
  readonly #random: Random;
  readonly #latency: Readonly<Record<Operation, readonly [number, number]>>;
  readonly #buckets: Record<QuotaFamily, TokenBucket>;
  readonly #pageSize: number;
  readonly #secrets = new Map<string, FakeSecret>();
  readonly #order: FakeSecret[] = [];
  readonly #running = new Set<Promise<void>>();

  /** Calls that reached the service, by operation (throttled ones included). */
  public readonly calls = Object.fromEntries(OPERATIONS.map((op) => [op, 0])) as Record<Operation, number>;
  /** Requests refused with ThrottlingException, by quota family. */
  public readonly throttles = Object.fromEntries(Object.keys(SECRETS_MANAGER_QUOTAS).map((family) => [family, 0])) as Record<QuotaFamily, number>;
  /** Accepted requests per family, with the time of the first and the last (the rate actually drawn). */
  public readonly accepted = Object.fromEntries(Object.keys(SECRETS_MANAGER_QUOTAS).map((family) => [family, { count: 0, first: NaN, last: NaN }])) as Record<
    QuotaFamily,
    { count: number; first: number; last: number }
  >;
  /** The rotation function RotateSecret runs (the rotation Lambda, as the bench deploys it). */
  public rotationFunction: RotationFunction | undefined;
  public readonly rotations: RotationRecord[] = [];

  public constructor(options: QuotaSecretsManagerOptions) {
    this.#clock = options.clock;
    this.#random = options.random;
    this.#latency = { ...DEFAULT_LATENCY_MS, ...options.latencyMs };
    this.#pageSize = options.pageSize ?? 100;
    const quotas = { ...SECRETS_MANAGER_QUOTAS, ...options.quotas };
    const burst = options.burstSeconds ?? 1;
    this.#buckets = Object.fromEntries(
      (Object.keys(quotas) as QuotaFamily[]).map((family) => [family, new TokenBucket(quotas[family], Math.max(1, quotas[family] * burst), this.#clock.now())]),
    ) as Record<QuotaFamily, TokenBucket>;
  }

  /** Creates a managed secret directly (the fleet as it stands before the benchmark; no call counted). */
  public create(name: string, secret: NewSecret): string {
    const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-${randomUUID().slice(0, 6)}`;
    const createdAt = secret.createdAt ?? this.#clock.date();
    const versions = new Map<string, FakeVersion>();
    if (secret.previousValue !== undefined) versions.set(randomUUID(), { value: secret.previousValue, stages: new Set([STAGE.previous]), createdAt });
    versions.set(randomUUID(), { value: secret.value, stages: new Set([STAGE.current]), createdAt: secret.lastRotatedDate ?? createdAt });
    const record: FakeSecret = {
      arn,
      name,
      rotationEnabled: true,
      versions,
      tags: { ...secret.tags },
      createdAt,
      rotationIntervalDays: secret.rotationIntervalDays ?? 90,
      ...(secret.lastRotatedDate ? { lastRotatedDate: secret.lastRotatedDate } : {}),
      ...(secret.nextRotationDate ? { nextRotationDate: secret.nextRotationDate } : {}),
    };
    this.#secrets.set(arn, record);
    this.#order.push(record);
    return arn;
  }

  /** Resolves once every rotation the service started has ended. */
  public async rotationsSettled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  /** Test helper: the value a stage holds, without a call. */
  public valueAt(secretId: string, stage: string): string | undefined {
    return [...this.#secret(secretId).versions.values()].find((v) => v.stages.has(stage))?.value;
  }

  #secret(secretId: string): FakeSecret {
    const secret = this.#secrets.get(secretId);
    if (!secret) throw new FakeServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  /** One round trip: half the latency out, the quota and the work at the service, half back. */
  async #call<T>(op: Operation, work: () => T): Promise<T> {
    const [min, max] = this.#latency[op];
    const half = uniform(this.#random, min, max) / 2;
    await this.#clock.sleep(half);
    this.calls[op] += 1;
    const family = FAMILY[op];
    let result: { ok: true; value: T } | { ok: false; error: unknown };
    if (!this.#buckets[family].tryTake(this.#clock.now())) {
      this.throttles[family] += 1;
      result = { ok: false, error: throttlingException(op) };
    } else {
      const tally = this.accepted[family];
      tally.count += 1;
      if (Number.isNaN(tally.first)) tally.first = this.#clock.now();
      tally.last = this.#clock.now();
      try {
        result = { ok: true, value: work() };
      } catch (error) {
        result = { ok: false, error };
      }
    }
    await this.#clock.sleep(half);
    if (!result.ok) throw result.error;
    return result.value;
  }

  #stages(secret: FakeSecret): Record<string, string[]> {
    return Object.fromEntries([...secret.versions].map(([id, version]) => [id, [...version.stages].sort()]));
  }

  #moveLabel(secret: FakeSecret, stage: string, to: string): void {
    for (const version of secret.versions.values()) version.stages.delete(stage);
    secret.versions.get(to)?.stages.add(stage);
  }

  // SecretInventory

  public listPage(kind: SecretKind, cursor?: string): Promise<InventoryPage> {
    return this.#call('ListSecrets', () => {
      const start = cursor === undefined ? 0 : Number(cursor.replace(/^page-/, ''));
      const end = start + this.#pageSize;
      const secrets: InventoryEntry[] = this.#order
        .slice(start, end)
        .filter((secret) => secret.tags[TAG.kind] === kind)
        .map((secret) => ({
          arn: secret.arn,
          name: secret.name,
          rotationEnabled: secret.rotationEnabled,
          versionIdsToStages: this.#stages(secret),
          tags: { ...secret.tags },
          createdDate: secret.createdAt,
          ...(secret.lastRotatedDate ? { lastRotatedDate: secret.lastRotatedDate } : {}),
          ...(secret.nextRotationDate ? { nextRotationDate: secret.nextRotationDate } : {}),
        }));
      return { secrets, ...(end < this.#order.length ? { nextCursor: `page-${end}` } : {}) };
    });
  }

  public listVersions(secretId: string): Promise<SecretVersion[]> {
    return this.#call('ListSecretVersionIds', () =>
      [...this.#secret(secretId).versions].map(([versionId, version]) => ({ versionId, stages: [...version.stages], createdDate: version.createdAt })),
    );
  }

  public readValue(secretId: string, stage: string): Promise<string | undefined> {
    return this.#call('GetSecretValue', () => [...this.#secret(secretId).versions.values()].find((v) => v.stages.has(stage))?.value);
  }

  // SecretStore

  public describe(secretId: string): Promise<SecretMetadata> {
    return this.#call('DescribeSecret', () => {
      const secret = this.#secret(secretId);
      return {
        arn: secret.arn,
        name: secret.name,
        rotationEnabled: secret.rotationEnabled,
        versionIdsToStages: this.#stages(secret),
        tags: { ...secret.tags },
        ...(secret.lastRotatedDate ? { lastRotatedDate: secret.lastRotatedDate } : {}),
        ...(secret.nextRotationDate ? { nextRotationDate: secret.nextRotationDate } : {}),
      };
    });
  }

  public getValue(secretId: string, selector: { versionId?: string; stage?: string }): Promise<string | undefined> {
    return this.#call('GetSecretValue', () => {
      const secret = this.#secret(secretId);
      const stage = selector.stage ?? (selector.versionId === undefined ? STAGE.current : undefined);
      const found = [...secret.versions].find(([id, v]) => (selector.versionId === undefined || id === selector.versionId) && (stage === undefined || v.stages.has(stage)));
      // A version RotateSecret created has a stage but no value until createSecret puts one: the SDK adapter maps both to undefined.
      return found?.[1].value;
    });
  }

  public putPendingValue(secretId: string, versionId: string, value: string): Promise<void> {
    return this.#call('PutSecretValue', () => {
      const secret = this.#secret(secretId);
      const existing = secret.versions.get(versionId);
      if (existing?.value !== undefined && existing.value !== value) throw new FakeServiceError('ResourceExistsException', 'A resource with the ID you requested already exists.');
      if (existing) existing.value = value;
      else secret.versions.set(versionId, { value, stages: new Set(), createdAt: this.#clock.date() });
      this.#moveLabel(secret, STAGE.pending, versionId);
    });
  }

  public moveStage(secretId: string, stage: string, toVersionId: string, fromVersionId?: string): Promise<void> {
    return this.#call('UpdateSecretVersionStage', () => {
      const secret = this.#secret(secretId);
      if (!secret.versions.has(toVersionId)) throw new FakeServiceError('ResourceNotFoundException', `no version ${toVersionId}`);
      const holder = [...secret.versions].find(([, v]) => v.stages.has(stage))?.[0];
      if (holder !== undefined && holder !== toVersionId && holder !== fromVersionId) {
        throw new FakeServiceError('InvalidParameterException', `The staging label ${stage} is attached to version ${holder}; specify RemoveFromVersionId.`);
      }
      this.#moveLabel(secret, stage, toVersionId);
      if (stage === STAGE.current && holder !== undefined && holder !== toVersionId) this.#moveLabel(secret, STAGE.previous, holder);
    });
  }

  public removeStage(secretId: string, stage: string, fromVersionId: string): Promise<void> {
    return this.#call('UpdateSecretVersionStage', () => {
      const version = this.#secret(secretId).versions.get(fromVersionId);
      if (!version?.stages.has(stage)) throw new FakeServiceError('InvalidParameterException', `version ${fromVersionId} does not have ${stage}`);
      version.stages.delete(stage);
    });
  }

  public tag(secretId: string, tags: Readonly<Record<string, string>>): Promise<void> {
    return this.#call('TagResource', () => void Object.assign(this.#secret(secretId).tags, tags));
  }

  public async untag(secretId: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return; // as SecretsManagerStore: nothing to remove makes no call
    await this.#call('UntagResource', () => {
      const secret = this.#secret(secretId);
      for (const key of keys) delete secret.tags[key];
    });
  }

  public startRotation(secretId: string, token: string): Promise<void> {
    return this.#call('RotateSecret', () => {
      const secret = this.#secret(secretId);
      if (!this.rotationFunction || !secret.rotationEnabled) throw new FakeServiceError('InvalidRequestException', 'rotation is not configured for this secret');
      const pending = [...secret.versions].find(([, v]) => v.stages.has(STAGE.pending) && !v.stages.has(STAGE.current))?.[0];
      if (pending !== undefined && pending !== token) throw new FakeServiceError('InvalidRequestException', 'A previous rotation isn’t complete. That rotation will be reattempted.');
      if (!secret.versions.has(token)) {
        secret.versions.set(token, { stages: new Set(), createdAt: this.#clock.date() });
        this.#moveLabel(secret, STAGE.pending, token);
      }
      // The service answers now and runs the steps on its own.
      const run = this.#rotate(secret, token, this.rotationFunction).finally(() => this.#running.delete(run));
      this.#running.add(run);
    });
  }

  async #rotate(secret: FakeSecret, token: string, fn: RotationFunction): Promise<void> {
    const startedAt = this.#clock.now();
    for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      try {
        await fn({ SecretId: secret.arn, ClientRequestToken: token, Step });
      } catch (error) {
        // The version keeps AWSPENDING (a dangling rotation the daily sweep re-drives).
        this.rotations.push({ secretId: secret.arn, token, startedAt, endedAt: this.#clock.now(), failedStep: Step, error });
        return;
      }
    }
    const version = secret.versions.get(token);
    if (version?.stages.has(STAGE.current)) version.stages.delete(STAGE.pending);
    secret.lastRotatedDate = this.#clock.date();
    secret.nextRotationDate = new Date(this.#clock.now() + secret.rotationIntervalDays * 86_400_000);
    this.rotations.push({ secretId: secret.arn, token, startedAt, endedAt: this.#clock.now() });
  }
}
