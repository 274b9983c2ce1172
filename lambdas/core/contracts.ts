/**
 * Names that tools and people outside this codebase rely on (see README "Contracts").
 * The CDK app, the Lambdas and the CLI all import them from here so they cannot drift.
 */

/** Provider ids, as they appear in config, secret values and tags. */
export const PROVIDER_IDS = ['thought-industries', 'thrive', 'thinkific', 'boss-insights', 'imburse'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** A credential's environment: a sandbox key is never promoted into a production secret. */
export const ENVIRONMENTS = ['production', 'sandbox'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** What a managed secret holds. */
export const SECRET_KINDS = ['api-key', 'oauth-client', 'token'] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

/** Every secret keyrotor deploys is named `keyrotor/<id>` (tokens `keyrotor/<id>/token`, OAuth clients `keyrotor/<id>/client`). */
export const MANAGED_SECRET_PREFIX = 'keyrotor/';

/** Tags on every managed secret: listing and policy decisions read these, never the value. */
export const TAG = {
  provider: 'keyrotor:provider',
  environment: 'keyrotor:environment',
  kind: 'keyrotor:kind',
  baseUrl: 'keyrotor:base-url',
  credential: 'keyrotor:credential',
  /** The current key's declared expiry (ISO 8601), written at promotion when the platform declares one; the sweep warns ahead of it. */
  expiresAt: 'keyrotor:expires-at',
  /** The fingerprint of a key reported compromised; while it is AWSCURRENT, the rotation that replaces it revokes it at once (no grace). */
  compromised: 'keyrotor:compromised',
  /** The fingerprint of the AWSPREVIOUS key the sweep has confirmed is revoked (answers 401), so it is checked once. */
  revocationConfirmed: 'keyrotor:revocation-confirmed',
} as const;

/** Secrets Manager staging labels used by the rotation protocol. */
export const STAGE = {
  current: 'AWSCURRENT',
  pending: 'AWSPENDING',
  previous: 'AWSPREVIOUS',
} as const;

/** The rotation steps Secrets Manager invokes, in order. */
export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/**
 * The value `cdk deploy` gives a new secret: a constant template plus a random `bootstrap`
 * field, never derived from config, so a later deploy can never overwrite a live key. A
 * secret holding it is "awaiting its first key" (hand one over with `keyrotor submit`).
 */
export const BOOTSTRAP_SECRET_MARKER = { keyrotor: 'awaiting-first-key' } as const;
/** The field of the bootstrap value that Secrets Manager fills with random characters. */
export const BOOTSTRAP_SECRET_KEY = 'bootstrap';

/** How a token secret's access token is minted (the `keyrotor:token-grant` tag). */
export const TOKEN_GRANTS = ['client-credentials', 'imburse-hmac'] as const;
export type TokenGrant = (typeof TOKEN_GRANTS)[number];

/**
 * Tags on a token secret (`keyrotor:kind` = `token`): everything the refresher needs to renew
 * it, so it lists token secrets by tag and never needs a per-token environment variable.
 */
export const TOKEN_TAG = {
  /** The secret holding what mints the token: an OAuth client (`{clientId, clientSecret}`) or a managed API key (Imburse). */
  source: 'keyrotor:token-source',
  grant: 'keyrotor:token-grant',
  /** OAuth token endpoint (client-credentials only). */
  tokenUrl: 'keyrotor:token-url',
  /** Space-separated OAuth scopes (optional). */
  scopes: 'keyrotor:token-scopes',
  /** OAuth client authentication: `basic` (client_secret_basic, default) or `body` (client_secret_post). */
  clientAuth: 'keyrotor:client-auth',
  /** Written by the refresher: `ok`, `failing` (old token still valid) or `expired`; drives one alert per transition. */
  refreshState: 'keyrotor:refresh-state',
} as const;
