import { CfnOutput, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { TAG, TOKEN_TAG, type SecretKind } from '../lambdas/core/contracts';
import { oauthClientSecretNameFor, secretNameFor, tokenSecretNameFor, type TokenConfig } from './config';
import { bootstrapSecretString } from './managed-api-key-secret';

/** The `keyrotor:kind` of the secret that holds the access token. */
const TOKEN_KIND: SecretKind = 'token';
/** The `keyrotor:kind` of the secret that holds a client-credentials token's OAuth client. */
const OAUTH_CLIENT_KIND: SecretKind = 'oauth-client';

/** Properties of {@link ManagedToken}. */
export interface ManagedTokenProps {
  /** The token. Its id names the secrets `keyrotor/<id>/token` (and `keyrotor/<id>/client`). */
  readonly token: TokenConfig;

  /** The customer-managed key the secrets are encrypted with. */
  readonly encryptionKey: kms.IKey;

  /**
   * The managed API-key secret `keyrotor/<credential>` an `imburse-hmac` token is minted from.
   * Required for `imburse-hmac` tokens and refused for `client-credentials` ones, which get
   * their own OAuth client secret.
   * @default - none
   */
  readonly credentialSecret?: secretsmanager.ISecret;

  /**
   * What happens to the secrets when they leave the stack. The client secret holds a live OAuth
   * client, so both are kept unless a caller decides otherwise.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * One access token that keyrotor keeps fresh: a KMS-encrypted secret `keyrotor/<id>/token` that
 * the token refresher renews before the token expires, and — for a `client-credentials` token —
 * the secret `keyrotor/<id>/client` a person fills with the OAuth client
 * (`{"clientId":"…","clientSecret":"…"}`) that mints it. An `imburse-hmac` token is minted from
 * its credential's managed tenant key instead.
 *
 * Everything the refresher needs to renew the token (grant, source secret, token URL, scopes,
 * client authentication) lives in the token secret's tags, so it lists token secrets by tag and
 * needs no per-token configuration. As with `ManagedApiKeySecret`, neither secret's value is
 * ever derived from config, so a later deploy can never overwrite a token or a client.
 *
 * Neither secret has a Secrets Manager rotation schedule: the refresher is the token secret's
 * only writer, and an OAuth client is issued by a person in the platform's admin console.
 */
export class ManagedToken extends Construct {
  /** The token as configured. */
  public readonly token: TokenConfig;
  /** The secret applications read the access token from (`keyrotor/<id>/token`). */
  public readonly secret: secretsmanager.Secret;
  /** The OAuth client secret (`keyrotor/<id>/client`); only for `client-credentials` tokens. */
  public readonly clientSecret?: secretsmanager.Secret;
  /** What the refresher reads to mint the token: the OAuth client secret or the credential's API-key secret. */
  public readonly sourceSecret: secretsmanager.ISecret;
  /** The source secret's name, as the `keyrotor:token-source` tag holds it. */
  public readonly sourceSecretName: string;

  public constructor(scope: Construct, id: string, props: ManagedTokenProps) {
    super(scope, id);
    const { token } = props;
    this.token = token;
    const problems = propsProblems(props);
    if (problems.length > 0) throw new Error(`ManagedToken ${this.node.path}: ${problems.join('; ')}`);

    const secretProps = {
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      generateSecretString: bootstrapSecretString(),
    };

    this.secret = new secretsmanager.Secret(this, 'TokenSecret', {
      ...secretProps,
      secretName: tokenSecretNameFor(token.id),
      description: `keyrotor-managed access token ${token.id}, renewed by the token refresher; how it is minted is in its keyrotor:* tags`,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The token refresher (an EventBridge Scheduler schedule) renews this short-lived access token before it expires and is its only writer. ' +
        'A Secrets Manager rotation schedule would race the refresher and could replace a valid token.',
    });

    if (token.grant === 'client-credentials') {
      this.clientSecret = new secretsmanager.Secret(this, 'ClientSecret', {
        ...secretProps,
        secretName: oauthClientSecretNameFor(token.id),
        description: `OAuth client (JSON {"clientId","clientSecret"}) that mints the keyrotor access token ${token.id}; a person puts it here`,
      });
      tagOwnership(this.clientSecret, OAUTH_CLIENT_KIND, token);
      Validations.of(this.clientSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'An OAuth client is created by a person in the platform\'s admin console and stored here with put-secret-value; keyrotor knows no platform API ' +
          'that issues or revokes OAuth clients, so there is no rotation for a Lambda to run. The access token it mints is short-lived and renewed by the token refresher.',
      });
      this.sourceSecret = this.clientSecret;
      this.sourceSecretName = oauthClientSecretNameFor(token.id);
    } else {
      this.sourceSecret = props.credentialSecret as secretsmanager.ISecret;
      this.sourceSecretName = secretNameFor(token.credential);
    }

    tagOwnership(this.secret, TOKEN_KIND, token);
    const tags = Tags.of(this.secret);
    tags.add(TOKEN_TAG.grant, token.grant);
    tags.add(TOKEN_TAG.source, this.sourceSecretName);
    if (token.grant === 'client-credentials') {
      tags.add(TOKEN_TAG.tokenUrl, token.tokenUrl);
      if (token.scopes !== undefined) tags.add(TOKEN_TAG.scopes, token.scopes.join(' '));
      tags.add(TOKEN_TAG.clientAuth, token.clientAuth);
    }

    new CfnOutput(this, 'TokenSecretArn', {
      description: token.description
        ? `ARN of ${tokenSecretNameFor(token.id)}: ${token.description}`
        : `ARN of ${tokenSecretNameFor(token.id)} (${token.provider} access token, ${token.environment})`,
      value: this.secret.secretArn,
    });
  }
}

/** Every way the props contradict each other, so a caller fixes them in one pass. */
function propsProblems(props: ManagedTokenProps): string[] {
  const { token } = props;
  if (token.grant === 'imburse-hmac' && props.credentialSecret === undefined) {
    return [`credentialSecret is required for the imburse-hmac token ${token.id}: pass the managed secret ${secretNameFor(token.credential)}`];
  }
  if (token.grant === 'client-credentials' && props.credentialSecret !== undefined) {
    return [`credentialSecret is only for imburse-hmac tokens; the client-credentials token ${token.id} is minted from its own OAuth client secret`];
  }
  return [];
}

/** The tags every keyrotor secret carries: what it holds and which configured entry it belongs to. */
function tagOwnership(secret: secretsmanager.Secret, kind: SecretKind, token: TokenConfig): void {
  const tags = Tags.of(secret);
  tags.add(TAG.kind, kind);
  tags.add(TAG.provider, token.provider);
  tags.add(TAG.environment, token.environment);
  tags.add(TAG.credential, token.id);
}
