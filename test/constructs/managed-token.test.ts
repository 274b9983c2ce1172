import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { TAG, TOKEN_TAG } from '../../lambdas/core/contracts';
import type { ClientCredentialsTokenConfig, ImburseHmacTokenConfig, TokenConfig } from '../../lib/config';
import { EncryptionKey } from '../../lib/encryption-key';
import { BOOTSTRAP_SECRET_KEY, BOOTSTRAP_SECRET_MARKER } from '../../lib/managed-api-key-secret';
import { ManagedToken } from '../../lib/managed-token';
import { acknowledgements, awsSolutionsFindings, bareStack, propertiesOf } from './test-stack';

const THRIVE: ClientCredentialsTokenConfig = {
  id: 'learn-token',
  provider: 'thrive',
  environment: 'production',
  grant: 'client-credentials',
  tokenUrl: 'https://acme.api.learn.link/oauth2/token/eu-west-2_AbcdEfghI',
  clientAuth: 'basic',
};

const THOUGHT_INDUSTRIES: ClientCredentialsTokenConfig = {
  id: 'acme-token',
  provider: 'thought-industries',
  environment: 'sandbox',
  grant: 'client-credentials',
  tokenUrl: 'https://acme.thoughtindustries.com/oauth/token',
  scopes: ['users:read', 'courses:read'],
  clientAuth: 'body',
  description: 'Acme enterprise API',
};

const IMBURSE: ImburseHmacTokenConfig = {
  id: 'payments-token',
  provider: 'imburse',
  environment: 'sandbox',
  grant: 'imburse-hmac',
  credential: 'payments',
};

/** The one token in a bare stack, with the Imburse credential's secret beside it. */
function build(token: TokenConfig) {
  const stack = bareStack();
  const { key } = new EncryptionKey(stack, 'EncryptionKey');
  const credentialSecret =
    token.grant === 'imburse-hmac' ? new secretsmanager.Secret(stack, 'CredentialSecret', { secretName: 'keyrotor/payments', encryptionKey: key }) : undefined;
  const managed = new ManagedToken(stack, token.id, { token, encryptionKey: key, ...(credentialSecret ? { credentialSecret } : {}) });
  return { stack, key, managed, credentialSecret, template: Template.fromStack(stack) };
}

/** `Tags` of `secret`, as a key → value record. */
function tagsOf(template: Template, secret: secretsmanager.Secret): Record<string, string> {
  const tags = propertiesOf(template, secret).Tags as { Key: string; Value: string }[];
  return Object.fromEntries(tags.map(({ Key, Value }) => [Key, Value]));
}

