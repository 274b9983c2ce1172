import * as path from 'node:path';
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { keyUseViaService, type KeyAction, type KeyUsingService } from './key-use-via-service';

/** Log levels Powertools Logger understands. */
export type KeyrotorLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** The runtime every keyrotor function runs on. */
export const KEYROTOR_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * The script that trims a bundle's source map to keyrotor's own code (see the file). Plain
 * CommonJS: NodejsFunction runs it with `node` after esbuild.
 */
export const TRIM_SOURCE_MAP_SCRIPT = path.join(__dirname, 'bundling', 'trim-source-map.cjs');

/**
 * How every keyrotor function is bundled: the local esbuild (never Docker), minified, with a
 * source map (`--enable-source-maps` is set) without the sources' text.
 *
 * The AWS SDK is bundled rather than taken from the runtime, and every package is resolved through
 * its ES module build first (`module` before `main`): esbuild then keeps only the commands and
 * helpers a handler uses, in one file, instead of loading each client's CommonJS build (every
 * command of the service) across hundreds of files at cold start. The SDK the tests ran against is
 * also the one deployed: the lockfile's, not whichever the runtime carries that day.
 *
 * The source map is then trimmed to keyrotor's own code ({@link TRIM_SOURCE_MAP_SCRIPT}): its
 * frames map to TypeScript files and lines, a dependency's frames show their place in the bundle.
 * The whole map would be nine tenths SDK, read at every cold start.
 *
 * Measured by bench/cold-start.ts (bench/RESULTS.md); test/integration/deployed-bundles.test.ts
 * runs the bundles themselves, and keyrotor-stack.test.ts checks that cdk.out holds exactly them.
 */
export const KEYROTOR_BUNDLING = {
  forceDockerBundling: false,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: [],
  mainFields: ['module', 'main'],
  logLevel: nodejs.LogLevel.WARNING,
  commandHooks: {
    beforeBundling: (): string[] => [],
    beforeInstall: (): string[] => [],
    afterBundling: (_inputDir: string, outputDir: string): string[] => [
      `"${process.execPath}" "${TRIM_SOURCE_MAP_SCRIPT}" "${path.join(outputDir, 'index.js.map')}"`,
    ],
  },
} as const satisfies nodejs.BundlingOptions;

/** Properties of {@link KeyrotorFunction}. */
export interface KeyrotorFunctionProps {
  /** The handler file. It must export `handler` (DESIGN §7: `lambdas/handlers/<name>.ts`). */
  readonly entry: string;

  /** `POWERTOOLS_SERVICE_NAME`, e.g. `keyrotor-rotate`; it names the service in every log line. */
  readonly serviceName: string;

  /** The function's description, shown in the Lambda console. */
  readonly description: string;

  /** The execution role's description, shown in the IAM console. */
  readonly roleDescription: string;

  /** What the errors alarm tells the person who receives it: what failed and where to look. */
  readonly alarmDescription: string;

  /**
   * Variables the handler reads at cold start, beside the Powertools and source-map ones.
   * Names and ARNs only: a secret value never goes into an environment variable.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;

  /**
   * How long one invocation may run.
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
   * The customer-managed key the function's log group is encrypted with. The key's policy gets a
   * statement that lets CloudWatch Logs use it for log groups of this account and region only.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * `POWERTOOLS_LOG_LEVEL` of the handler.
   * @default 'INFO'
   */
  readonly logLevel?: KeyrotorLogLevel;

  /**
   * Where the errors alarm notifies people.
   * @default - the alarm is created without an action
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Concurrent executions reserved for the function, which are also its ceiling: `1` makes
   * invocations run one at a time (a second one is throttled, and an asynchronous one retried
   * later by Lambda). Reserving takes capacity from the account's unreserved pool, which Lambda
   * never lets drop below its minimum (100 in most accounts): an account whose concurrency limit
   * is still the new-account 10 cannot reserve any until the limit is raised.
   * @default - none: the function shares the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;

  /**
   * Where Lambda puts an asynchronous invocation that failed all its retries. Only for
   * functions that are invoked asynchronously; the role may send to this queue only (and use
   * the queue's key through SQS when it is encrypted).
   * @default - no dead-letter queue
   */
  readonly deadLetterQueue?: sqs.IQueue;
}

