/**
 * The fault layer: every port a rotation touches (Secrets Manager, the DynamoDB ledger and alert
 * deduper, EventBridge Scheduler, EventBridge, SNS and the platform) is wrapped so that each call
 * goes through one {@link FaultInjector}. The injector numbers the calls of a run (the path); a
 * scenario makes exactly one of them, call `at`, fail in one of {@link FAULT_KINDS}.
 *
 * A fault is what the caller sees after the client's own retries (the AWS SDK's standard retry
 * mode, the platform HTTP helper's retries): the error the real adapter would surface, by name.
 */
import { ProviderRateLimitError, ProviderUnavailableError } from '../../lambdas/core/errors';
import type { EventPublisher, KeyrotorEvent } from '../../lambdas/core/events';
import type { AlertDeduper, AlertKey } from '../../lambdas/ports/alert-deduper';
import type { Ledger, LedgerEvent } from '../../lambdas/ports/ledger';
import type { Alert, Notifier } from '../../lambdas/ports/notifier';
import type { IssueRequest, Provider, RevokeRequest, ProviderTarget } from '../../lambdas/ports/provider';
import type { RevocationRequest, RevocationScheduler } from '../../lambdas/ports/revocation-scheduler';
import type { SecretMetadata, SecretStore } from '../../lambdas/ports/secret-store';
import type { ManagedSecretValue } from '../../lambdas/core/secret-value';

/**
 * - `error-before`: the request never reached the service (connection refused); nothing happened.
 * - `lost-response`: the service did the work, the response was lost (connection reset).
 * - `timeout-applied` / `timeout-not-applied`: the client timed out; the effect is unknown to the
 *   caller, so both outcomes are separate scenarios (the work was done / it was not).
 * - `throttle`: 429 / ThrottlingException; nothing happened.
 * - `server-error`: 5xx / InternalServiceError; nothing happened.
 */
export const FAULT_KINDS = ['error-before', 'lost-response', 'timeout-applied', 'timeout-not-applied', 'throttle', 'server-error'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Whether the faulted call took effect before the caller saw its error. */
export const TAKES_EFFECT: Readonly<Record<FaultKind, boolean>> = {
  'error-before': false,
  'lost-response': true,
  'timeout-applied': true,
  'timeout-not-applied': false,
  throttle: false,
  'server-error': false,
};

export type AwsService = 'secretsmanager' | 'dynamodb' | 'scheduler' | 'eventbridge' | 'sns';
export type Service = AwsService | 'platform';

/** One call on a run's path. */
export interface CallRecord {
  readonly index: number;
  readonly service: Service;
  /** The API operation, e.g. `PutSecretValue`, `ledger.record:tested`, `POST /v1/tenant/{id}/keys`. */
  readonly op: string;
  /** Who made it: a rotation step, the revoker, `keyrotor submit`, the notifier, … */
  readonly phase: string;
  readonly fault?: FaultKind;
}

export interface Fault {
  /** The index of the faulted call on the path. */
  readonly at: number;
  readonly kind: FaultKind;
}

/** An AWS service error as the SDK v3 surfaces it (a ServiceException subclass: name, $fault, $metadata). */
export class SimulatedServiceError extends Error {
  public readonly $fault: 'client' | 'server';
  public readonly $metadata: { httpStatusCode: number; attempts: number };
  public constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, attempts: 3 };
  }
}

const THROTTLE_NAME: Readonly<Record<AwsService, string>> = {
  secretsmanager: 'ThrottlingException',
  dynamodb: 'ThrottlingException',
  scheduler: 'ThrottlingException',
  eventbridge: 'ThrottlingException',
  sns: 'ThrottledException',
};

const SERVER_ERROR_NAME: Readonly<Record<AwsService, string>> = {
  secretsmanager: 'InternalServiceError',
  dynamodb: 'InternalServerError',
  scheduler: 'InternalServerException',
  eventbridge: 'InternalException',
  sns: 'InternalErrorException',
};

