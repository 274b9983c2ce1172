import type { TokenGrant } from '../core/contracts';

/** A short-lived access token, as the token secret holds it. */
export interface MintedToken {
  readonly accessToken: string;
  readonly tokenType: string;
  /** ISO 8601. */
  readonly expiresAt: string;
  /** ISO 8601. */
  readonly issuedAt: string;
}

/** How one token secret's token is minted (from its tags). */
export interface TokenSpec {
  readonly grant: TokenGrant;
  readonly provider: string;
  /** The secret holding the OAuth client or the API key that mints the token. */
  readonly source: string;
  readonly tokenUrl?: string;
  readonly scopes?: readonly string[];
  readonly clientAuth?: 'basic' | 'body';
}

export interface TokenMinter {
  /**
   * Mints a token from the source secret's value.
   * @throws ProviderError (auth, rate limit, unavailable, response) or ValidationError (a malformed source value)
   */
  mint(spec: TokenSpec, sourceValue: string): Promise<MintedToken>;
}
