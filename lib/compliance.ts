import { Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import { AlertNotifier } from './alert-notifier';
import { CompromiseResponse } from './compromise-response';
import { DailySweep } from './daily-sweep';
import { DeferredRevocation } from './deferred-revocation';
import type { KeyrotorFunction } from './keyrotor-function';
import { LedgerTable } from './ledger-table';
import { ManagedToken } from './managed-token';
import { RotationFunction } from './rotation-function';
import { TokenRefresher } from './token-refresher';

/** The rule-id prefix of cdk-nag's NIST 800-53 rev 5 pack (`NIST80053R5Checks`). */
export const NIST_800_53_R5 = 'NIST.800.53.R5';

/** What a keyrotor function is for; its NIST acknowledgements depend on it. */
type FunctionRole = 'rotation' | 'notifier' | 'revoker' | 'compromise' | 'sweep' | 'refresher';

/**
 * Why each NIST 800-53 rev 5 finding that keyrotor does not fix does not apply. Findings that
 * apply are fixed in the constructs instead (log groups encrypted with keyrotor's key, the
 * ledger's point-in-time recovery, dead-letter queues, key rotation, encrypted queues and topic).
 */
export const NIST_REASONS = {
  lambdaOutsideVpc:
    'Not in a VPC: the function calls the learning platforms\' public HTTPS APIs and AWS service APIs (Secrets Manager, DynamoDB, EventBridge, SNS, Scheduler) and nothing private. ' +
    'A VPC would add NAT gateways (cost, a new failure point) and no isolation for this traffic; access is controlled by its least-privilege role and TLS.',
  inlinePolicy:
    'This AWS::IAM::Policy belongs to exactly one keyrotor role, is created and deleted with it, and holds only grants scoped to that role\'s resources. ' +
    'A customer-managed policy would add versions and reuse that nothing needs, and would let another principal be attached to these grants by mistake.',
  rotationWithoutDeadLetterQueue:
    'Secrets Manager invokes the rotation function itself for each rotation step and records a failed step as a failed rotation (RotationFailed, routed to the alerts topic) and retries it; ' +
    'a dead-letter queue only receives asynchronous invocations, and nothing invokes this function asynchronously. Its Errors alarm tells people.',
  concurrency: {
    rotation:
      'No reserved concurrency because Secrets Manager invokes the rotation function for every secret and a throttled step fails that rotation; a cap would turn a fleet rotation ' +
      '(already paced by keyrotor under Secrets Manager\'s 50 writes/s quota) into RotationFailed alerts, and reserving capacity fails deploys in accounts at the unreserved minimum.',
    notifier:
      'No reserved concurrency because the notifier is invoked asynchronously by EventBridge rules at the rate keyrotor raises events; Lambda retries throttled events and dead-letters the rest, ' +
      'so a cap would only delay alerts during an incident, when they matter most. Alert deduplication in the ledger already bounds what reaches people.',
    revoker:
      'No reserved concurrency because the revoker runs from one-time Scheduler schedules, one per replaced key, spread over time by each rotation\'s grace period; a cap would only delay ' +
      'revocations, and reserving capacity takes it from the account\'s unreserved pool, which fails deploys in accounts at the minimum.',
    compromise:
      'No reserved concurrency because the compromise responder must revoke a leaked key and start its rotation at once, also when many keys leak together; a cap would queue those responses ' +
      'behind Lambda\'s throttling retries. It is invoked only by KeyCompromised reports on keyrotor\'s own bus, and failed invocations go to its dead-letter queue.',
    sweep:
      'No reserved concurrency because the daily sweep continues a long run in a new asynchronous invocation of itself, which may start while its parent is still returning; a cap of one ' +
      'would throttle that continuation. Its load is bounded by its own per-platform pacing (KEYROTOR_SWEEP_CONCURRENCY) and it runs once a day.',
    // The token refresher reserves a concurrency of one (a token never has two renewals in flight): no reason needed.
  } satisfies Partial<Record<FunctionRole, string>>,
  ledgerWithoutBackupPlan:
    'The ledger has point-in-time recovery (restore to any second of the last 35 days), deletion protection and a RETAIN policy, so AWS Backup adds no recovery point it lacks, ' +
    'while a plan would add a vault, a backup role with an AWS managed policy and another key grant. Accounts that mandate AWS Backup select tables from an organisation-wide plan.',
  tokenSecretWithoutRotation:
    'This secret holds a short-lived access token that the token refresher (an EventBridge Scheduler schedule) renews before it expires and is its only writer, far more often than any rotation schedule. ' +
    'A Secrets Manager rotation schedule would race the refresher and could replace a valid token.',
  oauthClientSecretWithoutRotation:
    'This secret holds an OAuth client that a person creates in the platform\'s admin console; keyrotor knows no platform API that issues or revokes OAuth clients, so there is nothing for a ' +
    'rotation Lambda to run. The access token it mints is short-lived and renewed by the token refresher; docs/runbooks/token-refresh-failing.md covers replacing the client.',
} as const;

/**
 * Acknowledges, on each resource of `stack` it concerns, every cdk-nag NIST 800-53 rev 5 finding
 * that does not apply to keyrotor, each with the reason in {@link NIST_REASONS}. It recognises
 * keyrotor's constructs by type and role and acknowledges nothing else, so a new resource that
 * raises a finding stays a finding until someone decides about it. Calling it again adds nothing.
 *
 * @example
 * const stack = new KeyrotorStack(app, 'Keyrotor', { config });
 * acknowledgeNistFindings(stack);
 * Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
 */
export function acknowledgeNistFindings(stack: Stack): void {
  const roles = functionRoles(stack);
  for (const construct of stack.node.findAll()) {
    if (Stack.of(construct) !== stack) continue;
    if (construct instanceof lambda.CfnFunction) acknowledgeFunction(construct, roles);
    else if (construct instanceof iam.CfnPolicy) acknowledgePolicy(construct);
    else if (construct instanceof LedgerTable) acknowledgeLedger(construct);
    else if (construct instanceof ManagedToken) acknowledgeToken(construct);
  }
}

/** Each keyrotor function's role, by its L1 function, from the construct that owns it. */
function functionRoles(stack: Stack): Map<lambda.CfnFunction, FunctionRole> {
  const roles = new Map<lambda.CfnFunction, FunctionRole>();
  const add = (owner: KeyrotorFunction, role: FunctionRole) => roles.set(owner.function.node.defaultChild as lambda.CfnFunction, role);
  for (const construct of stack.node.findAll()) {
    if (construct instanceof RotationFunction) add(construct, 'rotation');
    else if (construct instanceof AlertNotifier) add(construct.notifier, 'notifier');
    else if (construct instanceof DeferredRevocation) add(construct.revoker, 'revoker');
    else if (construct instanceof CompromiseResponse) add(construct.responder, 'compromise');
    else if (construct instanceof DailySweep) add(construct.function, 'sweep');
    else if (construct instanceof TokenRefresher) add(construct.refresher, 'refresher');
  }
  return roles;
}

function acknowledgeFunction(fn: lambda.CfnFunction, roles: ReadonlyMap<lambda.CfnFunction, FunctionRole>): void {
  const role = roles.get(fn);
  // A function keyrotor does not know keeps its findings.
  if (role === undefined) return;
  const resolve = (value: unknown): unknown => Stack.of(fn).resolve(value);
  if (resolve(fn.vpcConfig) === undefined) acknowledgeOnce(fn, 'LambdaInsideVPC', NIST_REASONS.lambdaOutsideVpc);
  const concurrencyReason = (NIST_REASONS.concurrency as Partial<Record<FunctionRole, string>>)[role];
  if (resolve(fn.reservedConcurrentExecutions) === undefined && concurrencyReason !== undefined) acknowledgeOnce(fn, 'LambdaConcurrency', concurrencyReason);
  // Only the rotation function is invoked synchronously; every other one has a dead-letter queue.
  if (role === 'rotation' && resolve(fn.deadLetterConfig) === undefined) acknowledgeOnce(fn, 'LambdaDLQ', NIST_REASONS.rotationWithoutDeadLetterQueue);
}

/** A policy attached to keyrotor roles only; one attached to a user or a group keeps its finding. */
function acknowledgePolicy(policy: iam.CfnPolicy): void {
  const attached = (value: unknown): unknown[] => {
    const resolved = Stack.of(policy).resolve(value) as unknown;
    return Array.isArray(resolved) ? resolved : resolved === undefined ? [] : [resolved];
  };
  if (attached(policy.users).length > 0 || attached(policy.groups).length > 0 || attached(policy.roles).length === 0) return;
  acknowledgeOnce(policy, 'IAMNoInlinePolicy', NIST_REASONS.inlinePolicy);
}

/** The ledger relies on point-in-time recovery; without it, the backup finding stands. */
function acknowledgeLedger(ledger: LedgerTable): void {
  const table = ledger.table.node.defaultChild as dynamodb.CfnTable;
  const recovery = Stack.of(table).resolve(table.pointInTimeRecoverySpecification) as { pointInTimeRecoveryEnabled?: boolean } | undefined;
  if (recovery?.pointInTimeRecoveryEnabled !== true) return;
  acknowledgeOnce(table, 'DynamoDBInBackupPlan', NIST_REASONS.ledgerWithoutBackupPlan);
}

function acknowledgeToken(token: ManagedToken): void {
  acknowledgeOnce(token.secret.node.defaultChild as secretsmanager.CfnSecret, 'SecretsManagerRotationEnabled', NIST_REASONS.tokenSecretWithoutRotation);
  if (token.clientSecret) {
    acknowledgeOnce(token.clientSecret.node.defaultChild as secretsmanager.CfnSecret, 'SecretsManagerRotationEnabled', NIST_REASONS.oauthClientSecretWithoutRotation);
  }
}

/** Acknowledges the NIST rule `rule` on `scope` unless it already is (aws-cdk-lib records the id with an `Annotation::` prefix). */
function acknowledgeOnce(scope: IConstruct, rule: string, reason: string): void {
  const id = `${NIST_800_53_R5}-${rule}`;
  const already = scope.node.metadata.some(
    (entry) =>
      entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY &&
      Object.keys((entry.data ?? {}) as Record<string, string>).some((key) => key.replace(/^annotation::/i, '') === id),
  );
  if (!already) Validations.of(scope).acknowledge({ id, reason });
}
