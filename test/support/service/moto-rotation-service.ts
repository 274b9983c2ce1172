import type { Context } from 'aws-lambda';
import { RotateSecretCommand, type SecretsManagerClient, CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerStore } from '../../../lambdas/adapters/secrets-manager-store';

export type RotationHandler = (event: unknown, context: Context) => Promise<unknown>;

export const LAMBDA_CONTEXT = {
  functionName: 'keyrotor-rotate',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:keyrotor-rotate',
  memoryLimitInMB: '256',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/keyrotor-rotate',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 120_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as unknown as Context;

/**
 * The real SecretsManagerStore against moto_server, except for RotateSecret. moto cannot stand
 * in for the service there: with a Lambda ARN it tries to run the function in Docker; without
 * one it stages the new version AWSCURRENT at once (even an empty one); and for an existing
 * version id it replaces that version with an empty one, where AWS treats the token as a retry
 * of the rotation. So this does what the service does for keyrotor's submit path (the token is
 * a version that already holds the pending key): invoke the handler's four steps in-process.
 * Scheduled rotations (an empty AWSPENDING version) are covered against the in-memory fake,
 * which follows AWS's documented semantics.
 */
export class MotoRotationService extends SecretsManagerStore {
  public readonly failures: unknown[] = [];

  public constructor(
    client: SecretsManagerClient,
    private readonly handler: RotationHandler,
  ) {
    super(client);
  }

  public override async startRotation(secretId: string, token: string): Promise<void> {
    const metadata = await this.describe(secretId);
    if (metadata.versionIdsToStages[token] === undefined) {
      throw new Error(`MotoRotationService only re-drives existing versions; ${token} is not one`);
    }
    await this.runSteps(secretId, token);
  }

  /** The four steps, as the service invokes them; a failure is recorded, as the service records RotationFailed. */
  public async runSteps(secretId: string, token: string): Promise<boolean> {
    try {
      for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
        await this.handler({ SecretId: secretId, ClientRequestToken: token, Step }, LAMBDA_CONTEXT);
      }
      return true;
    } catch (error) {
      this.failures.push(error);
      return false;
    }
  }
}

/**
 * Creates a managed secret in moto the way `cdk deploy` leaves one: tagged, rotation enabled,
 * no rotation in progress. moto enables rotation only through RotateSecret; without a Lambda
 * and with RotateImmediately false it stages a copy of the value AWSCURRENT, which leaves the
 * value as it was.
 */
export async function createManagedSecret(
  client: SecretsManagerClient,
  name: string,
  value: string,
  tags: Record<string, string>,
): Promise<string> {
  const created = await client.send(
    new CreateSecretCommand({ Name: name, SecretString: value, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }),
  );
  const arn = created.ARN as string;
  await client.send(new RotateSecretCommand({ SecretId: arn, RotationRules: { AutomaticallyAfterDays: 90 }, RotateImmediately: false }));
  return arn;
}
