/** What keyrotor needs from a secret store (Secrets Manager in production; fakes in tests). */
export interface SecretMetadata {
  readonly arn: string;
  readonly name: string;
  readonly rotationEnabled: boolean;
  /** Version id → staging labels, as DescribeSecret returns them. */
  readonly versionIdsToStages: Readonly<Record<string, readonly string[]>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly nextRotationDate?: Date;
  readonly lastRotatedDate?: Date;
}

export interface SecretStore {
  describe(secretId: string): Promise<SecretMetadata>;
  /** The value of a version, by id and/or stage; `undefined` when that version has no value. */
  getValue(secretId: string, selector: { versionId?: string; stage?: string }): Promise<string | undefined>;
  /** Writes `value` as a version with id `versionId` staged `AWSPENDING`. */
  putPendingValue(secretId: string, versionId: string, value: string): Promise<void>;
  /** Moves a staging label to `toVersionId`, removing it from `fromVersionId` (AWSCURRENT needs both). */
  moveStage(secretId: string, stage: string, toVersionId: string, fromVersionId?: string): Promise<void>;
  /** Removes a staging label from a version. */
  removeStage(secretId: string, stage: string, fromVersionId: string): Promise<void>;
  /** Sets tags (metadata only: never a secret). */
  tag(secretId: string, tags: Readonly<Record<string, string>>): Promise<void>;
  /** Removes tags by key; keys that are not there are ignored. */
  untag(secretId: string, keys: readonly string[]): Promise<void>;
  /** Starts (or re-drives, for an existing token) a rotation with this client request token. */
  startRotation(secretId: string, clientRequestToken: string): Promise<void>;
}

/** The version that holds `stage`, if any. */
export function versionWithStage(metadata: SecretMetadata, stage: string): string | undefined {
  return Object.entries(metadata.versionIdsToStages).find(([, stages]) => stages.includes(stage))?.[0];
}