/** What the AWS SDK v3 (node-http-handler, standard retries exhausted) throws for each fault kind. */
export function awsError(service: AwsService, kind: FaultKind): Error {
  switch (kind) {
    case 'error-before':
      return Object.assign(new Error('connect ECONNREFUSED 52.94.0.10:443'), { code: 'ECONNREFUSED', $metadata: { attempts: 3 } });
    case 'lost-response':
      return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: { attempts: 3 } });
    case 'timeout-applied':
    case 'timeout-not-applied':
      return Object.assign(
        new Error('@smithy/node-http-handler - the request socket timed out after 30000 ms of inactivity (configured by client requestHandler).'),
        { name: 'TimeoutError', $metadata: { attempts: 3 } },
      );
    case 'throttle':
      return new SimulatedServiceError(THROTTLE_NAME[service], 'Rate exceeded', 400);
    case 'server-error':
      return new SimulatedServiceError(SERVER_ERROR_NAME[service], 'We encountered an internal error. Please try again.', 500);
  }
}

/** What the platform HTTP helper (lambdas/providers/http.ts) throws for each fault kind, after its own retries. */
export function platformError(provider: string, where: string, kind: FaultKind): Error {
  switch (kind) {
    case 'error-before':
      return new ProviderUnavailableError(provider, `${where} could not be reached`, { cause: Object.assign(new TypeError('fetch failed'), { code: 'ECONNREFUSED' }) });
    case 'lost-response':
      return new ProviderUnavailableError(provider, `${where} was cut off while its response was being read`, { cause: Object.assign(new Error('terminated'), { code: 'ECONNRESET' }) });
    case 'timeout-applied':
    case 'timeout-not-applied':
      return new ProviderUnavailableError(provider, `${where} timed out after 10000 ms`, { cause: Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }) });
    case 'throttle':
      return new ProviderRateLimitError(provider, 30_000);
    case 'server-error':
      return new ProviderUnavailableError(provider, `${where} answered HTTP 503: Service Unavailable`, { status: 503 });
  }
}

/**
 * Numbers every external call of a run and fails the one a scenario names. `afterCall` runs
 * after each call (faulted or not), so monitors can check invariants that must hold at every
 * moment, not only at the end.
 */
export class FaultInjector {
  public readonly calls: CallRecord[] = [];
  /** Who is calling now; set by the drivers (rotation steps, revoker, submit, notifier). */
  public phase = 'setup';

  public constructor(
    private readonly fault: Fault | undefined,
    private readonly afterCall: (call: CallRecord) => void = () => undefined,
  ) {}

  /** The call the fault hit, once it has been made. */
  public get faulted(): CallRecord | undefined {
    return this.calls.find((call) => call.fault !== undefined);
  }

  /** One call; `onFault` decides what the caller sees when this is the faulted call. */
  public async call<T>(service: Service, op: string, effect: () => Promise<T>, onFault: (kind: FaultKind, effect: () => Promise<T>) => Promise<T>): Promise<T> {
    const index = this.calls.length;
    const kind = this.fault?.at === index ? this.fault.kind : undefined;
    const record: CallRecord = { index, service, op, phase: this.phase, ...(kind ? { fault: kind } : {}) };
    this.calls.push(record);
    try {
      return kind === undefined ? await effect() : await onFault(kind, effect);
    } finally {
      this.afterCall(record);
    }
  }

  /** An AWS SDK call. When the fault takes effect and the work itself fails, that real error is what the caller sees. */
  public aws<T>(service: AwsService, op: string, effect: () => Promise<T>): Promise<T> {
    return this.call(service, op, effect, async (kind, run) => {
      if (TAKES_EFFECT[kind]) await run();
      throw awsError(service, kind);
    });
  }

  /** A platform call through a Provider method. */
  public platform<T>(provider: string, op: string, where: string, effect: () => Promise<T>): Promise<T> {
    return this.call('platform', op, effect, async (kind, run) => {
      if (TAKES_EFFECT[kind]) await run();
      throw platformError(provider, where, kind);
    });
  }
}

