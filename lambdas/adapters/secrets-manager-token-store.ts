import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { STAGE, TAG, TOKEN_TAG } from '../core/contracts';
import type { CurrentSecretValue, TokenSecret, TokenStore } from '../ports/token-store';

/** ListSecrets' largest page. */
export const TOKEN_LIST_PAGE_SIZE = 100;

/** The version id staged AWSCURRENT in a `{ versionId: stages }` map, as ListSecrets and DescribeSecret return it. */
export function currentVersionOf(versionsToStages: Readonly<Record<string, readonly string[]>> | undefined): string | undefined {
  return Object.entries(versionsToStages ?? {}).find(([, stages]) => stages.includes(STAGE.current))?.[0];
}

/** TokenStore over Secrets Manager: lists by tag (names, tags and version ids only, nothing decrypted). */
export class SecretsManagerTokenStore implements TokenStore {
  public constructor(private readonly client: SecretsManagerClient = new SecretsManagerClient({})) {}

  /**
   * One paginated listing of every secret with a `keyrotor:kind` tag (tokens, API keys, OAuth
   * clients): the token secrets, and the AWSCURRENT version of each source from the same pages.
   * One listing of all managed secrets never takes more pages than a listing of the tokens plus
   * one of the sources would.
   */
  public async listTokenSecrets(): Promise<TokenSecret[]> {
    const tokens: Omit<TokenSecret, 'listedSourceVersionId'>[] = [];
    // By name and by ARN: a keyrotor:token-source tag names its secret either way.
    const currentVersions = new Map<string, string>();
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListSecretsCommand({
          // tag-key matches by prefix, so the tag is checked again below. Secrets scheduled for deletion are not listed.
          Filters: [{ Key: 'tag-key', Values: [TAG.kind] }],
          MaxResults: TOKEN_LIST_PAGE_SIZE,
          NextToken: nextToken,
        }),
      );
      for (const entry of page.SecretList ?? []) {
        if (!entry.ARN || !entry.Name || entry.DeletedDate) continue;
        const tags = Object.fromEntries((entry.Tags ?? []).flatMap((t) => (t.Key === undefined ? [] : [[t.Key, t.Value ?? '']])));
        if (tags[TAG.kind] === undefined) continue;
        const current = currentVersionOf(entry.SecretVersionsToStages);
        if (current !== undefined) {
          currentVersions.set(entry.Name, current);
          currentVersions.set(entry.ARN, current);
        }
        if (tags[TAG.kind] === 'token') tokens.push({ arn: entry.ARN, name: entry.Name, tags });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return tokens.map((token) => {
      const source = token.tags[TOKEN_TAG.source];
      const listedSourceVersionId = source === undefined ? undefined : currentVersions.get(source);
      return listedSourceVersionId === undefined ? token : { ...token, listedSourceVersionId };
    });
  }

  public async readCurrent(secretId: string): Promise<string | undefined> {
    return (await this.readCurrentVersion(secretId))?.value;
  }

  public async readCurrentVersion(secretId: string): Promise<CurrentSecretValue | undefined> {
    try {
      const { SecretString, VersionId } = await this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: STAGE.current }));
      return SecretString === undefined ? undefined : { value: SecretString, versionId: VersionId };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  public async describeCurrentVersionId(secretId: string): Promise<string | undefined> {
    try {
      return currentVersionOf((await this.client.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages);
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  public async writeCurrent(secretId: string, value: string): Promise<void> {
    // Without VersionStages, PutSecretValue stages the new version AWSCURRENT and the old one AWSPREVIOUS.
    await this.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
  }

  public async setTag(secretId: string, key: string, value: string): Promise<void> {
    await this.client.send(new TagResourceCommand({ SecretId: secretId, Tags: [{ Key: key, Value: value }] }));
  }
}
