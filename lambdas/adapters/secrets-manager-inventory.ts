import {
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  type SecretListEntry,
} from '@aws-sdk/client-secrets-manager';
import { TAG, type SecretKind } from '../core/contracts';
import type { InventoryEntry, InventoryPage, SecretInventory, SecretVersion } from '../ports/secret-inventory';

/** ListSecrets' largest page. */
export const LIST_PAGE_SIZE = 100;

function tagsOf(entry: SecretListEntry): Record<string, string> {
  return Object.fromEntries((entry.Tags ?? []).flatMap((t) => (t.Key === undefined ? [] : [[t.Key, t.Value ?? '']])));
}

function toEntry(entry: SecretListEntry & { ARN: string; Name: string }, tags: Record<string, string>): InventoryEntry {
  return {
    arn: entry.ARN,
    name: entry.Name,
    rotationEnabled: entry.RotationEnabled === true,
    versionIdsToStages: entry.SecretVersionsToStages ?? {},
    tags,
    ...(entry.NextRotationDate ? { nextRotationDate: entry.NextRotationDate } : {}),
    ...(entry.LastRotatedDate ? { lastRotatedDate: entry.LastRotatedDate } : {}),
    ...(entry.CreatedDate ? { createdDate: entry.CreatedDate } : {}),
  };
}

/**
 * SecretInventory over AWS Secrets Manager. Listing uses ListSecrets, whose entries already
 * carry stages, rotation dates and tags, so the sweep needs no DescribeSecret per secret and
 * decrypts nothing to decide by policy. The client takes the SDK's standard configuration
 * (region, credentials, `AWS_ENDPOINT_URL`), so the same code runs against a local emulator.
 */
export class SecretsManagerInventory implements SecretInventory {
  public constructor(private readonly client: SecretsManagerClient = new SecretsManagerClient({})) {}

  public async listPage(kind: SecretKind, cursor?: string): Promise<InventoryPage> {
    const page = await this.client.send(
      new ListSecretsCommand({
        // tag-key and tag-value match independently (a secret with any tag valued `api-key`
        // passes the second), so the pair is checked again below.
        Filters: [
          { Key: 'tag-key', Values: [TAG.kind] },
          { Key: 'tag-value', Values: [kind] },
        ],
        MaxResults: LIST_PAGE_SIZE,
        ...(cursor === undefined ? {} : { NextToken: cursor }),
      }),
    );
    const secrets: InventoryEntry[] = [];
    for (const entry of page.SecretList ?? []) {
      const tags = tagsOf(entry);
      if (tags[TAG.kind] !== kind || !entry.ARN || !entry.Name || entry.DeletedDate) continue;
      secrets.push(toEntry({ ...entry, ARN: entry.ARN, Name: entry.Name }, tags));
    }
    return { secrets, ...(page.NextToken ? { nextCursor: page.NextToken } : {}) };
  }

  public async listVersions(secretId: string): Promise<SecretVersion[]> {
    const versions: SecretVersion[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(new ListSecretVersionIdsCommand({ SecretId: secretId, MaxResults: LIST_PAGE_SIZE, ...(nextToken ? { NextToken: nextToken } : {}) }));
      for (const version of page.Versions ?? []) {
        if (!version.VersionId) continue;
        versions.push({ versionId: version.VersionId, stages: version.VersionStages ?? [], ...(version.CreatedDate ? { createdDate: version.CreatedDate } : {}) });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return versions;
  }

  public async readValue(secretId: string, stage: string): Promise<string | undefined> {
    try {
      return (await this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }))).SecretString;
    } catch (error) {
      // No version holds the stage, or the version has no value yet (created by RotateSecret).
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }
}
