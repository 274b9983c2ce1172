/**
 * The services around keyrotor's code, as they behave in production, on in-memory fakes:
 *
 * - Secrets Manager runs a rotation asynchronously after RotateSecret (or on its schedule) and,
 *   when a step fails, "retries the entire rotation process multiple times" (DescribeSecret's
 *   NextRotationDate documentation): the four steps again from createSecret with the same
 *   ClientRequestToken, here {@link SM_ROTATION_ATTEMPTS} runs in all. Each failed run is logged
 *   as a `RotationFailed` service event, which EventBridge routes to the notifier.
 * - EventBridge delivers every event on keyrotor's bus to the notifier Lambda asynchronously;
 *   Lambda retries a failed asynchronous invocation twice ({@link LAMBDA_ASYNC_ATTEMPTS}), then
 *   dead-letters it. The same holds for the revoker that an EventBridge Scheduler one-time
 *   schedule invokes, and for the compromise responder.
 * - People: the one who runs `keyrotor submit` runs it again when it fails (the errors say so),
 *   and the one who gets a "remove the old key" alert removes it.
 *
 * Everything keyrotor calls goes through the fault layer; what the services do by themselves
 * (open a pending version, invoke a function, deliver an event) is not a call keyrotor makes and
 * is not faulted.
 */
import { notify } from '../../lambdas/core/notify';
import { EVENT_SOURCE, type KeyrotorEvent } from '../../lambdas/core/events';
import { revokeOldKey, parseRevocationRequest, type RevokeDeps } from '../../lambdas/core/revocation';
import { runRotationStep, type RotationDeps } from '../../lambdas/core/rotation';
import type { RotationStep } from '../../lambdas/core/contracts';
import { Pacer } from '../../lambdas/core/pacing';
import { DEFAULT_SWEEP_POLICY, sweep } from '../../lambdas/core/sweep';
import { NO_METRICS } from '../../lambdas/ports/metrics';
import { InMemorySecretInventory } from '../support/fakes/in-memory-secret-inventory';
import { clearRegisteredSecrets } from '../../lambdas/core/redaction';
import type { Alert } from '../../lambdas/ports/notifier';
import type { RevocationRequest } from '../../lambdas/ports/revocation-scheduler';
import type { ProviderRegistry } from '../../lambdas/providers/registry';
import { VersionCachingStore } from '../../lambdas/adapters/version-cache';
import type { SecretStore } from '../../lambdas/ports/secret-store';
import { InMemoryAlertDeduper } from '../support/fakes/in-memory-alert-deduper';
import { InMemoryLedger, InMemoryRevocationScheduler } from '../support/fakes/in-memory-ledger';
import { InMemorySecretStore } from '../support/fakes/in-memory-secret-store';
import { captureLogger, NO_WAIT } from '../support/fixtures';
import {
  FaultInjector,
  FaultyAlertDeduper,
  FaultyEventPublisher,
  FaultyLedger,
  FaultyNotifier,
  FaultyRevocationScheduler,
  FaultySecretStore,
  type CallRecord,
  type Fault,
} from './fault-layer';

/** One scheduled or re-driven rotation: the first run and Secrets Manager's retries. */
export const SM_ROTATION_ATTEMPTS = 5;
/** An asynchronous Lambda invocation and Lambda's two retries (revoker, notifier, compromise responder). */
export const LAMBDA_ASYNC_ATTEMPTS = 3;
/** How often a person runs a failing `keyrotor submit` before giving up. */
export const PERSON_ATTEMPTS = 3;
export const GRACE_PERIOD_MS = 24 * 3_600_000;
const MINUTE_MS = 60_000;

/** Secrets Manager: RotateSecret starts the rotation asynchronously, so it is queued and run by the service later. */
export class SecretsManagerService extends InMemorySecretStore {
  public readonly queued: { secretId: string; token: string }[] = [];

  public override async runRotation(secretId: string, token: string): Promise<void> {
    this.queued.push({ secretId, token });
  }

  /** One run of the four steps (the fake's own runner: failures are recorded in `rotationFailures`). */
  public runOnce(secretId: string, token: string): Promise<void> {
    return super.runRotation(secretId, token);
  }
}

/** An alert as a person receives it, with where it came from. */
export interface DeliveredAlert {
  readonly alert: Alert;
  readonly source: string;
  /** keyrotor's event type, or Secrets Manager's eventName. */
  readonly type: string;
  readonly step?: string;
  readonly errorName?: string;
  readonly fingerprint?: string;
  readonly rotation?: string;
  /** Which event delivery produced it (one event, one delivery, however often it is retried). */
  readonly delivery: number;
  /** The SNS Publish call that sent it. */
  readonly callIndex: number;
}

