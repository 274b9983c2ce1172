import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { TAG, type Environment, type ProviderId } from '../../lambdas/core/contracts';
import { EncryptionKey } from '../../lib/encryption-key';
import { BOOTSTRAP_SECRET_MARKER, ManagedApiKey, ManagedApiKeyPropsError, type IApiKeyRotator, type ManagedApiKeyProps } from '../../lib';
import { BOOTSTRAP_SECRET_KEY } from '../../lib/managed-api-key';
import { RotationFunction } from '../../lib/rotation-function';
import { statementsOfRole } from './iam-policy-statements';
import { awsSolutionsFindings, FIXTURE_ROTATION_HANDLER, logicalIdOf, rotationDependencies, TEST_ENV } from './test-stack';

/**
 * ManagedApiKey as another CDK app uses it: a plain stack that is not keyrotor's, with its own
 * rotation function and an application function that reads the key. Both functions are inline
 * (no bundling) and have their own roles without AWS managed policies.
 */
function consumerApp() {
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'ConsumerApp', { env: TEST_ENV });
  const rotator = inlineFunction(stack, 'Rotator');
  const reader = inlineFunction(stack, 'Reader');
  return { stack, rotator, reader };
}

function inlineFunction(stack: Stack, id: string): lambda.Function {
  const role = new iam.Role(stack, `${id}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
    role,
  });
}

const ACME: Omit<ManagedApiKeyProps, 'rotationFunction'> = {
  provider: 'thought-industries',
  environment: 'production',
  baseUrl: 'https://acme.thoughtindustries.com/',
};

/** The logical id keyrotor's stack gave `keyrotor/acme-prod` before ManagedApiKey existed (synthesized from the previous release). */
const ACME_PROD_SECRET_LOGICAL_ID = 'acmeprodSecretEA944C5E';

/** The condition on a key statement: through Secrets Manager in the test region, for the secret `name` only. */
function useOnlyThroughSecretsManagerFor(name: string) {
  return {
    StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' },
    StringLike: { 'kms:EncryptionContext:SecretARN': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:eu-west-1:111111111111:secret:${name}-??????`]] } },
  };
}

/** The only resource of `type` in `template`, with its policies. */
function onlyResource(template: Template, type: string): { Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string } {
  const resources = Object.values(template.findResources(type));
  expect(resources).toHaveLength(1);
  return resources[0] as { Properties: Record<string, unknown> };
}

/** The error `build` throws, which must be a ManagedApiKeyPropsError. */
function propsError(build: () => unknown): ManagedApiKeyPropsError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(ManagedApiKeyPropsError);
    return error as ManagedApiKeyPropsError;
  }
  throw new Error('expected ManagedApiKeyPropsError, but nothing was thrown');
}

