import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Where the rotation handler lives (see DESIGN §7: `lambdas/handlers/<name>.ts` exports `handler`). */
export const ROTATION_HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'handlers', 'rotate.ts');

/** The Secrets Manager actions the four rotation steps need on each secret they rotate. */
export const ROTATION_SECRET_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
] as const;

/** Log levels Powertools Logger understands. */
export type RotationLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Properties of {@link RotationFunction}. */
export interface RotationFunctionProps {
  /** The key the rotated secrets are encrypted with. */
  readonly encryptionKey: kms.IKey;

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
 * It runs under its own role with no AWS managed policies: it can write its own log group,
 * use the encryption key only through Secrets Manager, and read and stage versions of exactly
 * the secrets passed to {@link RotationFunction.grantRotation}. Secrets Manager invokes it
 * synchronously and reports failures itself, so it has no dead-letter queue; an alarm on its
 * `Errors` metric tells people instead.
 *
 * @example
 * const rotation = new RotationFunction(this, 'RotationFunction', { encryptionKey: key, alarmTopic: topic });
 * rotation.grantRotation(secret);
 */
export class RotationFunction extends Construct {
  /** The function; Secrets Manager invokes it with `{ SecretId, ClientRequestToken, Step }`. */
  public readonly function: nodejs.NodejsFunction;
  /** The execution role. */
  public readonly role: iam.Role;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** Goes off when any invocation fails. */
  public readonly errorsAlarm: cloudwatch.Alarm;

  private secretsStatement: iam.PolicyStatement | undefined;

  public constructor(scope: Construct, id: string, props: RotationFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });

    // An explicit role instead of the default one, which would attach the AWS managed
    // AWSLambdaBasicExecutionRole policy (logs on every log group in the account).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'keyrotor rotation function: rotates the managed API-key secrets',
    });
    this.logGroup.grantWrite(this.role);

    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'UseKeyOnlyThroughSecretsManager',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` },
        },
      }),
    );

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: 'keyrotor: Secrets Manager rotation steps for platform API keys',
      entry: props.entry ?? ROTATION_HANDLER_ENTRY,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.minutes(2),
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'keyrotor-rotate',
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        // esbuild is a local dev dependency: never fall back to a Docker build.
        forceDockerBundling: false,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        externalModules: ['@aws-sdk/*'],
        logLevel: nodejs.LogLevel.WARNING,
      },
    });

    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription:
        'keyrotor: a Secrets Manager rotation step failed. Check the rotation function logs and the secret\'s rotation status (a dangling AWSPENDING blocks the next rotation).',
      metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      this.errorsAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
    }
  }

  /**
   * Lets the function run the rotation steps on `secret`: the four Secrets Manager actions on
   * that secret's ARN only. Invocation by Secrets Manager is granted separately, per secret,
   * by whoever schedules the rotation.
   */
  public grantRotation(secret: secretsmanager.ISecret): void {
    // A full ARN names exactly one secret. A partial one (a secret imported by name) gets the
    // six-character suffix Secrets Manager appends to every name, and nothing wider.
    const arn = secret.secretFullArn ?? `${secret.secretArn}-??????`;
    if (this.secretsStatement) {
      this.secretsStatement.addResources(arn);
      return;
    }
    this.secretsStatement = new iam.PolicyStatement({
      sid: 'RotateManagedSecrets',
      actions: [...ROTATION_SECRET_ACTIONS],
      resources: [arn],
    });
    this.role.addToPolicy(this.secretsStatement);
  }
}
