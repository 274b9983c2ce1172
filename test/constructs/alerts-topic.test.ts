import { Match, Template } from 'aws-cdk-lib/assertions';
import { AlertsTopic } from '../../lib/alerts-topic';
import { EncryptionKey } from '../../lib/encryption-key';
import { awsSolutionsFindings, bareStack, logicalIdOf, propertiesOf } from './test-stack';

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

  it('is one topic, encrypted with keyrotor\'s own key (not the AWS managed alias/aws/sns, which CloudWatch alarms cannot use)', () => {
    // Prepare & Act
    const { key, alerts, template } = build();

    // Assess
    template.resourceCountIs('AWS::SNS::Topic', 1);
    expect(propertiesOf(template, alerts.topic)).toEqual({
      DisplayName: 'keyrotor alerts',
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalIdOf(key), 'Arn'] },
      SignatureVersion: '2',
    });
  });

  it('has exactly one policy, on this topic, and it only denies publishing without TLS (aws:SecureTransport)', () => {
    // Prepare & Act
    const { stack, alerts, template } = build();

    // Assess
    template.resourceCountIs('AWS::SNS::TopicPolicy', 1);
    const [policy] = Object.values(template.findResources('AWS::SNS::TopicPolicy')) as { Properties: unknown }[];
    const topicRef = stack.resolve(alerts.topic.topicArn);
    expect(policy?.Properties).toEqual({
      Topics: [topicRef],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AllowPublishThroughSSLOnly',
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Resource: topicRef,
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
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
