import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { EncryptionKey } from '../../lib/encryption-key';
import { DEFAULT_LEDGER_TABLE_NAME, LEDGER_PUT_ONLY_ACTIONS, LEDGER_TTL_ATTRIBUTE, LEDGER_WRITER_ACTIONS, LedgerTable } from '../../lib/ledger-table';
import { useKeyOnlyThroughDynamoDb } from './assertions';
import { statementsOfRole } from './iam-policy-statements';
import { awsSolutionsFindings, bareStack, logicalIdOf } from './test-stack';

describe('Construct: LedgerTable', () => {
  let stack: Stack;
  let template: Template;
  let ledger: LedgerTable;
  let writer: iam.Role;
  let keyArn: unknown;

  beforeAll(() => {
    stack = bareStack();
    const { key } = new EncryptionKey(stack, 'EncryptionKey');
    ledger = new LedgerTable(stack, 'Ledger', { encryptionKey: key });
    writer = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    ledger.grantRecordKeeping(writer);
    template = Template.fromStack(stack);
    keyArn = stack.resolve(key.keyArn);
  });

  it('keys items by pk (partition) and sk (sort), both strings, and defines no other attribute or index', () => {
    // Assess
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    });
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table')) as { Properties: Record<string, unknown> }[];
    expect(table?.Properties.GlobalSecondaryIndexes).toBeUndefined();
    expect(table?.Properties.LocalSecondaryIndexes).toBeUndefined();
  });

  it('bills on demand, without provisioned throughput', () => {
    // Assess
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table')) as { Properties: Record<string, unknown> }[];
    expect(table?.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table?.Properties.ProvisionedThroughput).toBeUndefined();
  });

  it('has point-in-time recovery on', () => {
    // Assess
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('is encrypted with the customer-managed key', () => {
    // Assess
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
    });
  });

  it('lets DynamoDB expire items by their ttl attribute, which only the notifier\'s alert markers carry', () => {
    // Assess
    expect(LEDGER_TTL_ATTRIBUTE).toBe('ttl');
    template.hasResourceProperties('AWS::DynamoDB::Table', { TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } });
  });

  it('is named keyrotor-ledger, the table keyrotor history reads', () => {
    // Assess
    expect(DEFAULT_LEDGER_TABLE_NAME).toBe('keyrotor-ledger');
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'keyrotor-ledger' });
    expect(stack.resolve(ledger.table.tableName)).toEqual({ Ref: logicalIdOf(ledger.table) });
  });

  it('is retained when it leaves the stack and protected against deletion', () => {
    // Assess
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { DeletionProtectionEnabled: true },
    });
  });

  it('takes another name, removal policy and deletion protection when asked', () => {
    // Prepare
    const other = bareStack();
    const { key } = new EncryptionKey(other, 'EncryptionKey');

    // Act
    new LedgerTable(other, 'Ledger', {
      encryptionKey: key,
      tableName: 'keyrotor-ledger-staging',
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
    });

    // Assess
    Template.fromStack(other).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: { TableName: 'keyrotor-ledger-staging', DeletionProtectionEnabled: false },
    });
  });

  it('grants record keeping as GetItem and PutItem on this table only, and the key only through DynamoDB', () => {
    // Assess
    expect(statementsOfRole(template, logicalIdOf(writer))).toEqual([
      {
        Sid: 'KeepLedgerRecords',
        Effect: 'Allow',
        Action: [...LEDGER_WRITER_ACTIONS],
        Resource: stack.resolve(ledger.table.tableArn),
      },
      useKeyOnlyThroughDynamoDb(keyArn),
    ]);
    expect(LEDGER_WRITER_ACTIONS).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
  });

  it('grants put-only as PutItem on this table only, in the given statement, and the key only through DynamoDB', () => {
    // Prepare
    const other = bareStack();
    const { key } = new EncryptionKey(other, 'EncryptionKey');
    const own = new LedgerTable(other, 'Ledger', { encryptionKey: key });
    const [marker, putter] = ['Marker', 'Putter'].map((id) => new iam.Role(other, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));

    // Act
    own.grantPutOnly(marker!, 'RecordAlertMarkers');
    own.grantPutOnly(putter!);

    // Assess
    const built = Template.fromStack(other);
    const kmsStatement = useKeyOnlyThroughDynamoDb(other.resolve(key.keyArn));
    expect(statementsOfRole(built, logicalIdOf(marker!))).toEqual([
      { Sid: 'RecordAlertMarkers', Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: other.resolve(own.table.tableArn) },
      kmsStatement,
    ]);
    expect(statementsOfRole(built, logicalIdOf(putter!))[0]).toMatchObject({ Sid: 'PutLedgerItems', Action: 'dynamodb:PutItem' });
    expect(LEDGER_PUT_ONLY_ACTIONS).toEqual(['dynamodb:PutItem']);
  });

  it('raises no cdk-nag AwsSolutions findings', () => {
    // Act
    const findings = awsSolutionsFindings(stack);

    // Assess
    expect(findings).toEqual([]);
  });
});
