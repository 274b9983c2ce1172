import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { IConstruct } from 'constructs';

/** The services that encrypt keyrotor's data with its key, by their endpoint prefix. */
export type KeyUsingService = 'secretsmanager' | 'dynamodb' | 'sqs' | 'sns';

const SID_SUFFIX: Record<KeyUsingService, string> = {
  secretsmanager: 'SecretsManager',
  dynamodb: 'DynamoDb',
  sqs: 'Sqs',
  sns: 'Sns',
};

/** KMS actions a principal needs when a service encrypts or decrypts on its behalf. */
export type KeyAction = 'kms:Decrypt' | 'kms:GenerateDataKey';

/**
 * A statement that lets a principal use `key` only when `service` calls KMS for it in the
 * stack's region (`kms:ViaService`): the principal can read and write that service's encrypted
 * data, but cannot decrypt anything with the key directly.
 *
 * Its Sid is `UseKeyOnlyThrough<Service>`, so each service appears once per policy.
 *
 * @example
 * role.addToPolicy(keyUseViaService(this, key, 'dynamodb', ['kms:Decrypt', 'kms:GenerateDataKey']));
 */
export function keyUseViaService(scope: IConstruct, key: kms.IKey, service: KeyUsingService, actions: readonly KeyAction[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: `UseKeyOnlyThrough${SID_SUFFIX[service]}`,
    actions: [...actions],
    resources: [key.keyArn],
    conditions: {
      StringEquals: { 'kms:ViaService': `${service}.${Stack.of(scope).region}.amazonaws.com` },
    },
  });
}
