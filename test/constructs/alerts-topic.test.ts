import { Match, Template } from 'aws-cdk-lib/assertions';
import { AlertsTopic } from '../../lib/alerts-topic';
import { EncryptionKey } from '../../lib/encryption-key';
import { awsSolutionsFindings, bareStack } from './test-stack';

function build(emails?: readonly string[]) {
  const stack = bareStack();
  const { key } = new EncryptionKey(stack, 'EncryptionKey');
  const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key, ...(emails ? { emails } : {}) });
  return { stack, key, alerts, template: Template.fromStack(stack) };
}

describe('Construct: AlertsTopic', () => {
  it('encrypts the topic with the customer-managed key', () => {
    // Prepare & Act
    const { stack, key, template } = build();

    // Assess
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: stack.resolve(key.keyArn),
      SignatureVersion: '2',
    });
  });

  it('denies publishing without TLS', () => {
    // Prepare & Act
    const { template } = build();

    // Assess
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Principal: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('subscribes every configured e-mail address', () => {
    // Prepare & Act
    const { template } = build(['secops@example.com', 'oncall@example.com']);

    // Assess
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const email of ['secops@example.com', 'oncall@example.com']) {
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: email });
    }
  });

  it('creates no subscription when no addresses are configured', () => {
    // Prepare & Act
    const { template } = build([]);

    // Assess
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('lets CloudWatch alarms use the key, so alarm notifications reach the encrypted topic', () => {
    // Prepare & Act
    const { template } = build();

    // Assess
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('raises no cdk-nag AwsSolutions findings', () => {
    // Prepare
    const { stack } = build(['secops@example.com']);

    // Act
    const findings = awsSolutionsFindings(stack);

    // Assess
    expect(findings).toEqual([]);
  });
});