/** Secrets Manager, call by call (op = the API action the adapter sends). */
export class FaultySecretStore implements SecretStore {
  public constructor(
    private readonly inner: SecretStore,
    private readonly faults: FaultInjector,
  ) {}

  public describe(secretId: string): Promise<SecretMetadata> {
    return this.faults.aws('secretsmanager', 'DescribeSecret', () => this.inner.describe(secretId));
  }

  public getValue(secretId: string, selector: { versionId?: string; stage?: string }): Promise<string | undefined> {
    const which = selector.versionId ? `${selector.stage ?? 'version'} by id` : (selector.stage ?? 'AWSCURRENT');
    return this.faults.aws('secretsmanager', `GetSecretValue(${which})`, () => this.inner.getValue(secretId, selector));
  }

  public putPendingValue(secretId: string, versionId: string, value: string): Promise<void> {
    return this.faults.aws('secretsmanager', 'PutSecretValue', () => this.inner.putPendingValue(secretId, versionId, value));
  }

  public moveStage(secretId: string, stage: string, toVersionId: string, fromVersionId?: string): Promise<void> {
    return this.faults.aws('secretsmanager', `UpdateSecretVersionStage(move ${stage})`, () => this.inner.moveStage(secretId, stage, toVersionId, fromVersionId));
  }

  public removeStage(secretId: string, stage: string, fromVersionId: string): Promise<void> {
    return this.faults.aws('secretsmanager', `UpdateSecretVersionStage(remove ${stage})`, () => this.inner.removeStage(secretId, stage, fromVersionId));
  }

  public tag(secretId: string, tags: Readonly<Record<string, string>>): Promise<void> {
    return this.faults.aws('secretsmanager', 'TagResource', () => this.inner.tag(secretId, tags));
  }

  public untag(secretId: string, keys: readonly string[]): Promise<void> {
    // As the adapter: nothing to remove sends no request, so there is nothing to fail.
    if (keys.length === 0) return this.inner.untag(secretId, keys);
    return this.faults.aws('secretsmanager', 'UntagResource', () => this.inner.untag(secretId, keys));
  }

  public startRotation(secretId: string, clientRequestToken: string): Promise<void> {
    return this.faults.aws('secretsmanager', 'RotateSecret', () => this.inner.startRotation(secretId, clientRequestToken));
  }
}

/** The DynamoDB ledger (op = the port method; the adapter sends a GetItem and a TransactWriteItems for each write). */
export class FaultyLedger implements Ledger {
  public constructor(
    private readonly inner: Ledger,
    private readonly faults: FaultInjector,
  ) {}

  public claimIssue(secretArn: string, token: string, keyName: string, at: string) {
    return this.faults.aws('dynamodb', 'ledger.claimIssue', () => this.inner.claimIssue(secretArn, token, keyName, at));
  }

  public record(event: LedgerEvent): Promise<void> {
    return this.faults.aws('dynamodb', `ledger.record:${event.state}`, () => this.inner.record(event));
  }

  public get(secretArn: string, token: string) {
    return this.faults.aws('dynamodb', 'ledger.get', () => this.inner.get(secretArn, token));
  }

  public history(secretArn: string) {
    return this.faults.aws('dynamodb', 'ledger.history', () => this.inner.history(secretArn));
  }
}

/** EventBridge Scheduler's CreateSchedule. */
export class FaultyRevocationScheduler implements RevocationScheduler {
  public constructor(
    private readonly inner: RevocationScheduler,
    private readonly faults: FaultInjector,
  ) {}

  public schedule(request: RevocationRequest, at: Date) {
    return this.faults.aws('scheduler', 'CreateSchedule', () => this.inner.schedule(request, at));
  }
}

/** EventBridge PutEvents; the effect (`accept`) puts the event on the bus. */
export class FaultyEventPublisher implements EventPublisher {
  public constructor(
    private readonly accept: (event: KeyrotorEvent) => Promise<void>,
    private readonly faults: FaultInjector,
  ) {}

