import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AlertNotifier } from './alert-notifier';
import { AlertsTopic } from './alerts-topic';
import { CompromiseResponse } from './compromise-response';
import type { KeyrotorConfig } from './config';
import { DailySweep } from './daily-sweep';
import { DeferredRevocation } from './deferred-revocation';
import { EncryptionKey } from './encryption-key';
import { KeyrotorDashboard } from './keyrotor-dashboard';
import { KeyrotorEvents } from './keyrotor-events';
import { LedgerTable } from './ledger-table';
import { ManagedApiKeySecret } from './managed-api-key-secret';
import { ManagedToken } from './managed-token';
import { RotationFunction } from './rotation-function';
import { TokenRefresher } from './token-refresher';

/** Properties of {@link KeyrotorStack}. */
export interface KeyrotorStackProps extends StackProps {
  /** The validated configuration (see `loadConfig`). */
  readonly config: KeyrotorConfig;

  /**
   * The rotation handler file; tests point this at a fixture.
   * @default ROTATION_HANDLER_ENTRY (`lambdas/handlers/rotate.ts`)
   */
  readonly rotationHandlerEntry?: string;

  /**
   * The revoker handler file; tests point this at a fixture.
   * @default REVOKE_HANDLER_ENTRY (`lambdas/handlers/revoke.ts`)
   */
  readonly revokerHandlerEntry?: string;

  /**
   * The token refresher handler file; tests point this at a fixture.
   * @default REFRESH_TOKENS_HANDLER_ENTRY (`lambdas/handlers/refresh-tokens.ts`)
   */
  readonly refreshTokensHandlerEntry?: string;

  /**
   * The notifier handler file; tests point this at a fixture.
   * @default NOTIFY_HANDLER_ENTRY (`lambdas/handlers/notify.ts`)
   */
  readonly notifyHandlerEntry?: string;

  /**
   * The compromise responder's handler file; tests point this at a fixture.
   * @default COMPROMISE_HANDLER_ENTRY (`lambdas/handlers/compromise.ts`)
   */
  readonly compromiseHandlerEntry?: string;

  /**
   * The daily sweep's handler file; tests point this at a fixture.
   * @default SWEEP_HANDLER_ENTRY (`lambdas/handlers/sweep.ts`)
   */
  readonly sweepHandlerEntry?: string;

  /**
   * The custom event bus's name (unique per account and region).
   * @default DEFAULT_EVENT_BUS_NAME (`keyrotor`)
   */
  readonly eventBusName?: string;

  /**
   * The ledger table's physical name (unique per account and region).
   * @default DEFAULT_LEDGER_TABLE_NAME (`keyrotor-ledger`, what `keyrotor history` reads)
   */
  readonly ledgerTableName?: string;

  /**
   * The CloudWatch dashboard's name (unique per account, across regions).
   * @default DEFAULT_DASHBOARD_NAME (`keyrotor`)
   */
  readonly dashboardName?: string;

  /**
   * The stack holds live credentials, so deleting it takes a deliberate extra step.
   * @default true
   */
  readonly terminationProtection?: boolean;
}

/**
 * Everything keyrotor deploys: the encryption key, the alerts topic, the rotation ledger, the
 * notifier and keyrotor's events (bus, archive, rules to the notifier), the compromise responder (a rule on
 * the bus for KeyCompromised reports), the deferred revocation
 * (schedule group, revoker, dead-letter queue), the rotation function, one rotated secret per
 * configured credential, one token secret (and OAuth client secret) per configured token and —
 * when there is at least one token — the token refresher and its schedule; and always the daily
 * sweep and its schedule, and the CloudWatch dashboard. The rotation function, the revoker, the refresher and the sweep publish
 * keyrotor events on the bus.
 *
 * A credential's or token's construct id is its config id (unique across both), so its secrets
 * keep their logical ids (and are not replaced) as long as the id does not change.
 */
export class KeyrotorStack extends Stack {
  public readonly encryptionKey: EncryptionKey;
  public readonly alerts: AlertsTopic;
  public readonly ledger: LedgerTable;
  public readonly notifier: AlertNotifier;
  public readonly events: KeyrotorEvents;
  public readonly revocation: DeferredRevocation;
  public readonly rotationFunction: RotationFunction;
  /** Responds to KeyCompromised reports on the bus. */
  public readonly compromise: CompromiseResponse;
  /** Managed secrets by credential id. */
  public readonly secrets: ReadonlyMap<string, ManagedApiKeySecret>;
  /** Managed tokens by token id. */
  public readonly tokens: ReadonlyMap<string, ManagedToken>;
  /** The token refresher; only when at least one token is configured. */
  public readonly tokenRefresher?: TokenRefresher;
  /** The daily sweep of the managed API-key secrets (warnings, health checks, repairs). */
  public readonly sweep: DailySweep;
  /** The CloudWatch dashboard: rotations, failures, revocations, alerts, token renewals, key ages, the sweep, every alarm. */
  public readonly dashboard: KeyrotorDashboard;