/** What an invoker (Secrets Manager, Lambda's async retries, a person at a terminal) saw fail. */
export interface SeenError {
  readonly phase: string;
  readonly error: unknown;
}

export interface RotationOutcome {
  readonly token: string;
  readonly succeeded: boolean;
  readonly failures: readonly { step: RotationStep; errorName: string }[];
}

interface Envelope {
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: unknown;
  readonly time: string;
}

/** One run of a flow: the services, the fault layer, and everything observed. */
export class World {
  public readonly faults: FaultInjector;
  public readonly sm = new SecretsManagerService();
  public readonly ledger = new InMemoryLedger();
  public readonly scheduler = new InMemoryRevocationScheduler();
  public readonly deduper = new InMemoryAlertDeduper();
  public readonly capture = captureLogger();
  /** Every schedule ever created (the scheduler deletes them when they fire). */
  public readonly schedulesCreated: { request: RevocationRequest; at: Date }[] = [];
  public readonly busEvents: KeyrotorEvent[] = [];
  public readonly alerts: DeliveredAlert[] = [];
  public readonly seenErrors: SeenError[] = [];
  public readonly deadLetters: { phase: string; payload: unknown }[] = [];
  public readonly rotations: RotationOutcome[] = [];
  /** Violations of invariants that must hold at every moment (checked after each call). */
  public readonly monitorViolations: string[] = [];
  /** What people do when an alert reaches them (at once: reading it, removing a key in an admin panel). */
  public readonly reactions: ((alert: DeliveredAlert) => void)[] = [];
  /** What people set out to do after an alert (running a command), done at the next quiet moment. */
  public readonly personTasks: (() => Promise<void>)[] = [];
  public clock = new Date('2026-11-23T10:00:00Z');
  public providers: ProviderRegistry | undefined;
  public arn = '';
  /**
   * The rotation Lambda's store as the handler composes it: a VersionCachingStore over Secrets
   * Manager, one per warm container, so it lives across the steps and the retries of a rotation.
   */
  public readonly rotationStore: SecretStore;
  /**
   * Where the settling phase (the next daily sweep) began: calls from here on are not positions
   * of the matrix. The sweep is keyrotor's designed backstop (it re-drives stuck rotations,
   * re-schedules revocations and asks people again to remove old keys that still work); it runs
   * after everything a scenario's fault could touch, so it runs unfaulted.
   */
  public settleFrom: number | undefined;

  readonly #deliveries: Envelope[] = [];
  #deliveryCount = 0;
  #currentDelivery: { id: number; envelope: Envelope } | undefined;
  #currentStep: RotationStep = 'createSecret';
  #monitor: (() => string | undefined) | undefined;

