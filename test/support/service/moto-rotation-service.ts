import type { Context } from 'aws-lambda';
import { RotateSecretCommand, type SecretsManagerClient, CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { SecretsManagerStore } from '../../../lambdas/adapters/secrets-manager-store';
import { TAG } from '../../../lambdas/core/contracts';
import type { SecretMetadata } from '../../../lambdas/ports/secret-store';
import type { ImburseSandbox } from '../sandboxes/imburse-sandbox';

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
 * The real SecretsManagerStore against moto_server, playing the rotation service where moto
 * cannot. moto's RotateSecret cannot stand in for the service: with a Lambda ARN it tries to
 * run the function in Docker; without one it stages the new version AWSCURRENT at once (even
 * an empty one); and for an existing version id it replaces that version with an empty one,
 * where AWS treats the token as a retry of the rotation. So:
 * - `startRotation` (RotateSecret: for keyrotor submit, whose token already holds the pending
 *   key, or with a new token, which opens the rotation as below) invokes the handler's four
 *   steps in-process, as the service does;
 * - `scheduledRotation` opens the rotation the way the service does, with a new token staged
 *   AWSPENDING and no value yet. moto cannot hold such a version, so that one version is kept
 *   in this overlay: describe() shows it (and the label leaves any other version), getValue()
 *   finds no value for it, and putPendingValue() writes it to moto for real. Every other call
 *   goes to moto unchanged.
 */
export class MotoRotationService extends SecretsManagerStore {
  public readonly failures: unknown[] = [];
  /** The rotation handler the service invokes (set after construction: the handler's own store is this object). */
  public handler: RotationHandler | undefined;
  readonly #openVersions = new Map<string, string>();

  public constructor(client: SecretsManagerClient) {
    super(client);
  }

  public override async describe(secretId: string): Promise<SecretMetadata> {
    const metadata = await super.describe(secretId);
    const open = this.#openVersions.get(metadata.arn);
    if (open === undefined || metadata.versionIdsToStages[open] !== undefined) return metadata;
    const versions = Object.fromEntries(
      Object.entries(metadata.versionIdsToStages).map(([id, stages]) => [id, stages.filter((s) => s !== 'AWSPENDING')]),
    );
    return { ...metadata, versionIdsToStages: { ...versions, [open]: ['AWSPENDING'] } };
  }

  public override async getValue(secretId: string, selector: { versionId?: string; stage?: string }): Promise<string | undefined> {
    const arn = (await super.describe(secretId)).arn;
    const open = this.#openVersions.get(arn);
    if (open !== undefined && (selector.versionId === open || (selector.versionId === undefined && selector.stage === 'AWSPENDING'))) return undefined;
    return super.getValue(secretId, selector);
  }

  public override async putPendingValue(secretId: string, versionId: string, value: string): Promise<void> {
    await super.putPendingValue(secretId, versionId, value);
    const arn = (await super.describe(secretId)).arn;
    if (this.#openVersions.get(arn) === versionId) this.#openVersions.delete(arn);
  }

  /**
   * RotateSecret as the service runs it: an existing token re-drives that rotation; a new one opens
   * a rotation (AWSPENDING, no value yet) unless another is in progress, which the service refuses.
   * The steps run asynchronously at AWS; here they run before this returns.
   */
  public override async startRotation(secretId: string, token: string): Promise<void> {
    const metadata = await this.describe(secretId);
    if (metadata.versionIdsToStages[token] === undefined) {
      const inProgress = Object.entries(metadata.versionIdsToStages).find(([, stages]) => stages.includes('AWSPENDING') && !stages.includes('AWSCURRENT'));
      if (inProgress) throw Object.assign(new Error('A previous rotation isn’t complete. That rotation will be reattempted.'), { name: 'InvalidRequestException' });
      this.openPendingVersion(metadata.arn, token);
    }
    await this.runSteps(secretId, token);
  }

  /** What the service does when a schedule fires: a new token staged AWSPENDING with no value, then the four steps. */
  public async scheduledRotation(secretId: string, token: string = randomUUID()): Promise<{ token: string; ok: boolean }> {
    this.openPendingVersion((await super.describe(secretId)).arn, token);
    return { token, ok: await this.runSteps(secretId, token) };
  }

  /** Opens a rotation without running it (the steps are then driven one by one). */
  public openPendingVersion(arn: string, token: string): void {
    this.#openVersions.set(arn, token);
  }

  /** The four steps, as the service invokes them; a failure is recorded, as the service records RotationFailed. */
  public async runSteps(secretId: string, token: string): Promise<boolean> {
    try {
      for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) await this.runStep(secretId, token, Step);
      return true;
    } catch (error) {
      this.failures.push(error);
      return false;
    }
  }

  public async runStep(secretId: string, token: string, Step: string): Promise<unknown> {
    if (!this.handler) throw new Error('MotoRotationService: set handler first');
    return this.handler({ SecretId: secretId, ClientRequestToken: token, Step }, LAMBDA_CONTEXT);
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

/** An Imburse secret as keyrotor stores it: the sandbox's tenant and one key pair. */
export interface ManagedImburseSecret {
  readonly arn: string;
  /** The key pair the sandbox issued for it. */
  readonly original: { readonly publicKey: string; readonly privateKey: string };
  /** The secret's value (what a provider reads). */
  readonly value: Record<string, string>;
}

/** A new key pair in `imburse`, stored in a managed secret (tagged, rotation enabled) named `keyrotor/imburse-…`. */
export async function createManagedImburseSecret(client: SecretsManagerClient, imburse: ImburseSandbox): Promise<ManagedImburseSecret> {
  const original = imburse.addKey();
  const value = { provider: 'imburse', environment: 'sandbox', baseUrl: imburse.baseUrl, tenantId: imburse.tenantId, ...original };
  const arn = await createManagedSecret(client, `keyrotor/imburse-${randomUUID().slice(0, 8)}`, JSON.stringify(value), {
    [TAG.provider]: 'imburse',
    [TAG.environment]: 'sandbox',
    [TAG.kind]: 'api-key',
    [TAG.baseUrl]: imburse.baseUrl,
  });
  return { arn, original, value };
}