  public constructor(scope: Construct, id: string, props: KeyrotorStackProps) {
    const {
      config,
      rotationHandlerEntry,
      revokerHandlerEntry,
      refreshTokensHandlerEntry,
      notifyHandlerEntry,
      compromiseHandlerEntry,
      sweepHandlerEntry,
      eventBusName,
      ledgerTableName,
      dashboardName,
      terminationProtection,
      ...stackProps
    } = props;
    super(scope, id, {
      description: 'keyrotor: rotates third-party learning-platform API keys with Secrets Manager',
      ...stackProps,
      terminationProtection: terminationProtection ?? true,
    });

    this.encryptionKey = new EncryptionKey(this, 'EncryptionKey');
    const key = this.encryptionKey.key;

    this.alerts = new AlertsTopic(this, 'Alerts', {
      encryptionKey: key,
      emails: config.alerts.emails,
    });

    this.ledger = new LedgerTable(this, 'Ledger', {
      encryptionKey: key,
      ...(ledgerTableName === undefined ? {} : { tableName: ledgerTableName }),
    });

    this.notifier = new AlertNotifier(this, 'Notifier', {
      encryptionKey: key,
      alertsTopic: this.alerts.topic,
      ledger: this.ledger,
      ...(config.alerts.runbookBaseUrl === undefined ? {} : { runbookBaseUrl: config.alerts.runbookBaseUrl }),
      ...(notifyHandlerEntry === undefined ? {} : { entry: notifyHandlerEntry }),
    });

    this.events = new KeyrotorEvents(this, 'Events', {
      notifier: this.notifier,
      settings: config.events,
      ...(eventBusName === undefined ? {} : { eventBusName }),
    });

    this.revocation = new DeferredRevocation(this, 'Revocation', {
      encryptionKey: key,
      ledger: this.ledger,
      alarmTopic: this.alerts.topic,
      ...(revokerHandlerEntry === undefined ? {} : { revokerEntry: revokerHandlerEntry }),
    });

    this.rotationFunction = new RotationFunction(this, 'RotationFunction', {
      encryptionKey: key,
      ledger: this.ledger,
      revocation: this.revocation,
      gracePeriodHours: config.defaults.gracePeriodHours,
      alarmTopic: this.alerts.topic,
      ...(rotationHandlerEntry === undefined ? {} : { entry: rotationHandlerEntry }),
    });
    this.events.addPublisher(this.rotationFunction);
    this.events.addPublisher(this.revocation.revoker);

    this.compromise = new CompromiseResponse(this, 'CompromiseResponse', {
      encryptionKey: key,
      ledger: this.ledger,
      events: this.events,
      alarmTopic: this.alerts.topic,
      ...(compromiseHandlerEntry === undefined ? {} : { entry: compromiseHandlerEntry }),
    });

    this.sweep = new DailySweep(this, 'DailySweep', {
      encryptionKey: key,
      alertsTopic: this.alerts.topic,
      scheduleGroup: this.revocation.scheduleGroup,
      ledger: this.ledger,
      revocation: this.revocation,
      rotationFunction: this.rotationFunction,
      gracePeriodHours: config.defaults.gracePeriodHours,
      settings: config.sweep,
      ...(sweepHandlerEntry === undefined ? {} : { entry: sweepHandlerEntry }),
    });
    this.events.addPublisher(this.sweep.function);

    const secrets = new Map<string, ManagedApiKeySecret>();
    for (const credential of config.credentials) {
      const managed = new ManagedApiKeySecret(this, credential.id, {
        credential,
        encryptionKey: key,
        rotationFunction: this.rotationFunction,
      });
      this.revocation.grantRevocation(managed.secret);
      this.compromise.grantResponse(managed.secret);
      this.sweep.grantSweep(managed.secret);
      secrets.set(credential.id, managed);
    }
    this.secrets = secrets;

    const tokens = new Map<string, ManagedToken>();
    for (const token of config.tokens) {
      // Config validation guarantees an imburse-hmac token names a configured credential.
      const credentialSecret = token.grant === 'imburse-hmac' ? secrets.get(token.credential)?.secret : undefined;
      tokens.set(token.id, new ManagedToken(this, token.id, { token, encryptionKey: key, ...(credentialSecret ? { credentialSecret } : {}) }));
    }
    this.tokens = tokens;

    if (tokens.size > 0) {
      this.tokenRefresher = new TokenRefresher(this, 'TokenRefresher', {
        encryptionKey: key,
        alertsTopic: this.alerts.topic,
        scheduleGroup: this.revocation.scheduleGroup,
        settings: config.tokenRefresh,
        ...(refreshTokensHandlerEntry === undefined ? {} : { entry: refreshTokensHandlerEntry }),
      });
      for (const token of tokens.values()) this.tokenRefresher.grantRefresh(token);
      this.events.addPublisher(this.tokenRefresher.refresher);
    }

    this.dashboard = new KeyrotorDashboard(this, 'Dashboard', {
      rotationFunction: this.rotationFunction,
      revocation: this.revocation,
      compromise: this.compromise,
      notifier: this.notifier,
      sweep: this.sweep,
      ...(this.tokenRefresher === undefined ? {} : { tokenRefresher: this.tokenRefresher }),
      ...(config.alerts.runbookBaseUrl === undefined ? {} : { runbookBaseUrl: config.alerts.runbookBaseUrl }),
      ...(dashboardName === undefined ? {} : { dashboardName }),
    });

    new CfnOutput(this, 'AlertsTopicArn', {
      description: 'SNS topic that receives keyrotor alerts',
      value: this.alerts.topic.topicArn,
    });
    new CfnOutput(this, 'EventBusName', {
      description: 'EventBridge bus that carries keyrotor events (source keyrotor); subscribe security tools here',
      value: this.events.bus.eventBusName,
    });
    new CfnOutput(this, 'LedgerTableName', {
      description: 'DynamoDB table with the rotation ledger (keyrotor history reads it)',
      value: this.ledger.table.tableName,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: 'CloudWatch dashboard: rotations, failures, revocations, alerts, token renewals, key ages, the daily sweep, every alarm',
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards/dashboard/${this.dashboard.dashboard.dashboardName}`,
    });
  }
}
