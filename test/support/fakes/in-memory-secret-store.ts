import { randomUUID } from 'node:crypto';
import type { SecretMetadata, SecretStore } from '../../../lambdas/ports/secret-store';

/**
 * A stateful Secrets Manager fake that follows AWS's documented semantics, including the
 * ones moto gets wrong (see TOOLCHAIN.md):
 * - staging labels are unique per secret; moving AWSCURRENT puts AWSPREVIOUS on the old version;
 * - moving a label that is attached elsewhere without RemoveFromVersionId is refused;
 * - PutSecretValue for an existing version id with different data fails (ResourceExistsException),
 *   with the same data it is a no-op;
 * - RotateSecret creates an AWSPENDING version without a value, or re-drives the rotation
 *   when the token is already a version; it refuses while another rotation is in progress;
 *   then it invokes the rotation function's four steps, as the service does.
 */
export class FakeAwsError extends Error {
  public constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface Version {
  value?: string;
  stages: Set<string>;
  /** ListSecretVersionIds' CreatedDate (on the store's clock). */
  createdAt?: Date;
}

interface Secret {
  arn: string;
  name: string;
  rotationEnabled: boolean;
  versions: Map<string, Version>;
  tags: Record<string, string>;
  /** ListSecrets' CreatedDate, LastRotatedDate and NextRotationDate, on the store's clock. */
  createdAt?: Date;
  lastRotatedDate?: Date;
  nextRotationDate?: Date;
  /** A native rotation schedule of `rate(N days)`: a successful rotation sets NextRotationDate N days on. */
  rotationIntervalDays?: number;
}

export type RotationFunction = (event: { SecretId: string; ClientRequestToken: string; Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret' }) => Promise<unknown>;

export interface CallRecord {
  readonly op: string;
  readonly secretId: string;
}

export class InMemorySecretStore implements SecretStore {
  readonly #secrets = new Map<string, Secret>();
  public readonly calls: CallRecord[] = [];
  /** The rotation function RotateSecret invokes; set by tests. */
  public rotationFunction: RotationFunction | undefined;
  /** Errors thrown by the last RotateSecret-driven rotation (the service records them as RotationFailed). */
  public readonly rotationFailures: unknown[] = [];
  /** Inject a failure into the next call of an operation. */
  public readonly failNext = new Map<string, Error>();
  /** The service's clock: creation and rotation dates (simulated time in tests). */
  public clock: () => Date = () => new Date();

  public create(name: string, options: { value?: string; tags?: Record<string, string>; rotationEnabled?: boolean; rotationIntervalDays?: number } = {}): string {
    const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
    const versions = new Map<string, Version>();
    const createdAt = this.clock();
    if (options.value !== undefined) versions.set(randomUUID(), { value: options.value, stages: new Set(['AWSCURRENT']), createdAt });
    const interval = options.rotationIntervalDays;
    this.#secrets.set(arn, {
      arn,
      name,
      rotationEnabled: options.rotationEnabled ?? true,
      versions,
      tags: options.tags ?? {},
      createdAt,
      ...(interval === undefined ? {} : { rotationIntervalDays: interval, nextRotationDate: new Date(createdAt.getTime() + interval * 86_400_000) }),
    });
    return arn;
  }

  /** Test helper: every secret as ListSecrets shows it (stages, dates, tags; no values), without recording a call. */
  public listing(): { arn: string; name: string; rotationEnabled: boolean; versionIdsToStages: Record<string, string[]>; tags: Record<string, string>; createdDate?: Date; lastRotatedDate?: Date; nextRotationDate?: Date }[] {
    return [...this.#secrets.values()].map((secret) => ({
      arn: secret.arn,
      name: secret.name,
      rotationEnabled: secret.rotationEnabled,
      versionIdsToStages: this.stagesOf(secret.arn),
      tags: { ...secret.tags },
      ...(secret.createdAt ? { createdDate: secret.createdAt } : {}),
      ...(secret.lastRotatedDate ? { lastRotatedDate: secret.lastRotatedDate } : {}),
      ...(secret.nextRotationDate ? { nextRotationDate: secret.nextRotationDate } : {}),
    }));
  }

  /** Test helper: versions as ListSecretVersionIds shows them. */
  public versionsOf(secretId: string): { versionId: string; stages: string[]; createdDate?: Date }[] {
    return [...this.#secret(secretId).versions].map(([versionId, v]) => ({ versionId, stages: [...v.stages].sort(), ...(v.createdAt ? { createdDate: v.createdAt } : {}) }));
  }

  /** Test helper: sets the rotation dates the service would report. */
  public setRotationDates(secretId: string, dates: { lastRotatedDate?: Date; nextRotationDate?: Date }): void {
    Object.assign(this.#secret(secretId), dates);
  }

  /** Test helper: back-dates (or dates) a version's creation. */
  public setVersionCreated(secretId: string, versionId: string, createdAt: Date): void {
    const version = this.#secret(secretId).versions.get(versionId);
    if (!version) throw new Error(`no version ${versionId}`);
    version.createdAt = createdAt;
  }

  /** Test helper: stages as DescribeSecret shows them. */
  public stagesOf(secretId: string): Record<string, string[]> {
    return Object.fromEntries([...this.#secret(secretId).versions].map(([id, v]) => [id, [...v.stages].sort()]));
  }

  /** Test helper: the value of the version that holds `stage`. */
  public valueAt(secretId: string, stage: string): string | undefined {
    return [...this.#secret(secretId).versions.values()].find((v) => v.stages.has(stage))?.value;
  }

  public setRotationEnabled(secretId: string, enabled: boolean): void {
    this.#secret(secretId).rotationEnabled = enabled;
  }

  #secret(secretId: string): Secret {
    const secret = this.#secrets.get(secretId) ?? [...this.#secrets.values()].find((s) => s.name === secretId);
    if (!secret) throw new FakeAwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  #record(op: string, secretId: string): void {
    this.calls.push({ op, secretId });
    const failure = this.failNext.get(op);
    if (failure) {
      this.failNext.delete(op);
      throw failure;
    }
  }

  #moveLabel(secret: Secret, stage: string, to: string): void {
    for (const version of secret.versions.values()) version.stages.delete(stage);
    secret.versions.get(to)?.stages.add(stage);
  }

  public async describe(secretId: string): Promise<SecretMetadata> {
    this.#record('DescribeSecret', secretId);
    const secret = this.#secret(secretId);
    return {
      arn: secret.arn,
      name: secret.name,
      rotationEnabled: secret.rotationEnabled,
      versionIdsToStages: this.stagesOf(secret.arn),
      tags: { ...secret.tags },
    };
  }

  public async getValue(secretId: string, selector: { versionId?: string; stage?: string }): Promise<string | undefined> {
    this.#record('GetSecretValue', secretId);
    const secret = this.#secret(secretId);
    const stage = selector.stage ?? (selector.versionId ? undefined : 'AWSCURRENT');
    const entry = [...secret.versions].find(
      ([id, v]) => (selector.versionId === undefined || id === selector.versionId) && (stage === undefined || v.stages.has(stage)),
    );
    if (!entry) throw new FakeAwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for the version or staging label.");
    return entry[1].value;
  }

  public async putPendingValue(secretId: string, versionId: string, value: string): Promise<void> {
    this.#record('PutSecretValue', secretId);
    const secret = this.#secret(secretId);
    const existing = secret.versions.get(versionId);
    if (existing?.value !== undefined && existing.value !== value) {
      throw new FakeAwsError('ResourceExistsException', 'A resource with the ID you requested already exists.');
    }
    if (existing) existing.value = value;
    else secret.versions.set(versionId, { value, stages: new Set(), createdAt: this.clock() });
    this.#moveLabel(secret, 'AWSPENDING', versionId);
  }

  public async moveStage(secretId: string, stage: string, toVersionId: string, fromVersionId?: string): Promise<void> {
    this.#record('UpdateSecretVersionStage', secretId);
    const secret = this.#secret(secretId);
    if (!secret.versions.has(toVersionId)) throw new FakeAwsError('ResourceNotFoundException', `no version ${toVersionId}`);
    const holder = [...secret.versions].find(([, v]) => v.stages.has(stage))?.[0];
    if (holder !== undefined && holder !== toVersionId && holder !== fromVersionId) {
      throw new FakeAwsError('InvalidParameterException', `The staging label ${stage} is currently attached to version ${holder}; specify RemoveFromVersionId.`);
    }
    this.#moveLabel(secret, stage, toVersionId);
    if (stage === 'AWSCURRENT' && holder !== undefined && holder !== toVersionId) this.#moveLabel(secret, 'AWSPREVIOUS', holder);
  }

  public async removeStage(secretId: string, stage: string, fromVersionId: string): Promise<void> {
    this.#record('UpdateSecretVersionStage', secretId);
    const version = this.#secret(secretId).versions.get(fromVersionId);
    if (!version?.stages.has(stage)) throw new FakeAwsError('InvalidParameterException', `version ${fromVersionId} does not have ${stage}`);
    version.stages.delete(stage);
  }

  public async tag(secretId: string, tags: Readonly<Record<string, string>>): Promise<void> {
    this.#record('TagResource', secretId);
    // As the service: tag keys and values allow only letters, digits, spaces and _.:/=+-@ (moto does not check).
    for (const [key, value] of Object.entries(tags)) {
      if (!/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u.test(key) || !/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u.test(value)) {
        throw new FakeAwsError('ValidationException', `1 validation error detected: tag ${key} does not satisfy the tag pattern`);
      }
    }
    Object.assign(this.#secret(secretId).tags, tags);
  }

  public async untag(secretId: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return; // as SecretsManagerStore: no call for nothing to remove
    this.#record('UntagResource', secretId);
    const secret = this.#secret(secretId);
    for (const key of keys) delete secret.tags[key];
  }

  public async startRotation(secretId: string, token: string): Promise<void> {
    this.#record('RotateSecret', secretId);
    const secret = this.#secret(secretId);
    if (!this.rotationFunction) throw new FakeAwsError('InvalidRequestException', 'no rotation function configured');
    const pendingHolder = [...secret.versions].find(([, v]) => v.stages.has('AWSPENDING') && !v.stages.has('AWSCURRENT'))?.[0];
    if (pendingHolder !== undefined && pendingHolder !== token) {
      throw new FakeAwsError('InvalidRequestException', 'A previous rotation isn’t complete. That rotation will be reattempted.');
    }
    if (!secret.versions.has(token)) {
      secret.versions.set(token, { stages: new Set(), createdAt: this.clock() });
      this.#moveLabel(secret, 'AWSPENDING', token);
    }
    await this.runRotation(secret.arn, token);
  }

  /** Invokes the four steps as the service does; a failure is recorded and the pending version stays (a dangling AWSPENDING). */
  public async runRotation(secretId: string, token: string): Promise<void> {
    const fn = this.rotationFunction;
    if (!fn) throw new Error('no rotation function');
    try {
      for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
        await fn({ SecretId: secretId, ClientRequestToken: token, Step });
      }
      // After a successful rotation AWSPENDING is either on the AWSCURRENT version or on none.
      const secret = this.#secret(secretId);
      const version = secret.versions.get(token);
      if (version?.stages.has('AWSCURRENT')) version.stages.delete('AWSPENDING');
      // The service records the rotation and schedules the next one from it.
      secret.lastRotatedDate = this.clock();
      if (secret.rotationIntervalDays !== undefined) secret.nextRotationDate = new Date(secret.lastRotatedDate.getTime() + secret.rotationIntervalDays * 86_400_000);
    } catch (error) {
      this.rotationFailures.push(error);
    }
  }

  /** What the service does when a scheduled rotation starts: a new token and an empty AWSPENDING version. */
  public openPendingVersion(secretId: string): string {
    const token = randomUUID();
    const secret = this.#secret(secretId);
    secret.versions.set(token, { stages: new Set(), createdAt: this.clock() });
    this.#moveLabel(secret, 'AWSPENDING', token);
    return token;
  }

  /** A scheduled rotation: an empty AWSPENDING version, then the four steps. */
  public async scheduledRotation(secretId: string): Promise<string> {
    const token = this.openPendingVersion(secretId);
    await this.runRotation(this.#secret(secretId).arn, token);
    return token;
  }
}
