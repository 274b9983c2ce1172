import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TAG } from '../lambdas/core/contracts';
import { EVENT_SOURCE } from '../lambdas/core/events';
import { DeadLetteredFunction } from './dead-lettered-function';
import type { KeyrotorEvents } from './keyrotor-events';
import type { KeyrotorFunction } from './keyrotor-function';
import type { LedgerTable } from './ledger-table';

/** Where the compromise handler lives (see DESIGN §7: `lambdas/handlers/<name>.ts` exports `handler`). */
export const COMPROMISE_HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'handlers', 'compromise.ts');

/** The event that reports a compromise (the same detail type keyrotor publishes its response under). */
export const COMPROMISE_REPORT_DETAIL_TYPE = 'KeyCompromised';

/** What the responder does to a managed secret: read it (fingerprint, authenticate a revocation) and start its rotation. */
export const COMPROMISE_SECRET_ACTIONS = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:RotateSecret'] as const;

/** The one tag the responder may set: the compromised key's fingerprint, which the replacing rotation acts on. */
export const COMPROMISE_TAG_KEYS = [TAG.compromised] as const;

/**
 * How long EventBridge keeps trying to deliver a report. Short on purpose: a compromise that has
 * not been acted on within the hour is for a person (the dead-letter alarm), not a later retry.
 */
export const COMPROMISE_RETRY_ATTEMPTS = 10;
export const COMPROMISE_MAX_EVENT_AGE = Duration.hours(1);

/** Properties of {@link CompromiseResponse}. */
export interface CompromiseResponseProps {
  /** keyrotor's customer-managed key: the secrets and the dead-letter queue use it. */
  readonly encryptionKey: kms.IKey;

  /** The responder records each report and revocation in the ledger. */
  readonly ledger: LedgerTable;

  /** keyrotor's bus: reports arrive on it, and the responder publishes its outcome there. */
  readonly events: KeyrotorEvents;

  /**
   * Where the responder's alarms go.
   * @default - no alarm actions
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * The handler file; tests point this at a fixture. It must export `handler`.
   * @default COMPROMISE_HANDLER_ENTRY (`lambdas/handlers/compromise.ts`)
   */
  readonly entry?: string;
}

/**
 * The compromise response (DESIGN §3, issue: compromise response): a rule on keyrotor's bus
 * sends each `KeyCompromised` report that a person or a security tool puts there (any source
 * but keyrotor's own, so the responder's published outcome never triggers it again) to a
 * responder Lambda, which revokes the key as fast as the platform allows, starts the rotation
 * that replaces it, and publishes a CRITICAL `KeyCompromised` with what it did and what is left.
 *
 * Least privilege: the responder reads and starts rotations of the managed secrets passed to
 * {@link CompromiseResponse.grantResponse} only, may set only the `keyrotor:compromised` tag on
 * them, decrypts only through Secrets Manager, writes ledger records, and publishes keyrotor
 * events on the bus only. Reports that fail after retries land in an encrypted, alarmed
 * dead-letter queue.
 *
 * @example
 * const compromise = new CompromiseResponse(this, 'CompromiseResponse', { encryptionKey: key, ledger, events: keyrotorEvents, alarmTopic: topic });
 * compromise.grantResponse(secret);
 */
export class CompromiseResponse extends Construct {
  /** The responder function. */
  public readonly responder: KeyrotorFunction;
  /** Reports the responder failed after Lambda's retries, and reports EventBridge could not deliver. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Goes off when the dead-letter queue holds a report. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** KeyCompromised reports on keyrotor's bus → the responder. */
  public readonly reportsRule: events.Rule;

  public constructor(scope: Construct, id: string, props: CompromiseResponseProps) {
    super(scope, id);
    const invoked = new DeadLetteredFunction(this, 'Default', {
      encryptionKey: props.encryptionKey,
      target: {
        entry: props.entry ?? COMPROMISE_HANDLER_ENTRY,
        serviceName: 'keyrotor-compromise',
        description: 'keyrotor: responds to KeyCompromised reports (revokes the key, starts its rotation, alerts)',
        roleDescription: 'keyrotor compromise responder: revokes compromised keys and starts their rotation',
        alarmDescription:
          'keyrotor: a compromise response failed. A key reported compromised may still work: read the responder logs and the CRITICAL KeyCompromised alert, ' +
          'and follow docs/runbooks/key-compromised.md by hand.',
        timeout: Duration.minutes(2),
        environment: { KEYROTOR_LEDGER_TABLE: props.ledger.table.tableName },
      },
      deadLetterAlarmDescription:
        'keyrotor: a compromise report was not acted on. It is in the compromise dead-letter queue: read it for the secret, ' +
        'and respond by hand now (npx keyrotor compromised <secret>, docs/runbooks/key-compromised.md).',
      ...(props.alarmTopic === undefined ? {} : { alarmTopic: props.alarmTopic }),
    });
    this.responder = invoked.target;
    this.deadLetterQueue = invoked.deadLetterQueue;
    this.deadLetterAlarm = invoked.deadLetterAlarm;

    this.responder.allowKeyThrough(props.encryptionKey, 'secretsmanager', ['kms:Decrypt']);
    props.ledger.grantRecordKeeping(this.responder.role);
    props.events.addPublisher(this.responder);

    this.reportsRule = new events.Rule(this, 'ReportsRule', {
      eventBus: props.events.bus,
      description: 'keyrotor: KeyCompromised reports (from people and security tools, not keyrotor itself) to the compromise responder',
      eventPattern: { source: events.Match.anythingBut(EVENT_SOURCE), detailType: [COMPROMISE_REPORT_DETAIL_TYPE] },
      targets: [
        new targets.LambdaFunction(this.responder.function, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: COMPROMISE_RETRY_ATTEMPTS,
          maxEventAge: COMPROMISE_MAX_EVENT_AGE,
        }),
      ],
    });
  }

  /** Lets the responder act on `secret`: {@link COMPROMISE_SECRET_ACTIONS} and the compromise tag, on its ARN only. */
  public grantResponse(secret: secretsmanager.ISecret): void {
    this.responder.allowOnSecret(secret, 'RespondToCompromise', COMPROMISE_SECRET_ACTIONS);
    this.responder.allowOnSecret(secret, 'MarkCompromised', ['secretsmanager:TagResource'], { 'ForAllValues:StringEquals': { 'aws:TagKeys': [...COMPROMISE_TAG_KEYS] } });
  }
}
