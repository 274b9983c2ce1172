import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { loadConfig } from '../../lib/config';
import { KeyrotorStack } from '../../lib/keyrotor-stack';
import { awsSolutionsFindings, buildKeyrotorStack, TEST_ENV, testConfig } from './test-stack';

const EXAMPLE_CONFIG = path.join(__dirname, '..', '..', 'keyrotor.config.json');

/** Every `Validations.of(x).acknowledge(...)` made anywhere under `scope`. */
function acknowledgements(scope: IConstruct): unknown[] {
  return scope.node
    .findAll()
    .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
    .map((entry) => entry.data);
}

describe('Construct: KeyrotorStack', () => {
  describe('with the fixture handler', () => {
    let stack: KeyrotorStack;
    let template: Template;

    beforeAll(() => {
      stack = buildKeyrotorStack(testConfig());
      template = Template.fromStack(stack);
    });

    it('composes one key, one topic, one rotation function and one rotated secret per credential', () => {
      // Assess
      template.resourceCountIs('AWS::KMS::Key', 1);
      template.resourceCountIs('AWS::SNS::Topic', 1);
      template.resourceCountIs('AWS::Lambda::Function', 1);
      template.resourceCountIs('AWS::SecretsManager::Secret', 2);
      template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
      template.resourceCountIs('AWS::Lambda::Permission', 2);
      template.resourceCountIs('AWS::CloudWatch::Alarm', 1);
      template.resourceCountIs('AWS::SNS::Subscription', 2);
      expect([...stack.secrets.keys()]).toEqual(['acme-prod', 'acme-sandbox']);
    });

    it('applies the default interval and per-credential overrides', () => {
      // Assess
      template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        SecretId: stack.resolve(stack.secrets.get('acme-prod')!.secret.secretArn),
        RotationRules: { ScheduleExpression: 'rate(90 days)' },
        RotateImmediatelyOnUpdate: false,
      });
      template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        SecretId: stack.resolve(stack.secrets.get('acme-sandbox')!.secret.secretArn),
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
        RotateImmediatelyOnUpdate: false,
      });
    });

    it('encrypts every secret and the topic with the one key', () => {
      // Assess
      const keyArn = stack.resolve(stack.encryptionKey.key.keyArn);
      for (const name of ['keyrotor/acme-prod', 'keyrotor/acme-sandbox']) {
        template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: name, KmsKeyId: keyArn });
      }
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
    });

    it('scopes the rotation function to the managed secrets\' ARNs', () => {
      // Assess
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'RotateManagedSecrets',
              Resource: [...stack.secrets.values()].map((managed) => stack.resolve(managed.secret.secretArn)),
            }),
          ]),
        },
      });
    });

    it('routes the rotation error alarm to the alerts topic', () => {
      // Assess
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Errors',
        AlarmActions: [stack.resolve(stack.alerts.topic.topicArn)],
      });
    });

    it('outputs each secret ARN and the topic ARN', () => {
      // Assess
      const values = Object.values(template.findOutputs('*')).map((output) => output.Value);
      expect(values).toEqual(
        expect.arrayContaining([
          ...[...stack.secrets.values()].map((managed) => stack.resolve(managed.secret.secretArn)),
          stack.resolve(stack.alerts.topic.topicArn),
        ]),
      );
    });

    it('is protected against termination', () => {
      // Assess
      expect(stack.terminationProtection).toBe(true);
    });

    it('raises no cdk-nag AwsSolutions findings and needs no acknowledgements', () => {
      // Act
      const findings = awsSolutionsFindings(stack);

      // Assess
      expect(findings).toEqual([]);
      expect(acknowledgements(stack)).toEqual([]);
    });
  });

  describe('as the app builds it (real handler, example config, validators on)', () => {
    it('synthesizes with cdk-nag and the built-in CloudFormation validator reporting nothing', () => {
      // Prepare
      const app = new App();
      const stack = new KeyrotorStack(app, 'Keyrotor', { config: loadConfig(EXAMPLE_CONFIG), env: TEST_ENV });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

      // Act (an error-level finding makes synth throw)
      const assembly = app.synth();

      // Assess
      const report = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as {
        pluginReports: { violations?: unknown[] }[];
      };
      expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
      const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
      const fn = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::Lambda::Function');
      expect(fn?.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
    });
  });
});