describe('Construct: ManagedToken', () => {
  describe('with a client-credentials token', () => {
    let stack: Stack;
    let template: Template;
    let managed: ManagedToken;
    let key: kms.Key;

    beforeAll(() => {
      ({ stack, template, managed, key } = build(THRIVE));
    });

    it('creates the token secret keyrotor/<id>/token and the OAuth client secret keyrotor/<id>/client, both with the customer-managed key', () => {
      // Assess
      template.resourceCountIs('AWS::SecretsManager::Secret', 2);
      expect(propertiesOf(template, managed.secret)).toMatchObject({ Name: 'keyrotor/learn-token/token', KmsKeyId: stack.resolve(key.keyArn) });
      expect(propertiesOf(template, managed.clientSecret!)).toMatchObject({ Name: 'keyrotor/learn-token/client', KmsKeyId: stack.resolve(key.keyArn) });
    });

    it('retains both secrets when they leave the stack', () => {
      // Assess
      const secrets = Object.values(template.findResources('AWS::SecretsManager::Secret'));
      expect(secrets).toHaveLength(2);
      for (const secret of secrets) expect(secret).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });

    it('starts both secrets from the constant bootstrap value and never a SecretString', () => {
      // Assess
      for (const secret of [managed.secret, managed.clientSecret!]) {
        const properties = propertiesOf(template, secret);
        expect(properties.GenerateSecretString).toEqual({
          SecretStringTemplate: JSON.stringify(BOOTSTRAP_SECRET_MARKER),
          GenerateStringKey: BOOTSTRAP_SECRET_KEY,
          ExcludePunctuation: true,
        });
        expect(properties.SecretString).toBeUndefined();
      }
    });

    it('tags the token secret with everything the refresher needs, and nothing else', () => {
      // Assess
      expect(tagsOf(template, managed.secret)).toEqual({
        [TAG.kind]: 'token',
        [TAG.provider]: 'thrive',
        [TAG.environment]: 'production',
        [TAG.credential]: 'learn-token',
        [TOKEN_TAG.grant]: 'client-credentials',
        [TOKEN_TAG.source]: 'keyrotor/learn-token/client',
        [TOKEN_TAG.tokenUrl]: 'https://acme.api.learn.link/oauth2/token/eu-west-2_AbcdEfghI',
        [TOKEN_TAG.clientAuth]: 'basic',
      });
    });

    it('tags the OAuth client secret as an oauth-client of this token, and nothing else', () => {
      // Assess
      expect(tagsOf(template, managed.clientSecret!)).toEqual({
        [TAG.kind]: 'oauth-client',
        [TAG.provider]: 'thrive',
        [TAG.environment]: 'production',
        [TAG.credential]: 'learn-token',
      });
    });

    it('reads the token from the OAuth client secret', () => {
      // Assess
      expect(managed.sourceSecret).toBe(managed.clientSecret);
      expect(managed.sourceSecretName).toBe('keyrotor/learn-token/client');
    });

    it('has no rotation schedule and grants nothing: the refresher owns the token secret', () => {
      // Assess
      template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
      template.resourceCountIs('AWS::Lambda::Permission', 0);
      template.resourceCountIs('AWS::IAM::Policy', 0);
    });

    it('outputs the token secret\'s ARN', () => {
      // Assess
      expect(Object.values(template.findOutputs('*'))).toEqual([
        { Description: 'ARN of keyrotor/learn-token/token (thrive access token, production)', Value: stack.resolve(managed.secret.secretArn) },
      ]);
    });

    it('raises no cdk-nag AwsSolutions findings', () => {
      // Act
      const findings = awsSolutionsFindings(stack);

      // Assess
      expect(findings).toEqual([]);
    });

    it('acknowledges only AwsSolutions-SMG4, once on each secret, each with its reason', () => {
      // Assess (aws-cdk-lib records an acknowledged id with the prefix Annotation::)
      expect(acknowledgements(managed)).toEqual([
        { 'Annotation::AwsSolutions-SMG4': expect.stringMatching(/token refresher.*only writer.*rotation schedule would race the refresher/) },
        { 'Annotation::AwsSolutions-SMG4': expect.stringMatching(/person in the platform's admin console.*put-secret-value.*no rotation for a Lambda to run/) },
      ]);
      expect(acknowledgements(managed.secret)).toHaveLength(1);
      expect(acknowledgements(managed.clientSecret!)).toHaveLength(1);
    });
  });

  it('tags the scopes, space-separated, and the client authentication of a token that sets them', () => {
    // Act
    const { template, managed, stack } = build(THOUGHT_INDUSTRIES);

    // Assess
    expect(tagsOf(template, managed.secret)).toEqual({
      [TAG.kind]: 'token',
      [TAG.provider]: 'thought-industries',
      [TAG.environment]: 'sandbox',
      [TAG.credential]: 'acme-token',
      [TOKEN_TAG.grant]: 'client-credentials',
      [TOKEN_TAG.source]: 'keyrotor/acme-token/client',
      [TOKEN_TAG.tokenUrl]: 'https://acme.thoughtindustries.com/oauth/token',
      [TOKEN_TAG.scopes]: 'users:read courses:read',
      [TOKEN_TAG.clientAuth]: 'body',
    });
    expect(Object.values(template.findOutputs('*'))).toEqual([
      { Description: 'ARN of keyrotor/acme-token/token: Acme enterprise API', Value: stack.resolve(managed.secret.secretArn) },
    ]);
  });

  describe('with an imburse-hmac token', () => {
    let template: Template;
    let managed: ManagedToken;
    let credentialSecret: secretsmanager.Secret;

    beforeAll(() => {
      const built = build(IMBURSE);
      ({ template, managed } = built);
      credentialSecret = built.credentialSecret!;
    });

    it('creates only the token secret: the token is minted from the credential\'s managed API key', () => {
      // Assess
      template.resourceCountIs('AWS::SecretsManager::Secret', 2);
      expect(managed.clientSecret).toBeUndefined();
      expect(managed.sourceSecret).toBe(credentialSecret);
      expect(managed.sourceSecretName).toBe('keyrotor/payments');
      template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'keyrotor/payments-token/token' });
      expect(JSON.stringify(template.toJSON())).not.toContain('keyrotor/payments-token/client');
    });

    it('tags the token secret with the grant and the credential\'s secret name, without OAuth tags', () => {
      // Assess
      expect(tagsOf(template, managed.secret)).toEqual({
        [TAG.kind]: 'token',
        [TAG.provider]: 'imburse',
        [TAG.environment]: 'sandbox',
        [TAG.credential]: 'payments-token',
        [TOKEN_TAG.grant]: 'imburse-hmac',
        [TOKEN_TAG.source]: 'keyrotor/payments',
      });
    });

    it('raises no cdk-nag findings, acknowledging only SMG4 on the token secret', () => {
      // Act (the bare credential secret outside the construct has no rotation, so only the construct is checked)
      const findings = awsSolutionsFindings(managed);

      // Assess
      expect(findings).toEqual([]);
      expect(acknowledgements(managed).map((entry) => Object.keys(entry))).toEqual([['Annotation::AwsSolutions-SMG4']]);
    });
  });

  it('keeps both secret definitions unchanged when the token config changes, so a deploy cannot overwrite a token or a client', () => {
    // Prepare
    const changed: ClientCredentialsTokenConfig = {
      ...THRIVE,
      environment: 'sandbox',
      tokenUrl: 'https://elsewhere.api.learn.link/oauth2/token/eu-west-1_Other',
      scopes: ['read'],
      clientAuth: 'body',
      description: 'moved',
    };
    const definitions = (token: TokenConfig) => {
      const { template, managed } = build(token);
      return [managed.secret, managed.clientSecret!].map((secret) => {
        const { Tags: _tags, ...definition } = propertiesOf(template, secret);
        return definition;
      });
    };

    // Act & Assess
    expect(definitions(changed)).toEqual(definitions(THRIVE));
  });

  it('keeps a removal policy the caller asks for', () => {
    // Prepare
    const stack = bareStack();
    const { key } = new EncryptionKey(stack, 'EncryptionKey');

    // Act
    new ManagedToken(stack, 'learn-token', { token: THRIVE, encryptionKey: key, removalPolicy: RemovalPolicy.DESTROY });

    // Assess
    const template = Template.fromStack(stack);
    template.allResources('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: Match.stringLikeRegexp('/client$') });
  });

  describe('with contradicting props', () => {
    it('refuses an imburse-hmac token without the credential\'s secret', () => {
      // Prepare
      const stack = bareStack();
      const { key } = new EncryptionKey(stack, 'EncryptionKey');

      // Act & Assess
      expect(() => new ManagedToken(stack, 'payments-token', { token: IMBURSE, encryptionKey: key })).toThrow(
        'ManagedToken Test/payments-token: credentialSecret is required for the imburse-hmac token payments-token: pass the managed secret keyrotor/payments',
      );
    });

    it('refuses a credential secret for a client-credentials token', () => {
      // Prepare
      const stack = bareStack();
      const { key } = new EncryptionKey(stack, 'EncryptionKey');
      const credentialSecret = new secretsmanager.Secret(stack, 'CredentialSecret');

      // Act & Assess
      expect(() => new ManagedToken(stack, 'learn-token', { token: THRIVE, encryptionKey: key, credentialSecret })).toThrow(
        'credentialSecret is only for imburse-hmac tokens; the client-credentials token learn-token is minted from its own OAuth client secret',
      );
    });
  });
});
