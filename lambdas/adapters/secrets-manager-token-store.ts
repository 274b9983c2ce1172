import {
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { TAG } from '../core/contracts';
import type { TokenSecret, TokenStore } from '../ports/token-store';

/** TokenStore over Secrets Manager: lists by tag (names and tags only, nothing decrypted). */
export class SecretsManagerTokenStore implements TokenStore {
  public constructor(private readonly client: SecretsManagerClient = new SecretsManagerClient({})) {}

  public async listTokenSecrets(): Promise<TokenSecret[]> {
    const secrets: TokenSecret[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListSecretsCommand({
          // tag-key and tag-value filter independently, so the pair is checked again below.
          Filters: [
            { Key: 'tag-key', Values: [TAG.kind] },
            { Key: 'tag-value', Values: ['token'] },
          ],
          MaxResults: 100,
          NextToken: nextToken,
        }),
      );
      for (const entry of page.SecretList ?? []) {
        const tags = Object.fromEntries((entry.Tags ?? []).flatMap((t) => (t.Key === undefined ? [] : [[t.Key, t.Value ?? '']])));
        if (tags[TAG.kind] !== 'token' || !entry.ARN || !entry.Name || entry.DeletedDate) continue;
        secrets.push({ arn: entry.ARN, name: entry.Name, tags });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return secrets;
  }

  public async readCurrent(secretId: string): Promise<string | undefined> {
    try {
      return (await this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }))).SecretString;
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