  public constructor(fault?: Fault) {
    clearRegisteredSecrets();
    this.faults = new FaultInjector(fault, (call) => this.#afterCall(call));
    this.sm.rotationFunction = async (event) => {
      this.#currentStep = event.Step;
      this.faults.phase = `rotation ${event.Step}`;
      return runRotationStep(event, this.rotationDeps());
    };
    this.sm.clock = () => this.clock;
    this.rotationStore = new VersionCachingStore(this.store(), { now: () => this.clock.getTime() });
    const schedule = this.scheduler.schedule.bind(this.scheduler);
    this.scheduler.schedule = async (request, at) => {
      const outcome = await schedule(request, at);
      if (outcome === 'scheduled') this.schedulesCreated.push({ request, at });
      return outcome;
    };
  }

  // The ports keyrotor's code is given: every call goes through the fault layer.
  public readonly store = (): FaultySecretStore => new FaultySecretStore(this.sm, this.faults);
  public readonly ledgerPort = (): FaultyLedger => new FaultyLedger(this.ledger, this.faults);
  public readonly events = (): FaultyEventPublisher => new FaultyEventPublisher(async (event) => this.#acceptOnBus(event), this.faults);

  /** Checked after every call; returns a description of what is wrong, if anything. */
  public monitor(check: () => string | undefined): void {
    this.#monitor = check;
  }

  public rotationDeps(): RotationDeps {
    return {
      store: this.rotationStore,
      providers: this.registry(),
      logger: this.capture.logger,
      propagation: NO_WAIT,
      now: () => this.clock,
      ledger: this.ledgerPort(),
      revocations: new FaultyRevocationScheduler(this.scheduler, this.faults),
      gracePeriodMs: GRACE_PERIOD_MS,
      events: this.events(),
    };
  }

  public revokeDeps(): RevokeDeps {
    return { store: this.store(), providers: this.registry(), ledger: this.ledgerPort(), logger: this.capture.logger, now: () => this.clock, events: this.events() };
  }

  public registry(): ProviderRegistry {
    if (!this.providers) throw new Error('the flow did not set the providers');
    return this.providers;
  }

  public advance(ms: number): void {
    this.clock = new Date(this.clock.getTime() + ms);
  }

  /** Secrets Manager runs a rotation: the four steps, and the whole rotation again while a step fails. */
  public async rotate(token: string): Promise<RotationOutcome> {
    const failures: { step: RotationStep; errorName: string }[] = [];
    for (let attempt = 1; attempt <= SM_ROTATION_ATTEMPTS; attempt += 1) {
      const before = this.sm.rotationFailures.length;
      await this.sm.runOnce(this.arn, token);
      if (this.sm.rotationFailures.length === before) {
        await this.deliver();
        const outcome = { token, succeeded: true, failures };
        this.rotations.push(outcome);
        return outcome;
      }
      const error = this.sm.rotationFailures[before];
      const step = this.#currentStep;
      failures.push({ step, errorName: error instanceof Error ? error.name : typeof error });
      this.seenErrors.push({ phase: `rotation ${step} (attempt ${attempt})`, error });
      this.#secretsManagerRotationFailed(step);
      await this.deliver();
      this.advance(5 * MINUTE_MS);
    }
    const outcome = { token, succeeded: false, failures };
    this.rotations.push(outcome);
    return outcome;
  }

  /** Runs the rotations RotateSecret started, as the service does once the caller has its answer. */
  public async runStartedRotations(): Promise<void> {
    for (let next = this.sm.queued.shift(); next; next = this.sm.queued.shift()) {
      await this.rotate(next.token);
    }
  }

  /** EventBridge Scheduler fires the one-time schedules that are due; Lambda retries a failed revoker. */
  public async fireDueRevocations(): Promise<void> {
    for (const request of this.scheduler.due(this.clock)) {
      await this.invokeAsync('revoker', request, async () => {
        await revokeOldKey(parseRevocationRequest(JSON.parse(JSON.stringify(request))), this.revokeDeps());
      });
    }
  }

  /**
   * The next two daily sweeps, the first a day after the rotation and past its old key's
   * revocation date (the second confirms what a person did after the first asked), each followed
   * by what it started: rotations it re-drove, revocations it scheduled again.
   */
  public async dailySweeps(): Promise<void> {
    this.settleFrom = this.faults.calls.length;
    await this.#dailySweep();
    await this.peopleAct();
    this.advance(24 * 3_600_000);
    await this.#dailySweep();
    await this.peopleAct();
  }

  /** People do what their alerts asked of them. */
  public async peopleAct(): Promise<void> {
    for (let task = this.personTasks.shift(); task; task = this.personTasks.shift()) await task();
  }

  async #dailySweep(): Promise<void> {
    let pacingTime = 0;
    await this.invokeAsync('daily sweep', {}, async () => {
      await sweep(
        {},
        {
          inventory: new InMemorySecretInventory(this.sm),
          store: this.store(),
          providers: this.registry(),
          ledger: this.ledgerPort(),
          revocations: new FaultyRevocationScheduler(this.scheduler, this.faults),
          events: this.events(),
          continuation: { continueWith: async () => undefined },
          metrics: NO_METRICS,
          logger: this.capture.logger,
          policy: DEFAULT_SWEEP_POLICY,
          now: () => this.clock,
          remainingTimeMs: () => 15 * MINUTE_MS,
          pacer: new Pacer({ now: () => pacingTime, sleep: async (ms) => void (pacingTime += ms) }),
        },
      );
    });
    this.advance(DEFAULT_SWEEP_POLICY.rescheduleDelayMs + MINUTE_MS);
    await this.fireDueRevocations();
  }

  /** An asynchronous Lambda invocation with Lambda's retries, then its dead-letter queue. */
  public async invokeAsync(phase: string, payload: unknown, run: () => Promise<void>): Promise<boolean> {
    for (let attempt = 1; attempt <= LAMBDA_ASYNC_ATTEMPTS; attempt += 1) {
      this.faults.phase = phase;
      try {
        await run();
        await this.runStartedRotations();
        await this.deliver();
        return true;
      } catch (error) {
        this.seenErrors.push({ phase: `${phase} (attempt ${attempt})`, error });
        await this.runStartedRotations();
        await this.deliver();
        this.advance(MINUTE_MS);
      }
    }
    this.deadLetters.push({ phase, payload });
    return false;
  }

  /** A person runs a command, and runs it again while it fails (until `done` says the error means there is nothing left to do). */
  public async person<T>(phase: string, run: () => Promise<T>, done: (error: unknown) => boolean = () => false): Promise<T | undefined> {
    for (let attempt = 1; attempt <= PERSON_ATTEMPTS; attempt += 1) {
      this.faults.phase = phase;
      try {
        const result = await run();
        await this.runStartedRotations();
        await this.deliver();
        return result;
      } catch (error) {
        this.seenErrors.push({ phase: `${phase} (attempt ${attempt})`, error });
        await this.runStartedRotations();
        await this.deliver();
        if (done(error)) return undefined;
        this.advance(MINUTE_MS);
      }
    }
    return undefined;
  }

  /** Delivers the events on the bus (and Secrets Manager's) to the notifier, with Lambda's retries. */
  public async deliver(): Promise<void> {
    const phase = this.faults.phase;
    for (let envelope = this.#deliveries.shift(); envelope; envelope = this.#deliveries.shift()) {
      this.#deliveryCount += 1;
      this.#currentDelivery = { id: this.#deliveryCount, envelope };
      let delivered = false;
      for (let attempt = 1; attempt <= LAMBDA_ASYNC_ATTEMPTS && !delivered; attempt += 1) {
        this.faults.phase = `notifier (${envelope['detail-type'] === 'AWS Service Event via CloudTrail' ? 'Secrets Manager RotationFailed' : envelope['detail-type']})`;
        try {
          await notify(envelope, {
            notifier: new FaultyNotifier({ notify: async (alert) => this.#received(alert) }, this.faults),
            deduper: new FaultyAlertDeduper(this.deduper, this.faults),
            logger: this.capture.logger,
            now: () => this.clock,
          });
          delivered = true;
        } catch (error) {
          this.seenErrors.push({ phase: `notifier (attempt ${attempt})`, error });
        }
      }
      if (!delivered) this.deadLetters.push({ phase: 'notifier', payload: envelope });
    }
    this.#currentDelivery = undefined;
    this.faults.phase = phase;
  }

  async #acceptOnBus(event: KeyrotorEvent): Promise<void> {
    this.busEvents.push(event);
    this.#deliveries.push({ source: EVENT_SOURCE, 'detail-type': event.type, detail: JSON.parse(JSON.stringify(event.detail)) as unknown, time: this.clock.toISOString() });
  }

  /** Secrets Manager's own RotationFailed (CloudTrail, via the default bus's rule) for a failed run. */
  #secretsManagerRotationFailed(step: RotationStep): void {
    const time = this.clock.toISOString();
    this.#deliveries.push({
      source: 'aws.secretsmanager',
      'detail-type': 'AWS Service Event via CloudTrail',
      time,
      detail: {
        eventSource: 'secretsmanager.amazonaws.com',
        eventName: 'RotationFailed',
        eventTime: time,
        eventType: 'AwsServiceEvent',
        errorMessage: `Error when executing lambda arn:aws:lambda:eu-west-1:123456789012:function:keyrotor-rotate during ${step} step`,
        additionalEventData: { SecretId: this.arn },
      },
    });
  }

  async #received(alert: Alert): Promise<void> {
    const current = this.#currentDelivery;
    if (!current) throw new Error('an alert outside a delivery');
    const { envelope } = current;
    const detail = (envelope.source === EVENT_SOURCE ? envelope.detail : {}) as { step?: string; errorName?: string; fingerprint?: string; rotation?: string };
    const serviceEvent = envelope.source === EVENT_SOURCE ? undefined : (envelope.detail as { eventName?: string; errorMessage?: string });
    const delivered: DeliveredAlert = {
      alert,
      source: envelope.source,
      type: serviceEvent ? (serviceEvent.eventName ?? 'unknown') : envelope['detail-type'],
      ...(serviceEvent ? { step: /during (\w+) step/.exec(serviceEvent.errorMessage ?? '')?.[1] ?? '-' } : detail.step ? { step: detail.step } : {}),
      ...(detail.errorName ? { errorName: detail.errorName } : {}),
      ...(detail.fingerprint ? { fingerprint: detail.fingerprint } : {}),
      ...(detail.rotation ? { rotation: detail.rotation } : {}),
      delivery: current.id,
      callIndex: this.faults.calls.length - 1,
    };
    this.alerts.push(delivered);
    for (const react of this.reactions) react(delivered);
  }

  #afterCall(call: CallRecord): void {
    const problem = this.#monitor?.();
    if (problem && this.monitorViolations.length < 3) this.monitorViolations.push(`after call #${call.index} (${call.service} ${call.op}, ${call.phase}): ${problem}`);
  }
}
