import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { STAGE } from '../core/contracts';
import { SecretStateError } from '../core/errors';
import type { SecretMetadata, SecretStore } from '../ports/secret-store';

/**
 * SecretStore over AWS Secrets Manager. The client takes the SDK's standard configuration
 * (region, credentials, `AWS_ENDPOINT_URL`), so the same code runs against a local emulator.
 */
export class SecretsManagerStore implements SecretStore {
  readonly #client: SecretsManagerClient;

  public constructor(client: SecretsManagerClient = new SecretsManagerClient({})) {
    this.#client = client;
  }

  public async describe(secretId: string): Promise<SecretMetadata> {
    try {
      const out = await this.#client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return {
        arn: out.ARN ?? secretId,
        name: out.Name ?? secretId,
        rotationEnabled: out.RotationEnabled === true,
        versionIdsToStages: out.VersionIdsToStages ?? {},
        tags: Object.fromEntries((out.Tags ?? []).flatMap((t) => (t.Key === undefined ? [] : [[t.Key, t.Value ?? '']]))),
        ...(out.NextRotationDate ? { nextRotationDate: out.NextRotationDate } : {}),
        ...(out.LastRotatedDate ? { lastRotatedDate: out.LastRotatedDate } : {}),
      };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        throw new SecretStateError(`secret ${secretId} does not exist (check the name, region and account)`, { cause: error });
      }
      throw error;
    }
  }

  public async getValue(secretId: string, selector: { versionId?: string; stage?: string }): Promise<string | undefined> {
    try {
      const out = await this.#client.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionId: selector.versionId, VersionStage: selector.stage }),
      );
      return out.SecretString;
    } catch (error) {
      // A version created by RotateSecret has a stage but no value until createSecret puts one.
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  public async putPendingValue(secretId: string, versionId: string, value: string): Promise<void> {
    await this.#client.send(
      new PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: versionId, SecretString: value, VersionStages: [STAGE.pending] }),
    );
  }

  public async moveStage(secretId: string, stage: string, toVersionId: string, fromVersionId?: string): Promise<void> {
    await this.#client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: stage,
        MoveToVersionId: toVersionId,
        RemoveFromVersionId: fromVersionId,
      }),
    );
  }

  public async removeStage(secretId: string, stage: string, fromVersionId: string): Promise<void> {
    await this.#client.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: stage, RemoveFromVersionId: fromVersionId }));
  }

  public async tag(secretId: string, tags: Readonly<Record<string, string>>): Promise<void> {
    await this.#client.send(new TagResourceCommand({ SecretId: secretId, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
  }

  public async untag(secretId: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#client.send(new UntagResourceCommand({ SecretId: secretId, TagKeys: [...keys] }));
  }

  public async startRotation(secretId: string, clientRequestToken: string): Promise<void> {
    await this.#client.send(new RotateSecretCommand({ SecretId: secretId, ClientRequestToken: clientRequestToken, RotateImmediately: true }));
  }
}
