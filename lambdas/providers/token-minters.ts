import { ValidationError } from '../core/errors';
import { parseSecretValue } from '../core/secret-value';
import type { MintedToken, TokenMinter, TokenSpec } from '../ports/token-minter';
import type { ProviderHttpClientOptions } from './http';
import { ImburseProvider } from './imburse';
import { ClientCredentialsTokenSource, parseClientCredentials } from './oauth/client-credentials';

/**
 * Mints access tokens by grant: OAuth 2.0 client credentials (Thought Industries enterprise
 * instances, Thrive) from an OAuth client secret, or Imburse's HMAC-signed exchange from a
 * managed Imburse API-key secret.
 */
export function createTokenMinter(http: Omit<ProviderHttpClientOptions, 'provider'> = {}, now: () => number = Date.now): TokenMinter {
  const clients = new Map<string, ClientCredentialsTokenSource>();
  const imburse = new ImburseProvider(http, { now });
  return {
    async mint(spec: TokenSpec, sourceValue: string): Promise<MintedToken> {
      if (spec.grant === 'client-credentials') {
        if (!spec.tokenUrl) throw new ValidationError('token spec', ['tokenUrl: is required for client-credentials']);
        let client = clients.get(spec.provider);
        if (!client) {
          client = new ClientCredentialsTokenSource(spec.provider, http, { now });
          clients.set(spec.provider, client);
        }
        return client.mint({
          tokenUrl: spec.tokenUrl,
          credentials: parseClientCredentials(sourceValue),
          ...(spec.scopes ? { scopes: spec.scopes } : {}),
          clientAuth: spec.clientAuth ?? 'basic',
        });
      }
      const value = parseSecretValue(sourceValue, `source secret ${spec.source}`);
      if (value.provider !== 'imburse') {
        throw new ValidationError(`source secret ${spec.source}`, [`provider: is ${value.provider}, but an imburse-hmac token needs an Imburse key`]);
      }
      const issuedAt = new Date(now()).toISOString();
      const token = await imburse.mintAccessToken(value, { baseUrl: value.baseUrl, environment: value.environment });
      return { accessToken: token.accessToken, tokenType: 'Bearer', expiresAt: token.expiresAt, issuedAt };
    },
  };
}
