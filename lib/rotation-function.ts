import * as path from 'node:path';
import { Validations, type Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { DEFAULT_GRACE_PERIOD_HOURS, MAX_GRACE_PERIOD_HOURS, MIN_GRACE_PERIOD_HOURS } from './config';
import type { DeferredRevocation } from './deferred-revocation';
import { KeyrotorFunction, type KeyrotorLogLevel } from './keyrotor-function';
import type { LedgerTable } from './ledger-table';
import { wildcardResourceFindingId } from './wildcard-resource-finding';
import { TAG } from '../lambdas/core/contracts';

/** Where the rotation handler lives (see DESIGN §7: `lambdas/handlers/<name>.ts` exports `handler`). */
export const ROTATION_HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'handlers', 'rotate.ts');

/** The Secrets Manager actions the four rotation steps need on each secret they rotate. */
export const ROTATION_SECRET_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
] as const;

/** Promotion keeps the tags that describe the current key true (the sweep reads them instead of the value). */
export const ROTATION_TAG_ACTIONS = ['secretsmanager:TagResource', 'secretsmanager:UntagResource'] as const;
/** The only tags the rotation function may set or remove. */
export const ROTATION_TAG_KEYS = [TAG.expiresAt, TAG.compromised] as const;

/** Log levels Powertools Logger understands. */
export type RotationLogLevel = KeyrotorLogLevel;

/** Properties of {@link RotationFunction}. */
export interface RotationFunctionProps {
  /** The key the rotated secrets are encrypted with; the function's log group is encrypted with it too. */
  readonly encryptionKey: kms.IKey;

  /** The ledger each rotation records its intent and state changes in. */
  readonly ledger: LedgerTable;

  /** Where finishSecret schedules the revocation of the replaced key. */
  readonly revocation: DeferredRevocation;

  /**
   * How long a replaced key stays alive after a rotation before it is revoked (whole hours,
   * 1–2160). Must be longer than any reader's cache TTL.
   * @default DEFAULT_GRACE_PERIOD_HOURS (24)
   */
  readonly gracePeriodHours?: number;

  /**
   * The handler file. It must export `handler`.
   * @default ROTATION_HANDLER_ENTRY (`lambdas/handlers/rotate.ts`)
   */
  readonly entry?: string;

  /**
   * How long one rotation step may run. `testSecret` retries with backoff while a new key
   * propagates at the platform, so this is well above a single HTTP call.
   * @default Duration.minutes(2)
   */
  readonly timeout?: Duration;

  /**
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * `POWERTOOLS_LOG_LEVEL` of the handler.
   * @default 'INFO'
   */
  readonly logLevel?: RotationLogLevel;

  /**
   * Where the error alarm notifies people.
   * @default - the alarm is created without an action
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * The Lambda function Secrets Manager calls for the four rotation steps of every managed secret.
 *
 * A {@link KeyrotorFunction} (runtime, bundling, logs, own role, errors alarm) whose role may
 * additionally: read and stage versions of exactly the secrets passed to
 * {@link RotationFunction.grantRotation}; read and write ledger records; create revocation
 * schedules (`revoke-*` in keyrotor's schedule group) and pass the scheduler role to
 * EventBridge Scheduler only; and use the encryption key only through Secrets Manager and
 * DynamoDB. Secrets Manager invokes it synchronously and reports failures itself, so it has no
 * dead-letter queue; the alarm on its `Errors` metric tells people instead.
 *
 * @example
 * const rotation = new RotationFunction(this, 'RotationFunction', { encryptionKey: key, ledger, revocation, alarmTopic: topic });
 * rotation.grantRotation(secret);
 */
export class RotationFunction extends KeyrotorFunction {
  public constructor(scope: Construct, id: string, props: RotationFunctionProps) {
    const { ledger, revocation } = props;
    super(scope, id, {
      entry: props.entry ?? ROTATION_HANDLER_ENTRY,
      serviceName: 'keyrotor-rotate',
      description: 'keyrotor: Secrets Manager rotation steps for platform API keys',
      roleDescription: 'keyrotor rotation function: rotates the managed API-key secrets',
      alarmDescription:
        'keyrotor: a Secrets Manager rotation step failed. Check the rotation function logs and the secret\'s rotation status (a dangling AWSPENDING blocks the next rotation).',
      // Names and ARNs the handler validates at cold start (lambdas/handlers/config.ts).
      environment: {
        KEYROTOR_LEDGER_TABLE: ledger.table.tableName,
        KEYROTOR_REVOKER_ARN: revocation.revoker.function.functionArn,
        KEYROTOR_SCHEDULER_ROLE_ARN: revocation.schedulerRole.roleArn,
        KEYROTOR_SCHEDULE_GROUP: revocation.scheduleGroupName,
        KEYROTOR_REVOCATION_DLQ_ARN: revocation.deadLetterQueue.queueArn,
        KEYROTOR_GRACE_PERIOD_HOURS: String(checkedGracePeriodHours(props.gracePeriodHours)),
      },
      logEncryptionKey: props.encryptionKey,
      ...(props.timeout === undefined ? {} : { timeout: props.timeout }),
      ...(props.memorySize === undefined ? {} : { memorySize: props.memorySize }),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.logLevel === undefined ? {} : { logLevel: props.logLevel }),
      ...(props.alarmTopic === undefined ? {} : { alarmTopic: props.alarmTopic }),
    });

    this.allowKeyThrough(props.encryptionKey, 'secretsmanager', ['kms:Decrypt', 'kms:GenerateDataKey']);
    ledger.grantRecordKeeping(this.role);
    revocation.grantScheduling(this.role);
    // The environment names the group by a literal; the group must exist before a rotation runs.
    this.function.node.addDependency(revocation.scheduleGroup);

    Validations.of(this.role.node.findChild('DefaultPolicy')).acknowledge({
      id: wildcardResourceFindingId(this, revocation.revocationScheduleArns),
      reason:
        'Each revocation schedule is named revoke-<ClientRequestToken> after the rotation that creates it, which is unknown until that rotation runs. ' +
        'The wildcard allows only scheduler:CreateSchedule, only for revoke-* schedules in keyrotor\'s own schedule group, and such a schedule can only invoke the revoker through the scheduler role.',
    });
  }

  /**
   * Lets the function run the rotation steps on `secret`: the four Secrets Manager actions on
   * that secret's ARN only. Invocation by Secrets Manager is granted separately, per secret,
   * by whoever schedules the rotation.
   */
  public grantRotation(secret: secretsmanager.ISecret): void {
    this.allowOnSecret(secret, 'RotateManagedSecrets', ROTATION_SECRET_ACTIONS);
    this.allowOnSecret(secret, 'TagCurrentKey', ROTATION_TAG_ACTIONS, { 'ForAllValues:StringEquals': { 'aws:TagKeys': [...ROTATION_TAG_KEYS] } });
  }
}

/** The grace period in whole hours, or an error naming the allowed range. */
function checkedGracePeriodHours(hours: number = DEFAULT_GRACE_PERIOD_HOURS): number {
  if (!Number.isInteger(hours) || hours < MIN_GRACE_PERIOD_HOURS || hours > MAX_GRACE_PERIOD_HOURS) {
    throw new Error(`gracePeriodHours must be a whole number of hours from ${MIN_GRACE_PERIOD_HOURS} to ${MAX_GRACE_PERIOD_HOURS}, not ${hours}`);
  }
  return hours;
}