describe('Construct: ManagedApiKey', () => {
  describe('with its defaults, in a consumer app', () => {
    let stack: Stack;
    let template: Template;
    let apiKey: ManagedApiKey;
    let rotator: lambda.Function;
    let reader: lambda.Function;
    let secretArn: unknown;
    let keyArn: unknown;
    let keyOnlyForThisSecret: unknown;

    beforeAll(() => {
      ({ stack, rotator, reader } = consumerApp());
      apiKey = new ManagedApiKey(stack, 'acme-prod', { ...ACME, rotationFunction: rotator });
      apiKey.grantRead(reader);
      template = Template.fromStack(stack);
      secretArn = stack.resolve(apiKey.secret.secretArn);
      keyArn = stack.resolve(apiKey.encryptionKey.keyArn);
      keyOnlyForThisSecret = useOnlyThroughSecretsManagerFor('keyrotor/acme-prod');
    });

    it('names the secret keyrotor/<construct id> with the logical id keyrotor\'s stack has always given it', () => {
      // Assess
      expect(apiKey.secretName).toBe('keyrotor/acme-prod');
      expect(apiKey.credentialId).toBe('acme-prod');
      template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'keyrotor/acme-prod' });
      expect(logicalIdOf(apiKey.secret)).toBe(ACME_PROD_SECRET_LOGICAL_ID);
    });

    it('encrypts the secret with a new customer-managed key that rotates, and retains both', () => {
      // Assess
      const key = onlyResource(template, 'AWS::KMS::Key');
      expect(key).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { EnableKeyRotation: true } });
      const secret = onlyResource(template, 'AWS::SecretsManager::Secret');
      expect(secret).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { KmsKeyId: keyArn } });
    });

    it('starts from the constant bootstrap value, never a SecretString', () => {
      // Assess
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: {
          SecretStringTemplate: JSON.stringify(BOOTSTRAP_SECRET_MARKER),
          GenerateStringKey: BOOTSTRAP_SECRET_KEY,
          ExcludePunctuation: true,
        },
        SecretString: Match.absent(),
      });
    });

    it('carries the metadata in exactly the five keyrotor:* tags, the base URL without its trailing slash', () => {
      // Assess
      const tags = onlyResource(template, 'AWS::SecretsManager::Secret').Properties.Tags;
      expect(tags).toHaveLength(5);
      expect(tags).toEqual(
        expect.arrayContaining([
          { Key: TAG.provider, Value: 'thought-industries' },
          { Key: TAG.environment, Value: 'production' },
          { Key: TAG.kind, Value: 'api-key' },
          { Key: TAG.baseUrl, Value: 'https://acme.thoughtindustries.com' },
          { Key: TAG.credential, Value: 'acme-prod' },
        ]),
      );
    });

    it('rotates natively every 90 days through the consumer\'s function, never on deploy, once the invoke permission exists', () => {
      // Assess
      template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
      template.hasResource('AWS::SecretsManager::RotationSchedule', {
        Properties: {
          SecretId: secretArn,
          RotationLambdaARN: stack.resolve(rotator.functionArn),
          RotationRules: { ScheduleExpression: 'rate(90 days)' },
          RotateImmediatelyOnUpdate: false,
        },
        DependsOn: [logicalIdOf(apiKey.invokePermission)],
      });
    });

    it('lets Secrets Manager invoke the rotation function for this secret in this account only', () => {
      // Assess
      template.resourceCountIs('AWS::Lambda::Permission', 1);
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: stack.resolve(rotator.functionArn),
        Principal: 'secretsmanager.amazonaws.com',
        SourceAccount: '111111111111',
        SourceArn: secretArn,
      });
    });

    it('grants the consumer\'s rotation function the four rotation steps on this secret and the key through Secrets Manager for it, nothing more', () => {
      // Assess
      expect(statementsOfRole(template, logicalIdOf(rotator.role!))).toEqual([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
          Resource: secretArn,
        },
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: keyArn,
          Condition: keyOnlyForThisSecret,
        },
      ]);
    });

    it('grantRead lets the reader get the AWSCURRENT and AWSPREVIOUS values of this secret and decrypt them only through Secrets Manager', () => {
      // Assess
      expect(statementsOfRole(template, logicalIdOf(reader.role!))).toEqual([
        {
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: secretArn,
          Condition: { 'ForAnyValue:StringEquals': { 'secretsmanager:VersionStage': ['AWSCURRENT', 'AWSPREVIOUS'] } },
        },
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: keyArn,
          Condition: keyOnlyForThisSecret,
        },
      ]);
    });

    it('grantRead grants no write, no AWSPENDING read and no access through a resource policy', () => {
      // Assess
      const readerPolicy = JSON.stringify(statementsOfRole(template, logicalIdOf(reader.role!)));
      expect(readerPolicy).not.toMatch(/PutSecretValue|UpdateSecret|AWSPENDING|GenerateDataKey|DescribeSecret|"\*"/);
      template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 0);
    });

    it('grants no GetRandomPassword: new keys come from the platform', () => {
      // Assess
      expect(JSON.stringify(template.toJSON())).not.toContain('GetRandomPassword');
    });

    it('raises no cdk-nag AwsSolutions findings in the consumer app', () => {
      // Act
      const findings = awsSolutionsFindings(stack);

      // Assess
      expect(findings).toEqual([]);
    });
  });

  describe('Method: grantRead', () => {
    it('returns a successful grant and adds Sid-less statements, so one role can read several keys', () => {
      // Prepare
      const { stack, rotator, reader } = consumerApp();
      const { key } = new EncryptionKey(stack, 'SharedKey');
      const first = new ManagedApiKey(stack, 'acme-prod', { ...ACME, encryptionKey: key, rotationFunction: rotator });
      const second = new ManagedApiKey(stack, 'acme-sandbox', { ...ACME, environment: 'sandbox', encryptionKey: key, rotationFunction: rotator });

      // Act
      const grants = [first.grantRead(reader), second.grantRead(reader)];

      // Assess
      expect(grants.every((grant) => grant.success)).toBe(true);
      const statements = statementsOfRole(Template.fromStack(stack), logicalIdOf(reader.role!));
      expect(statements).toHaveLength(4);
      expect(statements.filter((statement) => statement.Sid !== undefined)).toEqual([]);
      expect(statements.filter((statement) => statement.Action === 'secretsmanager:GetSecretValue').map((statement) => statement.Resource)).toEqual([
        stack.resolve(first.secret.secretArn),
        stack.resolve(second.secret.secretArn),
      ]);
    });

    it('puts the same statements into the secret\'s and the key\'s resource policies for a reader in another account', () => {
      // Prepare
      const { stack, rotator } = consumerApp();
      const apiKey = new ManagedApiKey(stack, 'acme-prod', { ...ACME, rotationFunction: rotator });
      const reader = iam.Role.fromRoleArn(stack, 'OtherAccountReader', 'arn:aws:iam::222222222222:role/reader');

      // Act
      const grant = apiKey.grantRead(reader);

      // Assess
      expect(grant.success).toBe(true);
      const template = Template.fromStack(stack);
      const principal = { AWS: 'arn:aws:iam::222222222222:role/reader' };
      template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
        SecretId: stack.resolve(apiKey.secret.secretArn),
        ResourcePolicy: {
          Statement: [
            {
              Effect: 'Allow',
              Principal: principal,
              Action: 'secretsmanager:GetSecretValue',
              Resource: stack.resolve(apiKey.secret.secretArn),
              Condition: { 'ForAnyValue:StringEquals': { 'secretsmanager:VersionStage': ['AWSCURRENT', 'AWSPREVIOUS'] } },
            },
          ],
        },
      });
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            { Effect: 'Allow', Principal: principal, Action: 'kms:Decrypt', Resource: '*', Condition: useOnlyThroughSecretsManagerFor('keyrotor/acme-prod') },
          ]),
        },
      });
    });
  });

  describe('with every optional property', () => {
    it('uses the given name, key, interval, description and removal policy, and creates no key of its own', () => {
      // Prepare
      const { stack, rotator } = consumerApp();
      const { key } = new EncryptionKey(stack, 'SharedKey');

      // Act
      const apiKey = new ManagedApiKey(stack, 'SandboxKey', {
        provider: 'thinkific',
        environment: 'sandbox',
        baseUrl: 'http://127.0.0.1:8080',
        secretName: 'keyrotor/school-sandbox',
        rotationIntervalDays: 1,
        encryptionKey: key,
        rotationFunction: rotator,
        removalPolicy: RemovalPolicy.DESTROY,
        description: 'Thinkific sandbox key of the school app',
      });

      // Assess
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::KMS::Key', 1);
      expect(apiKey.encryptionKey).toBe(key);
      expect(onlyResource(template, 'AWS::SecretsManager::Secret')).toMatchObject({
        DeletionPolicy: 'Delete',
        Properties: {
          Name: 'keyrotor/school-sandbox',
          KmsKeyId: stack.resolve(key.keyArn),
          Description: 'Thinkific sandbox key of the school app',
          Tags: expect.arrayContaining([
            { Key: TAG.credential, Value: 'school-sandbox' },
            { Key: TAG.baseUrl, Value: 'http://127.0.0.1:8080' },
          ]),
        },
      });
      template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(1 day)' } });
    });

    it('deletes the key it created together with the secret when told to', () => {
      // Prepare
      const { stack, rotator } = consumerApp();

      // Act
      new ManagedApiKey(stack, 'acme-prod', { ...ACME, rotationFunction: rotator, removalPolicy: RemovalPolicy.DESTROY });

      // Assess
      const template = Template.fromStack(stack);
      expect(onlyResource(template, 'AWS::KMS::Key').DeletionPolicy).toBe('Delete');
      expect(onlyResource(template, 'AWS::SecretsManager::Secret').DeletionPolicy).toBe('Delete');
    });
  });

  describe('with keyrotor\'s RotationFunction', () => {
    it('lets the rotator grant itself this secret, and invokes it', () => {
      // Prepare
      const { stack, reader } = consumerApp();
      const { key } = new EncryptionKey(stack, 'EncryptionKey');
      const rotation = new RotationFunction(stack, 'RotationFunction', { encryptionKey: key, ...rotationDependencies(stack, key), entry: FIXTURE_ROTATION_HANDLER });

      // Act
      const apiKey = new ManagedApiKey(stack, 'acme-prod', { ...ACME, encryptionKey: key, rotationFunction: rotation });
      apiKey.grantRead(reader);

      // Assess
      const template = Template.fromStack(stack);
      const secretArn = stack.resolve(apiKey.secret.secretArn);
      const rotate = statementsOfRole(template, logicalIdOf(rotation.role)).find((statement) => statement.Sid === 'RotateManagedSecrets');
      expect(rotate?.Resource).toEqual(secretArn);
      template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { SecretId: secretArn, RotationLambdaARN: stack.resolve(rotation.function.functionArn) });
      template.hasResourceProperties('AWS::Lambda::Permission', { FunctionName: stack.resolve(rotation.function.functionArn), SourceArn: secretArn });
      expect(awsSolutionsFindings(stack)).toEqual([]);
    });
  });

  describe('validation', () => {
    it('reports every invalid property in one error and creates nothing', () => {
      // Prepare
      const { stack, rotator } = consumerApp();
      const rotatorLike: IApiKeyRotator = { function: rotator, grantRotation: () => undefined };

      // Act
      const error = propsError(
        () =>
          new ManagedApiKey(stack, 'bad', {
            provider: 'moodle' as ProviderId,
            environment: 'staging' as Environment,
            baseUrl: 'http://acme.example.com',
            secretName: 'acme/bad',
            rotationIntervalDays: 0,
            description: '',
            removalPolicy: RemovalPolicy.SNAPSHOT,
            rotationFunction: rotatorLike,
          }),
      );

      // Assess
      expect(error.issues).toEqual([
        expect.stringMatching(/^secretName: must start with keyrotor\//),
        expect.stringMatching(/^provider: unknown provider "moodle"; must be one of "thought-industries", /),
        'environment: must be one of "production", "sandbox"',
        'baseUrl: must use https:// (plain http:// is allowed only for loopback hosts)',
        expect.stringMatching(/^rotationIntervalDays: must be a whole number of days from 1 to 1000/),
        expect.stringMatching(/^description: must be 1 to 2048 characters/),
        expect.stringMatching(/^removalPolicy: SNAPSHOT is not supported/),
        expect.stringMatching(/^encryptionKey: is required with a rotator such as keyrotor's RotationFunction/),
      ]);
      expect(error.message).toBe(`ManagedApiKey ConsumerApp/bad: invalid properties:\n${error.issues.map((issue) => `  - ${issue}`).join('\n')}`);
      expect(stack.node.tryFindChild('bad')?.node.children).toEqual([]);
    });

    it('reports a construct id that cannot name the secret, a malformed name after the prefix, and a function it cannot grant', () => {
      // Prepare
      const { stack } = consumerApp();
      const imported = lambda.Function.fromFunctionArn(stack, 'Imported', 'arn:aws:lambda:eu-west-1:111111111111:function:rotate');

      // Act
      const byId = propsError(() => new ManagedApiKey(stack, 'Acme Prod', { ...ACME, rotationFunction: imported }));
      const byName = propsError(() => new ManagedApiKey(stack, 'AcmeProd', { ...ACME, secretName: 'keyrotor/Acme_Prod', rotationFunction: imported }));

      // Assess
      expect(byId.issues).toEqual([
        expect.stringMatching(/^id: "Acme Prod" cannot name the secret keyrotor\/<id> .*; give secretName instead$/),
        expect.stringMatching(/^rotationFunction: has no execution role in this app/),
      ]);
      expect(byName.issues).toEqual([
        'secretName: the part after keyrotor/ must be 1 to 63 lowercase letters, digits or hyphens, starting with a letter or digit, not "Acme_Prod"',
        expect.stringMatching(/^rotationFunction: has no execution role in this app/),
      ]);
    });

    it('applies the config file\'s base URL rules: a query string, or a URL too long for its tag, is refused', () => {
      // Prepare
      const { stack, rotator } = consumerApp();

      // Act
      const error = propsError(() => new ManagedApiKey(stack, 'acme-prod', { ...ACME, baseUrl: `https://acme.example.com/${'a'.repeat(300)}?x=1`, rotationFunction: rotator }));

      // Assess
      expect(error.issues).toEqual(['baseUrl: must not contain a query string or fragment']);
    });

    it('reports a token where a literal is needed instead of judging it', () => {
      // Prepare
      const { stack, rotator } = consumerApp();

      // Act
      const error = propsError(() => new ManagedApiKey(stack, 'acme-prod', { ...ACME, baseUrl: `https://acme.${stack.urlSuffix}`, rotationFunction: rotator }));

      // Assess
      expect(error.issues).toEqual([expect.stringMatching(/^baseUrl: must be known at synth time, not a token/)]);
    });

    it('accepts what the config file accepts at its limits: loopback http and 1000 days', () => {
      // Prepare
      const { stack, rotator } = consumerApp();

      // Act & Assess
      expect(() => new ManagedApiKey(stack, 'local', { ...ACME, baseUrl: 'http://localhost:4010', rotationIntervalDays: 1000, rotationFunction: rotator })).not.toThrow();
    });
  });
});
