import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { EVENT_SOURCE, EVENT_TYPES } from '../lambdas/core/events';
import type { AlertNotifier } from './alert-notifier';
import { DEFAULT_EVENTS, eventsProblems, type EventsConfig } from './config';
import type { KeyrotorFunction } from './keyrotor-function';

/** The custom bus's name when none is given. Publishers find it in `KEYROTOR_EVENT_BUS`. */
export const DEFAULT_EVENT_BUS_NAME = 'keyrotor';

/** The environment variable that tells a publisher the bus's name. */
export const EVENT_BUS_ENVIRONMENT_VARIABLE = 'KEYROTOR_EVENT_BUS';

/** The service principal of EventBridge: it delivers to rule targets and their dead-letter queues. */
export const EVENTS_PRINCIPAL = 'events.amazonaws.com';

/** The event source and detail type of Secrets Manager's rotation events (CloudTrail service events, on the default bus). */
export const SECRETS_MANAGER_EVENT_SOURCE = 'aws.secretsmanager';
export const CLOUDTRAIL_SERVICE_EVENT = 'AWS Service Event via CloudTrail';

/**
 * The Secrets Manager rotation events that reach a person, by their CloudTrail `eventName` (AWS Secrets
 * Manager User Guide, "AWS CloudTrail entries for Secrets Manager", log entries for rotation; all of them
 * `AWS Service Event via CloudTrail`): a rotation failed (`RotationFailed`), was abandoned half-way
 * (`RotationAbandoned`: a new version was written while AWSPENDING was staged), or the test of a rotation
 * configuration failed (`TestRotationFailed`: when rotation is configured with `RotateImmediately: false`,
 * Secrets Manager runs the function's testSecret step instead of rotating; the scheduled rotation would fail
 * the same way). The notifier alerts on exactly these (`SECRETS_MANAGER_FAILURE_EVENTS`
 * in lambdas/core/alert-messages.ts); the started and succeeded events are routine and not routed.
 */
export const SECRETS_MANAGER_ROTATION_FAILURES = ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'] as const;

/**
 * How EventBridge retries delivering an event to the notifier before it dead-letters it. Two hours
 * rather than EventBridge's 24: the dead-letter alarm reaches people through CloudWatch, without
 * the notifier, so an alert that cannot be delivered is heard about within hours, not a day late.
 */
export const NOTIFY_RETRY_ATTEMPTS = 20;
export const NOTIFY_MAX_EVENT_AGE = Duration.hours(2);

/** The characters and length EventBridge accepts in a custom bus's name. */
const EVENT_BUS_NAME_PATTERN = /^[A-Za-z0-9._-]{1,256}$/;

/** Properties of {@link KeyrotorEvents}. */
export interface KeyrotorEventsProps {
  /** Turns the routed events into alerts; its dead-letter queue takes the events EventBridge cannot deliver to it. */
  readonly notifier: AlertNotifier;

  /**
   * The custom bus's name. Names are unique per account and region.
   * @default DEFAULT_EVENT_BUS_NAME (`keyrotor`)
   */
  readonly eventBusName?: string;

  /**
   * How long the archive keeps keyrotor's events.
   * @default DEFAULT_EVENTS (365 days)
   */
  readonly settings?: EventsConfig;

  /**
   * What happens to the archive when it leaves the stack. It is the audit trail of keyrotor's
   * events, so it is kept unless a caller decides otherwise (its retention period still trims it).
   * @default RemovalPolicy.RETAIN
   */
  readonly archiveRemovalPolicy?: RemovalPolicy;
}

/**
 * keyrotor's events (DESIGN §2): a custom EventBridge bus that carries the ten keyrotor event
 * types, an archive of them (the audit trail, and what can be replayed), and the rules that send
 * what a person must see to the notifier:
 *
 * - on the custom bus, every keyrotor event (source `keyrotor`, each of the ten detail types);
 * - on the account's default bus, where AWS services deliver their events, Secrets Manager's own
 *   `RotationFailed`, `RotationAbandoned` and `TestRotationFailed` (CloudTrail service events).
 *
 * Each rule's target retries for {@link NOTIFY_MAX_EVENT_AGE} and then dead-letters the event in
 * the notifier's queue (encrypted with the customer-managed key, TLS only, alarmed); EventBridge
 * may send there only for these rules (queue policy) and use the key only for SQS queues of this
 * account and region (key policy).
 *
 * Who may publish: functions passed to {@link KeyrotorEvents.addPublisher}, which may put only
 * keyrotor events (source `keyrotor`, the ten detail types) and only on this bus. The bus has no
 * resource policy, so no other account can put events on it; a principal of this account whose
 * own IAM policy allows `events:PutEvents` on the bus can — which is how a person raises
 * `KeyCompromised` by hand.
 *
 * The bus and the archive are encrypted at rest with an AWS owned key: the events hold no secret
 * value (the publisher validates and redacts every event; keys appear only as fingerprints).
 *
 * @example
 * const keyrotorEvents = new KeyrotorEvents(this, 'Events', { notifier, settings: config.events });
 * keyrotorEvents.addPublisher(rotationFunction);
 */
