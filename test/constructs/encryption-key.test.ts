import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EncryptionKey } from '../../lib/encryption-key';
import { awsSolutionsFindings, bareStack } from './test-stack';

describe('Construct: EncryptionKey', () => {
  it('creates one customer-managed key with automatic rotation', () => {
    // Prepare
    const stack = bareStack();

    // Act
    new EncryptionKey(stack, 'EncryptionKey');

    // Assess
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, PendingWindowInDays: 30 });
  });

  it('retains the key when it leaves the stack', () => {
    // Prepare
    const stack = bareStack();

    // Act
    new EncryptionKey(stack, 'EncryptionKey');

    // Assess
    Template.fromStack(stack).hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('creates no alias unless asked, and the requested one when asked', () => {
    // Prepare
    const withoutAlias = bareStack();
    const withAlias = bareStack();

    // Act
    new EncryptionKey(withoutAlias, 'EncryptionKey');
    new EncryptionKey(withAlias, 'EncryptionKey', { alias: 'alias/keyrotor', pendingWindow: Duration.days(7), removalPolicy: RemovalPolicy.DESTROY });

    // Assess
    Template.fromStack(withoutAlias).resourceCountIs('AWS::KMS::Alias', 0);
    const template = Template.fromStack(withAlias);
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/keyrotor' });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete', Properties: { PendingWindowInDays: 7 } });
  });

  it('raises no cdk-nag AwsSolutions findings', () => {
    // Prepare
    const stack = bareStack();
    new EncryptionKey(stack, 'EncryptionKey');

    // Act
    Template.fromStack(stack);
    const findings = awsSolutionsFindings(stack);

    // Assess
    expect(findings).toEqual([]);
  });
});
