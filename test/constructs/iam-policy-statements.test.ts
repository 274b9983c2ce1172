import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { identityPolicyStatements, isWriteAction, wildcardWriteGrants } from './iam-policy-statements';
import { bareStack, logicalIdOf } from './test-stack';

describe('Function: isWriteAction', () => {
  it.each(['dynamodb:PutItem', 'kms:Decrypt', 'kms:GenerateDataKey', 'iam:PassRole', 'sqs:SendMessage', 's3:*', '*', 'logs:CreateLogStream'])(
    'counts %s as a write action',
    (action) => {
      // Act & Assess
      expect(isWriteAction(action)).toBe(true);
    },
  );

  it.each(['dynamodb:GetItem', 'dynamodb:Query', 'secretsmanager:DescribeSecret', 's3:List*', 'kms:DescribeKey', 'dynamodb:BatchGetItem'])(
    'counts %s as read-only',
    (action) => {
      // Act & Assess
      expect(isWriteAction(action)).toBe(false);
    },
  );
});

describe('Function: wildcardWriteGrants', () => {
  it('finds write actions on "*" in attached and inline policies, and leaves read-only ones and denials alone', () => {
    // Prepare
    const stack = bareStack();
    const role = new iam.Role(stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: {
        Inline: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: ['*'] })] }),
      },
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeInstances', 'sqs:SendMessage'], resources: ['*'] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ['xray:GetSamplingRules'], resources: ['*'] }));
    role.addToPolicy(new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['s3:DeleteObject'], resources: ['*'] }));
    const managed = new iam.ManagedPolicy(stack, 'Managed', {
      roles: [role],
      statements: [new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: ['*'] })],
    });

    // Act
    const template = Template.fromStack(stack);
    const grants = wildcardWriteGrants(template);

    // Assess
    expect(grants.sort()).toEqual(
      [
        `${logicalIdOf(role)} (AWS::IAM::Role): kms:Decrypt on *`,
        `${logicalIdOf(role.node.findChild('DefaultPolicy'))} (AWS::IAM::Policy): sqs:SendMessage on *`,
        `${logicalIdOf(managed)} (AWS::IAM::ManagedPolicy): dynamodb:PutItem on *`,
      ].sort(),
    );
    expect(identityPolicyStatements(template)).toHaveLength(5);
  });

  it('finds nothing when every write action names its resource', () => {
    // Prepare
    const stack = bareStack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: ['arn:aws:sqs:eu-west-1:111111111111:queue'] }));

    // Act & Assess
    expect(wildcardWriteGrants(Template.fromStack(stack))).toEqual([]);
  });
});