/**
 * One keyrotor Lambda function, set up the way every keyrotor function is: Node.js 24 on
 * arm64, bundled as {@link KEYROTOR_BUNDLING} says (local esbuild, minified, the AWS SDK inside,
 * a source map of keyrotor's code), Powertools configured through the environment, its own log group with a retention
 * period, its own role without AWS managed policies, and an alarm on its `Errors` metric.
 *
 * The role starts with nothing but writing to the function's own log group; the construct that
 * owns the function grants the rest, each grant next to the reason for it.
 *
 * @example
 * const fn = new KeyrotorFunction(this, 'Revoker', {
 *   entry: REVOKE_HANDLER_ENTRY,
 *   serviceName: 'keyrotor-revoke',
 *   description: 'keyrotor: revokes old keys after their grace period',
 *   roleDescription: 'keyrotor revoker',
 *   alarmDescription: 'keyrotor: a revocation failed',
 *   alarmTopic: topic,
 * });
 * fn.allowKeyThrough(key, 'secretsmanager', ['kms:Decrypt']);
 */
export class KeyrotorFunction extends Construct {
  /** The function. */
  public readonly function: nodejs.NodejsFunction;
  /** The execution role. */
  public readonly role: iam.Role;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** Goes off when any invocation fails. */
  public readonly errorsAlarm: cloudwatch.Alarm;

  /** One statement per Sid, so granting more secrets adds resources instead of statements. */
  private readonly secretStatements = new Map<string, iam.PolicyStatement>();

  public constructor(scope: Construct, id: string, props: KeyrotorFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      ...(props.logEncryptionKey === undefined ? {} : { encryptionKey: props.logEncryptionKey }),
    });
    if (props.logEncryptionKey) allowLogEncryption(this, props.logEncryptionKey);

    // An explicit role instead of the default one, which would attach the AWS managed
    // AWSLambdaBasicExecutionRole policy (logs on every log group in the account).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.roleDescription,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: props.description,
      entry: props.entry,
      handler: 'handler',
      runtime: KEYROTOR_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.minutes(2),
      role: this.role,
      logGroup: this.logGroup,
      ...(props.deadLetterQueue === undefined ? {} : { deadLetterQueue: props.deadLetterQueue }),
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: { ...KEYROTOR_BUNDLING, externalModules: [...KEYROTOR_BUNDLING.externalModules], mainFields: [...KEYROTOR_BUNDLING.mainFields] },
    });

    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: props.alarmDescription,
      metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      this.errorsAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
    }

    // Lambda sends to the dead-letter queue with the function's role (the Function construct
    // grants sqs:SendMessage on it); an encrypted queue also needs its key, through SQS only.
    const deadLetterKey = props.deadLetterQueue?.encryptionMasterKey;
    if (deadLetterKey) this.allowKeyThrough(deadLetterKey, 'sqs', ['kms:GenerateDataKey', 'kms:Decrypt']);
  }

  /**
   * Allows `actions` on `secret`'s ARN only, in the statement `sid` (created on first use, with
   * `conditions` if given; later secrets join its resources and its conditions apply to them).
   */
  public allowOnSecret(secret: secretsmanager.ISecret, sid: string, actions: readonly string[], conditions?: Readonly<Record<string, unknown>>): void {
    // A full ARN names exactly one secret. A partial one (a secret imported by name) gets the
    // six-character suffix Secrets Manager appends to every name, and nothing wider.
    const arn = secret.secretFullArn ?? `${secret.secretArn}-??????`;
    const existing = this.secretStatements.get(sid);
    if (existing) {
      existing.addResources(arn);
      return;
    }
    const statement = new iam.PolicyStatement({ sid, actions: [...actions], resources: [arn], ...(conditions === undefined ? {} : { conditions: { ...conditions } }) });
    this.secretStatements.set(sid, statement);
    this.role.addToPolicy(statement);
  }

  /**
   * Lets the function publish to `topic`: `sns:Publish` on that topic only, in the statement
   * `sid`, and — when the topic is encrypted — its key only through SNS.
   */
  public allowPublishing(topic: sns.ITopic, sid = 'PublishAlerts'): void {
    this.role.addToPolicy(new iam.PolicyStatement({ sid, actions: ['sns:Publish'], resources: [topic.topicArn] }));
    if (topic.masterKey) this.allowKeyThrough(topic.masterKey, 'sns', ['kms:GenerateDataKey', 'kms:Decrypt']);
  }

  /** Lets the function use `key` for `actions` only when `service` calls KMS on its behalf. */
  public allowKeyThrough(key: kms.IKey, service: KeyUsingService, actions: readonly KeyAction[]): void {
    this.role.addToPolicy(keyUseViaService(this, key, service, actions));
  }
}

/**
 * Lets CloudWatch Logs (its regional service principal, which encrypts and decrypts log events
 * itself) use `key` for log groups of this account and region only. The log group's own ARN would
 * make the key depend on the log group, which depends on the key. Every function adds the same
 * statement; the key policy keeps one copy.
 */
function allowLogEncryption(scope: Construct, key: kms.IKey): void {
  const stack = Stack.of(scope);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchLogsToEncryptKeyrotorLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      // In a key policy, "*" means this key.
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        },
      },
    }),
  );
}
