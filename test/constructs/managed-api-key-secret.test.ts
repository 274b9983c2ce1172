import { Match, Template } from 'aws-cdk-lib/assertions';
import type { Stack } from 'aws-cdk-lib';
import { TAG } from '../../lambdas/core/contracts';
import type { CredentialConfig } from '../../lib/config';
import { EncryptionKey } from '../../lib/encryption-key';
import { BOOTSTRAP_SECRET_KEY, BOOTSTRAP_SECRET_MARKER, ManagedApiKeySecret, rotationRate } from '../../lib/managed-api-key-secret';
import { RotationFunction } from '../../lib/rotation-function';
import { awsSolutionsFindings, bareStack, FIXTURE_ROTATION_HANDLER, logicalIdOf, rotationDependencies } from './test-stack';

const PRODUCTION: CredentialConfig = {
  id: 'acme-prod',
  provider: 'thought-industries',
  environment: 'production',
  baseUrl: 'https://acme.thoughtindustries.com',
  rotationIntervalDays: 90,
};

function build(credentials: readonly CredentialConfig[]) {
  const stack = bareStack();
  const { key } = new EncryptionKey(stack, 'EncryptionKey');
  const rotationFunction = new RotationFunction(stack, 'RotationFunction', {
    encryptionKey: key,
    ...rotationDependencies(stack, key),
    entry: FIXTURE_ROTATION_HANDLER,
  });
  const managed = credentials.map(
    (credential) => new ManagedApiKeySecret(stack, credential.id, { credential, encryptionKey: key, rotationFunction }),
  );
  return { stack, key, rotationFunction, managed, template: Template.fromStack(stack) };
}

/** The properties of the only secret in `template`. */
function onlySecret(template: Template): Record<string, unknown> {
  const secrets = Object.values(template.findResources('AWS::SecretsManager::Secret'));
  expect(secrets).toHaveLength(1);
  return (secrets[0] as { Properties: Record<string, unknown> }).Properties;
}

describe('Construct: ManagedApiKeySecret', () => {
  let stack: Stack;
  let template: Template;
  let managed: ManagedApiKeySecret;
  let rotationFunction: RotationFunction;
  let keyArn: unknown;

  beforeAll(() => {
    const built = build([PRODUCTION]);
    ({ stack, template, rotationFunction } = built);
    managed = built.managed[0]!;
    keyArn = stack.resolve(built.key.keyArn);
  });

  it('names the secret keyrotor/<id> and encrypts it with the customer-managed key', () => {
    // Assess
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'keyrotor/acme-prod',
      KmsKeyId: keyArn,
    });
  });

  it('keeps the logical ids that deployed stacks already have, so CloudFormation never replaces a secret', () => {
    // Assess (ids synthesized for keyrotor/acme-prod before ManagedApiKeySecret delegated to ManagedApiKey)
    expect(logicalIdOf(managed.secret)).toBe('acmeprodSecretEA944C5E');
    expect(logicalIdOf(managed.invokePermission)).toBe('acmeprodRotationInvokePermissionC084FF6C');
    expect(logicalIdOf(managed.rotationSchedule)).toBe('acmeprodRotationSchedule234DB623');
  });

  it('retains the secret when it leaves the stack', () => {
    // Assess
    template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('starts from a constant bootstrap value and never a SecretString', () => {
    // Assess
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: {
        SecretStringTemplate: JSON.stringify(BOOTSTRAP_SECRET_MARKER),
        GenerateStringKey: BOOTSTRAP_SECRET_KEY,
        ExcludePunctuation: true,
      },
      SecretString: Match.absent(),
    });
    expect(JSON.stringify(BOOTSTRAP_SECRET_MARKER)).toBe('{"keyrotor":"awaiting-first-key"}');
  });

  it('keeps the secret definition unchanged when the credential config changes, so a deploy cannot overwrite the key', () => {
    // Prepare
    const changed: CredentialConfig = {
      ...PRODUCTION,
      environment: 'sandbox',
      baseUrl: 'https://elsewhere.thoughtindustries.com',
      rotationIntervalDays: 30,
      description: 'moved to another instance',
    };

    // Act
    const before = onlySecret(build([PRODUCTION]).template);
    const after = onlySecret(build([changed]).template);

    // Assess
    const { Tags: tagsBefore, ...valueBefore } = before;
    const { Tags: tagsAfter, ...valueAfter } = after;
    expect(valueAfter).toEqual(valueBefore);
    expect(tagsAfter).not.toEqual(tagsBefore);
  });

  it('carries the credential metadata in keyrotor:* tags, and no other tags', () => {
    // Prepare
    const tags = onlySecret(template).Tags;

    // Assess
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

  it('schedules native rotation every 90 days through the rotation function without rotating on deploy', () => {
    // Assess
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: stack.resolve(managed.secret.secretArn),
      RotationLambdaARN: stack.resolve(rotationFunction.function.functionArn),
      RotationRules: { ScheduleExpression: 'rate(90 days)' },
      RotateImmediatelyOnUpdate: false,
    });
  });

  it('uses the credential\'s own rotation interval', () => {
    // Prepare & Act
    const { template: weekly } = build([{ ...PRODUCTION, rotationIntervalDays: 7 }]);

    // Assess
    weekly.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(7 days)' } });
  });

  it('writes rate expressions in Secrets Manager\'s form', () => {
    // Assess
    expect(rotationRate(1)).toBe('rate(1 day)');
    expect(rotationRate(90)).toBe('rate(90 days)');
    expect(rotationRate(1000)).toBe('rate(1000 days)');
  });

  it('lets Secrets Manager invoke the function only for this secret in this account', () => {
    // Assess
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: stack.resolve(rotationFunction.function.functionArn),
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: '111111111111',
      SourceArn: stack.resolve(managed.secret.secretArn),
    });
  });

  it('creates the schedule only after the invoke permission exists', () => {
    // Assess (Secrets Manager test-invokes testSecret when the schedule is created)
    const permissionId = stack.getLogicalId(managed.invokePermission);
    template.hasResource('AWS::SecretsManager::RotationSchedule', { DependsOn: Match.arrayWith([permissionId]) });
  });

  it('grants the rotation function this secret\'s ARN, without GetRandomPassword', () => {
    // Assess
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: [
              'secretsmanager:DescribeSecret',
              'secretsmanager:GetSecretValue',
              'secretsmanager:PutSecretValue',
              'secretsmanager:UpdateSecretVersionStage',
            ],
            Resource: stack.resolve(managed.secret.secretArn),
          }),
        ]),
      },
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('GetRandomPassword');
  });

  it('outputs the secret ARN', () => {
    // Assess
    const outputs = Object.values(template.findOutputs('*'));
    expect(outputs).toContainEqual(
      expect.objectContaining({ Value: stack.resolve(managed.secret.secretArn), Description: expect.stringContaining('keyrotor/acme-prod') }),
    );
  });

  it('raises no cdk-nag AwsSolutions findings', () => {
    // Act
    const findings = awsSolutionsFindings(stack);

    // Assess
    expect(findings).toEqual([]);
  });
});