  public publish(event: KeyrotorEvent): Promise<void> {
    return this.faults.aws('eventbridge', `PutEvents(${event.type})`, () => this.accept(event));
  }
}

/** SNS Publish. */
export class FaultyNotifier implements Notifier {
  public constructor(
    private readonly inner: Notifier,
    private readonly faults: FaultInjector,
  ) {}

  public notify(alert: Alert): Promise<void> {
    return this.faults.aws('sns', 'Publish', () => this.inner.notify(alert));
  }
}

/** The alert deduper's conditional PutItem calls. */
export class FaultyAlertDeduper implements AlertDeduper {
  public constructor(
    private readonly inner: AlertDeduper,
    private readonly faults: FaultInjector,
  ) {}

  public firstTime(key: AlertKey): Promise<boolean> {
    return this.faults.aws('dynamodb', `deduper.firstTime(${key.kind.split('/')[0] ?? key.kind})`, () => this.inner.firstTime(key));
  }

  public forget(key: AlertKey): Promise<void> {
    return this.faults.aws('dynamodb', 'deduper.forget', () => this.inner.forget(key));
  }
}

/** Where each Provider method goes on the wire (for the error messages the HTTP helper writes). */
export interface ProviderRoutes {
  readonly verify: string;
  readonly issueKey: string;
  readonly revokeKey: string;
  readonly listKeys: string;
}

/**
 * A provider whose platform calls go through the injector: each Provider method is one call,
 * faulted with the typed error the HTTP helper surfaces once its own retries are spent.
 */
export function faultyProvider(inner: Provider, faults: FaultInjector, routes: ProviderRoutes): Provider {
  const { id } = inner;
  const { issueKey, revokeKey, listKeys, keyIdOf } = inner;
  return {
    id,
    displayName: inner.displayName,
    capabilities: inner.capabilities,
    manual: inner.manual,
    parseSubmission: (input, extras) => inner.parseSubmission(input, extras),
    formatProblems: (value, environment) => inner.formatProblems(value, environment),
    verify: (value: ManagedSecretValue, target: ProviderTarget) => faults.platform(id, 'verify', routes.verify, () => inner.verify(value, target)),
    ...(keyIdOf ? { keyIdOf: (value: ManagedSecretValue) => keyIdOf.call(inner, value) } : {}),
    ...(issueKey ? { issueKey: (request: IssueRequest<ManagedSecretValue>) => faults.platform(id, 'issueKey', routes.issueKey, () => issueKey.call(inner, request)) } : {}),
    ...(revokeKey ? { revokeKey: (request: RevokeRequest<ManagedSecretValue>) => faults.platform(id, 'revokeKey', routes.revokeKey, () => revokeKey.call(inner, request)) } : {}),
    ...(listKeys
      ? { listKeys: (request: { authenticateWith: ManagedSecretValue; target: ProviderTarget }) => faults.platform(id, 'listKeys', routes.listKeys, () => listKeys.call(inner, request)) }
      : {}),
  };
}

/**
 * A `fetch` whose every request is one call on the path, for providers used with their real HTTP
 * client (the human-issued flow): the fault is what the network or the platform does to that one
 * request — the HTTP helper's own retries then see it, as they would in production.
 */
export function faultyFetch(inner: typeof fetch, faults: FaultInjector, label: (url: string, init?: RequestInit) => string): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) =>
    faults.call('platform', label(String(input), init), () => inner(input, init), async (kind, run) => {
      switch (kind) {
        case 'error-before':
          throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 203.0.113.7:443'), { code: 'ECONNREFUSED' }) });
        case 'lost-response':
          await run();
          throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
        case 'timeout-applied':
          await run();
          throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
        case 'timeout-not-applied':
          throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
        case 'throttle':
          return new Response(JSON.stringify({ error: 'too_many_requests', message: 'Rate limit exceeded' }), { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '2' } });
        case 'server-error':
          return new Response(JSON.stringify({ error: 'service_unavailable', message: 'Service Unavailable' }), { status: 503, headers: { 'content-type': 'application/json' } });
      }
    })) as typeof fetch;
}