export class KeyrotorEvents extends Construct {
  /** The custom bus keyrotor publishes on. */
  public readonly bus: events.EventBus;
  /** Every keyrotor event, kept for the configured retention. */
  public readonly archive: events.Archive;
  /** Every keyrotor event on the custom bus → the notifier. */
  public readonly keyrotorEventsRule: events.Rule;
  /** Secrets Manager's rotation failures on the default bus → the notifier. */
  public readonly rotationFailuresRule: events.Rule;
  /** The settings the archive was made with. */
  public readonly settings: EventsConfig;

  public constructor(scope: Construct, id: string, props: KeyrotorEventsProps) {
    super(scope, id);
    const eventBusName = props.eventBusName ?? DEFAULT_EVENT_BUS_NAME;
    const settings = props.settings ?? DEFAULT_EVENTS;
    const problems = [...eventBusNameProblems(eventBusName), ...eventsProblems(settings)];
    if (problems.length > 0) throw new Error(`KeyrotorEvents ${this.node.path}: invalid properties:\n  - ${problems.join('\n  - ')}`);
    this.settings = settings;

    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName,
      description: 'keyrotor: rotation, revocation, expiry and token events (source keyrotor); security tools subscribe here',
    });

    this.archive = new events.Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      description: `keyrotor: every keyrotor event, kept ${settings.archiveRetentionDays} days (audit trail, replay)`,
      eventPattern: { source: [EVENT_SOURCE] },
      retention: Duration.days(settings.archiveRetentionDays),
    });
    this.archive.applyRemovalPolicy(props.archiveRemovalPolicy ?? RemovalPolicy.RETAIN);

    const { notifier } = props;
    const toNotifier = new targets.LambdaFunction(notifier.notifier.function, {
      deadLetterQueue: notifier.deadLetterQueue,
      retryAttempts: NOTIFY_RETRY_ATTEMPTS,
      maxEventAge: NOTIFY_MAX_EVENT_AGE,
    });

    this.keyrotorEventsRule = new events.Rule(this, 'KeyrotorEventsRule', {
      eventBus: this.bus,
      description: 'keyrotor: every keyrotor event to the notifier, which alerts on those a person must see',
      eventPattern: { source: [EVENT_SOURCE], detailType: [...EVENT_TYPES] },
      targets: [toNotifier],
    });

    // Secrets Manager delivers its service events to the default bus only; the rule has to live there.
    this.rotationFailuresRule = new events.Rule(this, 'RotationFailuresRule', {
      description: `keyrotor: Secrets Manager rotation failures (${SECRETS_MANAGER_ROTATION_FAILURES.join(', ')}) to the notifier`,
      eventPattern: {
        source: [SECRETS_MANAGER_EVENT_SOURCE],
        detailType: [CLOUDTRAIL_SERVICE_EVENT],
        detail: { eventName: [...SECRETS_MANAGER_ROTATION_FAILURES] },
      },
      targets: [toNotifier],
    });

    // The targets' dead-letter queue is encrypted: EventBridge sends to it through SQS, which
    // uses the key as EventBridge. SQS's encryption context confines that use to SQS queues of
    // this account and region. (The queue's own ARN would make the key depend on the queue, which
    // depends on the key; the queue policy already lets EventBridge send only for these rules.)
    const deadLetterKey = notifier.deadLetterQueue.encryptionMasterKey;
    deadLetterKey?.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventBridgeToDeadLetterUndeliveredAlerts',
        principals: [new iam.ServicePrincipal(EVENTS_PRINCIPAL)],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:sqs:arn': Stack.of(this).formatArn({ service: 'sqs', resource: '*' }) } },
      }),
    );
  }

  /**
   * Makes `publisher` a publisher of keyrotor events: tells it the bus in
   * {@link EVENT_BUS_ENVIRONMENT_VARIABLE} and allows `events:PutEvents` on this bus only, for
   * keyrotor's source and detail types only (`events:source`, `events:detail-type`).
   */
  public addPublisher(publisher: KeyrotorFunction): void {
    publisher.function.addEnvironment(EVENT_BUS_ENVIRONMENT_VARIABLE, this.bus.eventBusName);
    publisher.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PublishKeyrotorEvents',
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: { StringEquals: { 'events:source': EVENT_SOURCE, 'events:detail-type': [...EVENT_TYPES] } },
      }),
    );
  }
}

/** Why EventBridge would refuse `name` for a custom bus, if it would. */
function eventBusNameProblems(name: string): string[] {
  if (name === 'default') return ['eventBusName: must not be "default": keyrotor needs its own bus (the default bus is the account\'s)'];
  if (name.startsWith('aws.')) return ['eventBusName: must not start with "aws." (reserved for AWS partner event sources)'];
  if (!EVENT_BUS_NAME_PATTERN.test(name)) return ['eventBusName: must be 1 to 256 letters, digits, dots, hyphens or underscores'];
  return [];
}

