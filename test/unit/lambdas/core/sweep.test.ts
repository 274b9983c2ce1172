import * as fc from 'fast-check';
import { BOOTSTRAP_SECRET_MARKER, TAG } from '../../../../lambdas/core/contracts';
import { ValidationError } from '../../../../lambdas/core/errors';
import type { KeyrotorEvent } from '../../../../lambdas/core/events';
import { fingerprintOf } from '../../../../lambdas/core/fingerprint';
import { Pacer } from '../../../../lambdas/core/pacing';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { revokeOldKey } from '../../../../lambdas/core/revocation';
import { runRotationStep, type RotationDeps } from '../../../../lambdas/core/rotation';
import {
  DEFAULT_SWEEP_POLICY,
  deadlineWarning,
  outcomeMetricName,
  parseSweepRequest,
  revocationConfirmedTagValue,
  SECRET_SWEPT_MESSAGE,
  sweep,
  SWEEP_OUTCOMES,
  type SweepDeps,
  type SweepPolicy,
  type SweepReport,
  type SweepRequest,
  interleaveByInstance,
} from '../../../../lambdas/core/sweep';
import type { MetricsPort } from '../../../../lambdas/ports/metrics';
import type { Provider } from '../../../../lambdas/ports/provider';
import type { SweepContinuationRequest } from '../../../../lambdas/ports/sweep-continuation';
import { createProviderRegistry, type ProviderRegistry } from '../../../../lambdas/providers/registry';
import { NotifiedEvents } from '../../../support/fakes/capturing-events';
import { FakeApiPlatform } from '../../../support/fakes/fake-api-provider';
import { InMemoryLedger, InMemoryRevocationScheduler } from '../../../support/fakes/in-memory-ledger';
import { InMemorySecretInventory } from '../../../support/fakes/in-memory-secret-inventory';
import { FakeAwsError, InMemorySecretStore } from '../../../support/fakes/in-memory-secret-store';
import { json, stubThoughtIndustries, type StubbedPlatform } from '../../../support/fakes/platform-fetch';
import { BASE_URL, captureLogger, NO_WAIT, TI_LIVE_NEW, TI_LIVE_OLD, tiTags, tiValue } from '../../../support/fixtures';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 06:00 UTC, when the sweep's schedule fires. */
const T0 = Date.parse('2026-11-23T06:00:00Z');
const IMBURSE_URL = 'https://sandbox-api.imburse.net';

function imburseTags(): Record<string, string> {
  return { [TAG.provider]: 'imburse', [TAG.environment]: 'sandbox', [TAG.kind]: 'api-key', [TAG.baseUrl]: IMBURSE_URL };
}

/** Counts, measurements and dimensioned measurements, as the Powertools adapter would publish them. */
class CapturingMetrics implements MetricsPort {
  public readonly counts = new Map<string, number>();
  public readonly dimensioned: { name: string; value: number; dimensions: Readonly<Record<string, string>> }[] = [];
  public count(name: string, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  public record(): void {}
  public recordWithDimensions(name: string, value: number, dimensions: Readonly<Record<string, string>>): void {
    this.dimensioned.push({ name, value, dimensions });
  }
}

/**
 * keyrotor's world on a simulated clock: the stateful Secrets Manager fake (with the real rotation
 * steps as its rotation function), Thought Industries answering through a fetch stub (a person
 * makes and removes keys), an Imburse-shaped platform that issues and revokes keys by API, the
 * ledger, the revocation schedules, and the bus feeding the real notifier (so `events.alerts` is
 * what people get).
 */
class World {
  public clock = T0;
  public remaining = 15 * 60_000;
  public pacingTime = 0;
  public readonly store = new InMemorySecretStore();
  public readonly inventory: InMemorySecretInventory;
  public readonly ti: StubbedPlatform;
  public readonly api = new FakeApiPlatform();
  public readonly ledger = new InMemoryLedger();
  public readonly revocations = new InMemoryRevocationScheduler();
  public readonly events: NotifiedEvents;
  public readonly metrics = new CapturingMetrics();
  public readonly log = captureLogger();
  public readonly continuations: SweepContinuationRequest[] = [];
  public readonly pacer: Pacer;
  public readonly providers: ProviderRegistry;
  public policy: SweepPolicy = DEFAULT_SWEEP_POLICY;
  /** Runs before every platform health check (time passing, concurrency probes). */
  public onVerify: (baseUrl: string) => Promise<void> | void = () => undefined;
  /** Every credential string the world ever held, for the secret scans. */
  readonly #credentials = new Set<string>([TI_LIVE_OLD, TI_LIVE_NEW]);
  #tokens = 0;

  public constructor(options: { tiKeys?: string[]; pageSize?: number } = {}) {
    this.store.clock = () => new Date(this.clock);
    this.inventory = new InMemorySecretInventory(this.store, options.pageSize ?? 100);
    this.ti = stubThoughtIndustries(options.tiKeys ?? [TI_LIVE_OLD]);
    const tiRegistry = createProviderRegistry({ fetch: this.ti.fetch, sleep: async () => undefined });
    const api = this.api.provider() as unknown as Provider;
    const probed = (provider: Provider): Provider => {
      const wrapped = Object.create(provider) as Provider & { verify: Provider['verify'] };
      wrapped.verify = async (value, target) => {
        await this.onVerify(target.baseUrl);
        return provider.verify(value, target);
      };
      return wrapped;
    };
    const probedApi = probed(api);
    this.providers = { get: (id) => (id === 'imburse' ? probedApi : probed(tiRegistry.get(id))) };
    this.events = new NotifiedEvents(() => new Date(this.clock));
    this.pacer = new Pacer({ now: () => this.pacingTime, sleep: async (ms) => void (this.pacingTime += ms) });
    const rotationDeps: RotationDeps = {
      store: this.store,
      providers: this.providers,
      logger: this.log.logger,
      propagation: NO_WAIT,
      now: () => new Date(this.clock),
      ledger: this.ledger,
      revocations: this.revocations,
      gracePeriodMs: DAY,
      events: this.events,
    };
    this.store.rotationFunction = (event) => runRotationStep(event, rotationDeps);
  }

  public deps(): SweepDeps {
    return {
      inventory: this.inventory,
      store: this.store,
      providers: this.providers,
      ledger: this.ledger,
      revocations: this.revocations,
      events: this.events,
      continuation: { continueWith: async (request) => void this.continuations.push(request) },
      metrics: this.metrics,
      logger: this.log.logger,
      policy: this.policy,
      now: () => new Date(this.clock),
      remainingTimeMs: () => this.remaining,
      newToken: () => `tok-${(this.#tokens += 1)}`,
      pacer: this.pacer,
    };
  }

  public run(request: SweepRequest = {}): Promise<SweepReport> {
    return sweep(request, this.deps());
  }

  /** A Thought Industries secret (a person makes its keys), rotated every `intervalDays` from now. */
  public tiSecret(name = 'keyrotor/acme-prod', options: { key?: string; intervalDays?: number; tags?: Record<string, string>; baseUrl?: string; value?: string } = {}): string {
    const key = options.key ?? TI_LIVE_OLD;
    this.#credentials.add(key);
    const baseUrl = options.baseUrl ?? BASE_URL;
    return this.store.create(name, {
      value: options.value ?? tiValue(key, { baseUrl }),
      tags: { ...tiTags('production', baseUrl), ...options.tags },
      rotationIntervalDays: options.intervalDays ?? 90,
    });
  }

  /** An Imburse-shaped secret (keys issued and revoked by API), rotated every `intervalDays` from now. */
  public apiSecret(name = 'keyrotor/payments', options: { intervalDays?: number; tags?: Record<string, string> } = {}): { arn: string; publicKey: string } {
    const key = this.api.addKey();
    const value = JSON.stringify({ provider: 'imburse', environment: 'sandbox', baseUrl: IMBURSE_URL, tenantId: 'tenant-1', ...key });
    const arn = this.store.create(name, { value, tags: { ...imburseTags(), ...options.tags }, rotationIntervalDays: options.intervalDays ?? 30 });
    return { arn, publicKey: key.publicKey };
  }

  public ofType(type: KeyrotorEvent['type']): KeyrotorEvent[] {
    return this.events.events.filter((event) => event.type === type);
  }

  public ops(op: string): number {
    return this.store.calls.filter((call) => call.op === op).length;
  }

  /** No credential anywhere in what the sweep published, alerted or logged. */
  public expectNoSecrets(): void {
    const text = JSON.stringify(this.events.events) + JSON.stringify(this.events.alerts) + this.log.text();
    for (const key of this.api.keys.values()) this.#credentials.add(key.privateKey);
    for (const credential of this.#credentials) expect(text).not.toContain(credential);
  }
}

describe('Function: sweep', () => {
  let world: World;

  beforeEach(() => {
    clearRegisteredSecrets();
    world = new World();
  });

  afterEach(() => {
    world.expectNoSecrets();
  });

  describe('due rotations on a person-issued platform', () => {
    it('warns once per threshold (14, 7, 3 days WARNING; 1 day CRITICAL), even when the sweep runs twice a day', async () => {
      // Prepare: due 90 days from now
      const arn = world.tiSecret();
      const due = new Date(T0 + 90 * DAY).toISOString();

      // Act: every day from day 70 to day 89, at 06:00 and again at 07:00
      for (let day = 70; day <= 89; day += 1) {
        for (const hour of [0, 1]) {
          world.clock = T0 + day * DAY + hour * HOUR;
          await world.run();
        }
      }

      // Assess: the bus carries the warning every run while a threshold stays crossed; people hear of each once
      const alerts = world.events.alerts.filter((alert) => alert.subject.includes('key expires'));
      expect(alerts.map((alert) => alert.severity)).toEqual(['WARNING', 'WARNING', 'WARNING', 'CRITICAL']);
      const warnings = world.ofType('KeyExpiringSoon');
      expect([...new Set(warnings.map((event) => event.detail.step))]).toEqual(['warn-14d', 'warn-7d', 'warn-3d', 'warn-1d']);
      expect(warnings.every((event) => event.detail.rotation === due && event.detail.secret === 'keyrotor/acme-prod')).toBe(true);
      expect(warnings.filter((event) => event.detail.step === 'warn-14d')[0]?.detail).toMatchObject({ severity: 'WARNING', provider: 'thought-industries' });
      expect(warnings.find((event) => event.detail.step === 'warn-1d')?.detail.action).toContain('npx keyrotor submit keyrotor/acme-prod');
      // Decided from the listing: no DescribeSecret per secret, nothing started
      expect(world.ops('DescribeSecret')).toBe(0);
      expect(world.ops('RotateSecret')).toBe(0);
      expect(Object.values(world.store.stagesOf(arn))).toEqual([['AWSCURRENT']]);
    });

    it('does not warn ahead of a due rotation where the platform issues keys by API (it rotates itself)', async () => {
      // Prepare
      world.apiSecret('keyrotor/payments', { intervalDays: 30 });
      world.clock = T0 + 29 * DAY;

      // Act
      const report = await world.run();

      // Assess
      expect(world.ofType('KeyExpiringSoon')).toEqual([]);
      expect(report.outcomes.healthy).toBe(1);
    });
  });

  describe('overdue rotations', () => {
    it('on a person-issued platform: ManualActionRequired with the admin-panel instructions, WARNING, then CRITICAL once 7 days overdue', async () => {
      // Prepare
      world.tiSecret();
      const due = new Date(T0 + 90 * DAY).toISOString();

      // Act: the hour after the due date is Secrets Manager's window; then daily
      world.clock = T0 + 90 * DAY + HOUR;
      expect((await world.run()).outcomes['awaiting-person']).toBe(0);
      const outcomes: number[] = [];
      for (let day = 91; day <= 99; day += 1) {
        world.clock = T0 + day * DAY;
        outcomes.push((await world.run()).outcomes['awaiting-person']);
      }

      // Assess
      expect(outcomes).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
      const asks = world.ofType('ManualActionRequired');
      expect(asks[0]?.detail).toMatchObject({ step: 'createSecret', rotation: due, severity: 'WARNING', provider: 'thought-industries' });
      expect(asks[0]?.detail.summary).toMatch(/due for rotation at .* and is 1 days? overdue|and is 24 h overdue/);
      expect(asks[0]?.detail.action).toContain('Settings → Security/API Keys');
      expect(asks[0]?.detail.action).toContain('"keyrotor-acme-prod-20270222"');
      expect(asks[0]?.detail.action).toContain('npx keyrotor submit keyrotor/acme-prod');
      expect(asks.map((event) => event.detail.severity)).toEqual([...Array<string>(6).fill('WARNING'), 'CRITICAL', 'CRITICAL', 'CRITICAL']);
      // One alert per escalation level, not one per day
      expect(world.events.alerts.filter((alert) => alert.subject.includes('create a new key')).map((alert) => alert.severity)).toEqual(['WARNING', 'CRITICAL']);
      expect(world.ops('RotateSecret')).toBe(0);
    });

    it('on a platform that issues keys by API: starts the rotation, once, and reports it', async () => {
      // Prepare
      const { arn, publicKey } = world.apiSecret('keyrotor/payments', { intervalDays: 30 });
      world.clock = T0 + 30 * DAY + 2 * HOUR;

      // Act
      const report = await world.run();
      world.clock += HOUR;
      const again = await world.run();

      // Assess
      expect(report.outcomes['rotation-started']).toBe(1);
      expect(again.outcomes['rotation-started']).toBe(0);
      expect(world.ops('RotateSecret')).toBe(1);
      expect(world.ofType('RotationStarted').find((event) => event.detail.step === 'sweep')?.detail).toMatchObject({
        rotation: 'tok-2',
        severity: 'INFO',
        summary: expect.stringContaining('2 h overdue'),
        done: expect.stringContaining('Started rotation tok-2 with RotateSecret'),
      });
      // The rotation ran: a new key is current, the old one is AWSPREVIOUS with its revocation scheduled
      expect(world.store.stagesOf(arn)['tok-2']).toEqual(['AWSCURRENT']);
      expect(JSON.parse(world.store.valueAt(arn, 'AWSPREVIOUS') as string)).toMatchObject({ publicKey });
      expect(world.revocations.schedules.has('revoke-tok-2')).toBe(true);
    });

    it('reports a rotation Secrets Manager refuses to start, and leaves the secret alone', async () => {
      // Prepare
      world.apiSecret('keyrotor/payments', { intervalDays: 30 });
      world.clock = T0 + 31 * DAY;
      world.store.failNext.set('RotateSecret', new FakeAwsError('InvalidRequestException', 'rotation is not configured'));

      // Act
      const report = await world.run();

      // Assess
      expect(report.outcomes['rotation-start-failed']).toBe(1);
      expect(world.ofType('RotationFailed')[0]?.detail).toMatchObject({ step: 'sweep', errorName: 'InvalidRequestException', severity: 'WARNING' });
      expect(world.ofType('RotationFailed')[0]?.detail.action).toContain('aws secretsmanager rotate-secret --secret-id keyrotor/payments');
    });
  });

  describe('declared expiry (keyrotor:expires-at)', () => {
    it('warns ahead of it on every platform, CRITICAL on the last day and once it has passed', async () => {
      // Prepare: an API platform whose current key expires in 10 days
      const expiresAt = new Date(T0 + 10 * DAY).toISOString();
      world.apiSecret('keyrotor/payments', { intervalDays: 365, tags: { [TAG.expiresAt]: expiresAt } });

      // Act
      const steps: (string | undefined)[] = [];
      for (const at of [T0, T0 + 4 * DAY, T0 + 8 * DAY, T0 + 9.5 * DAY, T0 + 10 * DAY + HOUR]) {
        world.clock = at;
        await world.run();
        steps.push(world.ofType('KeyExpiringSoon').at(-1)?.detail.step);
      }

      // Assess
      expect(steps).toEqual(['warn-14d', 'warn-7d', 'warn-3d', 'warn-1d', 'expired']);
      const [first, , , last, expired] = world.ofType('KeyExpiringSoon');
      expect(first?.detail).toMatchObject({ expiresAt, severity: 'WARNING', fingerprint: expect.stringMatching(/^…/) });
      expect(last?.detail.severity).toBe('CRITICAL');
      expect(expired?.detail).toMatchObject({ step: 'expired', severity: 'CRITICAL', summary: expect.stringContaining('expired at') });
      expect(world.events.alerts.map((alert) => alert.subject)).toContain(`[WARNING] keyrotor: key expires ${expiresAt.slice(0, 10)} - keyrotor/payments`);
    });

    it('ignores an expires-at tag that is not a date, saying so in the log', async () => {
      // Prepare
      world.tiSecret('keyrotor/acme-prod', { tags: { [TAG.expiresAt]: 'next tuesday' } });

      // Act
      await world.run();

      // Assess
      expect(world.ofType('KeyExpiringSoon')).toEqual([]);
      expect(world.log.lines.some((line) => line.level === 'warn' && line.message.includes('not an ISO 8601 date'))).toBe(true);
    });
  });

  describe('health check of the current key', () => {
    it('a 401 on a platform that issues keys by API: KeyRevokedExternally (CRITICAL) and a rotation started', async () => {
      // Prepare: someone deleted the key in the platform's portal
      const { publicKey } = world.apiSecret();
      (world.api.keys.get(publicKey) as { active: boolean }).active = false;

      // Act
      const report = await world.run();

      // Assess
      expect(report.outcomes['revoked-externally']).toBe(1);
      expect(report.outcomes['rotation-started']).toBe(1);
      const [revoked] = world.ofType('KeyRevokedExternally');
      expect(revoked?.detail).toMatchObject({
        severity: 'CRITICAL',
        errorName: 'ProviderAuthError',
        rotation: 'tok-2',
        fingerprint: expect.stringMatching(/^…/),
        done: expect.stringContaining('Started rotation tok-2'),
      });
      expect(revoked?.detail.action).toContain('npx keyrotor verify keyrotor/payments');
      expect(world.ops('RotateSecret')).toBe(1);
      // The rotation itself fails (the platform rejects the key it authenticates with) and says so
      expect(world.store.rotationFailures).toHaveLength(1);
      expect(world.events.alerts.some((alert) => alert.subject === '[CRITICAL] keyrotor: key revoked outside keyrotor - keyrotor/payments')).toBe(true);
    });

    it('a 401 on a person-issued platform: KeyRevokedExternally saying how to hand over a new key, no rotation', async () => {
      // Prepare
      world.tiSecret();
      world.ti.validKeys.clear();

      // Act
      await world.run();

      // Assess
      const [revoked] = world.ofType('KeyRevokedExternally');
      expect(revoked?.detail).toMatchObject({ severity: 'CRITICAL', fingerprint: fingerprintOf(TI_LIVE_OLD), done: expect.stringContaining('Nothing changed') });
      expect(revoked?.detail.action).toContain('npx keyrotor submit keyrotor/acme-prod');
      expect(revoked?.detail.action).toContain('Settings → Security/API Keys');
      expect(world.ops('RotateSecret')).toBe(0);
    });

    it('anything but a 401 (5xx, 429, a network failure) is never a revocation: counted and logged, no event', async () => {
      const failures: Record<string, () => Response> = {
        '500': () => json(500, { error: 'internal' }),
        '503': () => json(503, { error: 'maintenance' }),
        '429': () => json(429, { error: 'slow down' }, { 'retry-after': '600' }),
        network: () => {
          throw new TypeError('fetch failed');
        },
      };
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...Object.keys(failures)), async (kind) => {
          // Prepare
          clearRegisteredSecrets();
          const local = new World();
          local.tiSecret();
          for (let i = 0; i < 8; i += 1) local.ti.queue.push(failures[kind] as () => Response);
          const backOff = jest.spyOn(local.pacer, 'backOff');

          // Act
          const report = await local.run();

          // Assess
          expect(report.outcomes['check-failed']).toBe(1);
          expect(report.outcomes['revoked-externally']).toBe(0);
          expect(local.events.events).toEqual([]);
          expect(local.log.lines.some((line) => line.message.includes('not a revocation'))).toBe(true);
          // A platform asking for a pause gets it: the next call to that instance waits
          if (kind === '429') expect(backOff).toHaveBeenCalledWith(`platform:${BASE_URL}`, 600_000);
          local.expectNoSecrets();
        }),
        { numRuns: 12 },
      );
    });

    it('a 403 is not a revocation either: at most a WARNING', async () => {
      // Prepare
      world.tiSecret();
      for (let i = 0; i < 2; i += 1) world.ti.queue.push(() => json(403, { error: 'forbidden' }));

      // Act
      const report = await world.run();

      // Assess
      expect(report.outcomes['check-failed']).toBe(1);
      expect(world.ofType('KeyRevokedExternally')).toEqual([]);
      expect(world.events.events.map((event) => [event.type, event.detail.severity])).toEqual([['ManualActionRequired', 'WARNING']]);
    });
  });

  describe('stuck rotations (a dangling AWSPENDING)', () => {
    it('re-drives a stuck rotation on an API platform with its own token, which then completes', async () => {
      // Prepare: a rotation opened 25 hours ago and never finished
      const { arn } = world.apiSecret();
      world.clock = T0 + 2 * DAY;
      const pending = world.store.openPendingVersion(arn);
      world.store.setVersionCreated(arn, pending, new Date(world.clock - 25 * HOUR));

      // Act
      const report = await world.run();

      // Assess
      expect(report.outcomes['stuck-redriven']).toBe(1);
      expect(world.store.stagesOf(arn)[pending]).toEqual(['AWSCURRENT']);
      expect(world.ofType('RotationStarted').find((event) => event.detail.step === 'sweep')?.detail).toMatchObject({
        rotation: pending,
        summary: expect.stringContaining('was stuck'),
        done: expect.stringContaining('Re-drove it with RotateSecret and its own token'),
      });
      expect(world.inventory.calls.filter((call) => call.op === 'ListSecretVersionIds')).toHaveLength(1);
    });

    it('removes the AWSPENDING label when Secrets Manager refuses the re-drive, and says so', async () => {
      // Prepare
      const { arn } = world.apiSecret();
      world.clock = T0 + 2 * DAY;
      const pending = world.store.openPendingVersion(arn);
      world.store.setVersionCreated(arn, pending, new Date(world.clock - 30 * HOUR));
      world.store.failNext.set('RotateSecret', new FakeAwsError('InvalidRequestException', 'A previous rotation isn’t complete.'));

      // Act
      const report = await world.run();

      // Assess
      expect(report.outcomes['stuck-label-removed']).toBe(1);
      expect(Object.values(world.store.stagesOf(arn)).flat()).not.toContain('AWSPENDING');
      const [failed] = world.ofType('RotationFailed');
      expect(failed?.detail).toMatchObject({
        step: 'sweep',
        rotation: pending,
        errorName: 'InvalidRequestException',
        done: `Removed the AWSPENDING label from version ${pending}, so the next rotation can start. The current key is unchanged.`,
      });
      expect(failed?.detail.action).toContain('aws secretsmanager rotate-secret --secret-id keyrotor/payments');
    });

    it('reports CRITICAL when the label cannot be removed either', async () => {
      // Prepare
      const { arn } = world.apiSecret();
      const pending = world.store.openPendingVersion(arn);
      world.store.setVersionCreated(arn, pending, new Date(world.clock - 30 * HOUR));
      world.store.failNext.set('RotateSecret', new FakeAwsError('InvalidRequestException', 'no'));
      world.store.failNext.set('UpdateSecretVersionStage', new FakeAwsError('AccessDeniedException', 'no'));

      // Act
      const report = await world.run();

      // Assess
      expect(report.outcomes['stuck-repair-failed']).toBe(1);
      expect(world.ofType('RotationFailed')[0]?.detail).toMatchObject({ severity: 'CRITICAL', errorName: 'AccessDeniedException' });
      expect(world.ofType('RotationFailed')[0]?.detail.action).toContain(`--remove-from-version-id ${pending}`);
    });

    it('leaves a young pending rotation alone', async () => {
      // Prepare
      const { arn } = world.apiSecret();
      const pending = world.store.openPendingVersion(arn);
      world.clock += 23 * HOUR;

      // Act
      await world.run();

      // Assess
      expect(world.ops('RotateSecret') + world.ops('UpdateSecretVersionStage')).toBe(0);
      expect(world.store.stagesOf(arn)[pending]).toEqual(['AWSPENDING']);
    });

    it('on a person-issued platform a pending rotation waits for keyrotor submit: escalated, never re-driven or cleared', async () => {
      // Prepare: the scheduled rotation opened on the due date and waits for a key
      const arn = world.tiSecret();
      world.clock = T0 + 90 * DAY;
      const pending = world.store.openPendingVersion(arn);

      // Act
      const severities: (string | undefined)[] = [];
      for (const day of [1, 2, 6, 7, 8]) {
        world.clock = T0 + (90 + day) * DAY;
        await world.run();
        severities.push(world.ofType('ManualActionRequired').at(-1)?.detail.severity);
      }

      // Assess
      expect(severities).toEqual(['WARNING', 'WARNING', 'WARNING', 'CRITICAL', 'CRITICAL']);
      expect(world.ofType('ManualActionRequired')[0]?.detail).toMatchObject({ step: 'createSecret', rotation: pending, done: expect.stringContaining('stays open for your key') });
      expect(world.ops('RotateSecret') + world.ops('UpdateSecretVersionStage')).toBe(0);
      expect(world.store.stagesOf(arn)[pending]).toEqual(['AWSPENDING']);
    });
  });

  describe('old keys past their revocation date', () => {
    it('API platform: re-schedules the revocation of an old key still alive, then confirms it once it answers 401, and checks it no more', async () => {
      // Prepare: a rotation at T0 whose scheduled revocation fired and failed
      const { arn, publicKey: oldKey } = world.apiSecret();
      const token = await world.store.scheduledRotation(arn);
      expect(world.revocations.due(new Date(T0 + DAY))).toHaveLength(1);

      // Act 1: the day after the revocation date, the old key still works
      world.clock = T0 + DAY + 2 * HOUR;
      const first = await world.run();

      // Assess 1
      expect(first.outcomes['old-key-revocation-rescheduled']).toBe(1);
      const rescheduled = world.revocations.schedules.get(`revoke-${token}`);
      expect(rescheduled?.at).toEqual(new Date(world.clock + 5 * 60_000));
      expect(rescheduled?.request).toMatchObject({ secretArn: arn, token, providerKeyId: oldKey });
      expect(world.ofType('RotationFailed')[0]?.detail).toMatchObject({ step: 'revoke', rotation: token, errorName: 'OldKeyStillActive', severity: 'WARNING' });
      expect(world.ofType('RotationFailed')[0]?.detail.done).toContain('Scheduled its revocation again');

      // Act 2: the schedule fires and the revoker revokes it; the next sweep confirms
      world.clock += 10 * 60_000;
      for (const request of world.revocations.due(new Date(world.clock))) {
        await revokeOldKey(request, { store: world.store, providers: world.providers, ledger: world.ledger, logger: world.log.logger, now: () => new Date(world.clock), events: world.events });
      }
      world.clock = T0 + 2 * DAY;
      const second = await world.run();
      const verifiesBefore = world.api.calls.filter((op) => op === 'verify').length;
      world.clock = T0 + 3 * DAY;
      const third = await world.run();

      // Assess 2
      expect(second.outcomes['old-key-confirmed-revoked']).toBe(1);
      expect(world.ledger.events.filter((event) => event.actor === 'sweep')).toEqual([
        expect.objectContaining({ secretArn: arn, token, state: 'revoked', providerKeyId: oldKey, detail: expect.stringContaining('HTTP 401') }),
      ]);
      const tags = (await world.store.describe(arn)).tags;
      expect(tags[TAG.revocationConfirmed]).toMatch(/^\.\.\..{4}:[0-9a-f]{8}$/);
      // The revoker announced the revocation; the sweep adds no second KeyRevoked
      expect(world.ofType('KeyRevoked')).toHaveLength(1);
      expect(third.outcomes['old-key-confirmed-revoked']).toBe(0);
      expect(world.api.calls.filter((op) => op === 'verify').length - verifiesBefore).toBe(1);
    });

    describe('a person-revoked platform (Thought Industries)', () => {
      let arn: string;

      beforeEach(async () => {
        // A key handed over and promoted at T0; the old key is AWSPREVIOUS
        world.ti.validKeys.add(TI_LIVE_NEW);
        arn = world.tiSecret();
        const oldVersion = Object.keys(world.store.stagesOf(arn))[0] as string;
        await world.store.putPendingValue(arn, 'tok-1', tiValue(TI_LIVE_NEW));
        await world.store.moveStage(arn, 'AWSCURRENT', 'tok-1', oldVersion);
        await world.store.removeStage(arn, 'AWSPENDING', 'tok-1');
        world.store.setRotationDates(arn, { lastRotatedDate: new Date(T0), nextRotationDate: new Date(T0 + 90 * DAY) });
        world.store.calls.length = 0;
      });

      it('asks a person to remove an old key still alive after its revocation date: WARNING, CRITICAL after 7 days', async () => {
        // Act
        world.clock = T0 + 23 * HOUR;
        const early = await world.run();
        world.clock = T0 + 2 * DAY;
        await world.run();
        world.clock = T0 + 9 * DAY;
        await world.run();

        // Assess
        expect(early.outcomes['old-key-still-active']).toBe(0);
        const asks = world.ofType('ManualActionRequired');
        expect(asks.map((event) => event.detail.severity)).toEqual(['WARNING', 'CRITICAL']);
        expect(asks[0]?.detail).toMatchObject({ step: 'revoke', rotation: 'tok-1', fingerprint: fingerprintOf(TI_LIVE_OLD) });
        expect(asks[0]?.detail.action).toContain(`Remove the old API key ${fingerprintOf(TI_LIVE_OLD)}`);
        expect(world.revocations.schedules.size).toBe(0);
      });

      it('confirms a removal (401): ledger and tag, a KeyRevoked for people, and the key is not checked again', async () => {
        // Prepare: the person removed it
        world.ti.validKeys.delete(TI_LIVE_OLD);

        // Act
        world.clock = T0 + 2 * DAY;
        const first = await world.run();
        const callsAfterFirst = world.ti.calls.length;
        world.clock = T0 + 3 * DAY;
        await world.run();

        // Assess
        expect(first.outcomes['old-key-confirmed-revoked']).toBe(1);
        expect(world.ledger.events).toEqual([
          expect.objectContaining({ secretArn: arn, token: 'tok-1', state: 'revoked', actor: 'sweep', fingerprint: fingerprintOf(TI_LIVE_OLD), detail: 'confirmed by the daily sweep: the old key answers HTTP 401' }),
        ]);
        expect((await world.store.describe(arn)).tags[TAG.revocationConfirmed]).toBe(revocationConfirmedTagValue(fingerprintOf(TI_LIVE_OLD)));
        expect(world.ofType('KeyRevoked')[0]?.detail).toMatchObject({ step: 'revoke', fingerprint: fingerprintOf(TI_LIVE_OLD), severity: 'INFO' });
        // Second run: only the current key is checked
        expect(world.ti.calls.length - callsAfterFirst).toBe(1);
        expect(world.ti.calls.at(-1)?.authorization).toBe(`Bearer ${TI_LIVE_NEW}`);
      });
    });
  });

  it('a secret still holding its bootstrap value: ManualActionRequired with the instructions, no health check', async () => {
    // Prepare
    world.tiSecret('keyrotor/acme-prod', { value: JSON.stringify({ ...BOOTSTRAP_SECRET_MARKER, bootstrap: 'Zq8RandomFillerFromSecretsManager' }) });

    // Act
    const report = await world.run();

    // Assess
    expect(report.outcomes.bootstrap).toBe(1);
    expect(world.ofType('ManualActionRequired')[0]?.detail).toMatchObject({ step: 'createSecret', summary: expect.stringContaining('awaiting its first key') });
    expect(world.ofType('ManualActionRequired')[0]?.detail.action).toContain('npx keyrotor submit keyrotor/acme-prod');
    expect(world.ti.calls).toEqual([]);
  });

  it('a secret tagged keyrotor:compromised: no value read and no live check, reported in the summary', async () => {
    // Prepare
    world.tiSecret('keyrotor/acme-prod', { tags: { [TAG.compromised]: fingerprintOf(TI_LIVE_OLD) } });
    world.tiSecret('keyrotor/other', { baseUrl: 'https://other.thoughtindustries.com' });

    // Act
    const report = await world.run();

    // Assess
    expect(report.compromised).toEqual(['keyrotor/acme-prod']);
    expect(report.outcomes).toMatchObject({ 'compromised-skipped': 1, healthy: 1 });
    expect(world.ti.calls).toHaveLength(1);
    expect(world.ti.calls[0]?.url.startsWith('https://other.thoughtindustries.com/')).toBe(true);
    expect(world.inventory.calls.filter((call) => call.op === 'GetSecretValue').map((call) => call.secretId)).not.toContain(
      world.store.listing().find((secret) => secret.name === 'keyrotor/acme-prod')?.arn,
    );
  });

  it('reports key age, days to rotation and days to expiry per provider (not per secret), and the heartbeat', async () => {
    // Prepare
    world.tiSecret('keyrotor/acme-prod', { tags: { [TAG.expiresAt]: new Date(T0 + 40 * DAY).toISOString() } });
    world.clock = T0 + 10 * DAY;

    // Act
    await world.run();

    // Assess
    expect(world.metrics.dimensioned).toEqual([
      { name: 'KeyAgeDays', value: 10, dimensions: { provider: 'thought-industries' } },
      { name: 'DaysToRotation', value: 80, dimensions: { provider: 'thought-industries' } },
      { name: 'DaysToExpiry', value: 30, dimensions: { provider: 'thought-industries' } },
    ]);
    expect(world.metrics.counts.get('SweepCompleted')).toBe(1);
    // Per key, the same figures are in the log line the dashboard's Logs Insights table reads.
    expect(world.log.lines.find((line) => line.message === SECRET_SWEPT_MESSAGE)?.attributes).toMatchObject({
      secret: 'keyrotor/acme-prod',
      provider: 'thought-industries',
      ageDays: 10,
      daysToRotation: 80,
      daysToExpiry: 30,
    });
  });

  it('one failing secret never stops the run', async () => {
    // Prepare: a secret whose provider tag names a platform keyrotor does not know
    world.tiSecret('keyrotor/broken', { tags: { [TAG.provider]: 'moodle' } });
    world.tiSecret('keyrotor/fine', { baseUrl: 'https://fine.thoughtindustries.com' });

    // Act
    const report = await world.run();

    // Assess
    expect(report.outcomes).toMatchObject({ failed: 1, healthy: 1 });
    expect(report.status).toBe('complete');
    expect(world.log.lines.some((line) => line.level === 'error' && line.attributes?.secret === 'keyrotor/broken')).toBe(true);
  });

  describe('scale', () => {
    it('short of time, starts no new secret and hands the batch\'s cursor and the count done to a continuation that finishes the run', async () => {
      // Prepare: 5 secrets, 2 per listing page (one batch of three pages); one at a time; each health check takes a simulated minute
      world = new World({ pageSize: 2 });
      world.policy = { ...world.policy, concurrency: 1 };
      for (let i = 0; i < 5; i += 1) world.tiSecret(`keyrotor/acme-${i}`);
      world.onVerify = () => void (world.remaining -= 60_000);
      world.remaining = 5 * 60_000;

      // Act 1
      const first = await world.run();

      // Assess 1: three checks leave 2 minutes, under the 3-minute margin: no fourth is started
      expect(first).toMatchObject({ status: 'continued', pages: 3, secrets: 3, skip: 3 });
      expect(first.cursor).toBeUndefined(); // the first batch starts at the top of the listing
      expect(world.continuations).toEqual([{ skip: 3, runId: first.runId }]);
      expect(world.metrics.counts.get('SweepCompleted')).toBeUndefined();

      // Act 2: the continuation, in a fresh invocation
      world.remaining = 15 * 60_000;
      const second = await world.run(world.continuations[0]);

      // Assess 2: the listing is read again, the three done are skipped, nobody is checked twice
      expect(second).toMatchObject({ status: 'complete', pages: 3, secrets: 2, runId: first.runId });
      expect(second.cursor).toBeUndefined();
      expect(world.inventory.calls.filter((call) => call.op === 'ListSecrets').map((call) => call.cursor)).toEqual([undefined, 'page-2', 'page-4', undefined, 'page-2', 'page-4']);
      expect(world.ti.calls).toHaveLength(5);
      expect(new Set(world.ti.calls.map((call) => call.authorization)).size).toBe(1);
      expect(world.metrics.counts.get('SweepCompleted')).toBe(1);
      expect(first.outcomes.healthy + second.outcomes.healthy).toBe(5);
    });

    it('with one page per batch, continues at the next batch\'s cursor; every invocation sweeps at least one secret', async () => {
      world = new World({ pageSize: 2 });
      world.policy = { ...world.policy, concurrency: 1, pagesPerBatch: 1 };
      for (let i = 0; i < 5; i += 1) world.tiSecret(`keyrotor/acme-${i}`);
      world.onVerify = () => void (world.remaining -= 60_000);
      world.remaining = 6 * 60_000;
      const first = await world.run();
      expect(first).toMatchObject({ status: 'continued', pages: 3, secrets: 4, cursor: 'page-4', skip: 0 });
      // Even under the margin (2 minutes left), the continuation sweeps one secret before handing on
      world.remaining = 2 * 60_000;
      const second = await world.run(world.continuations[0]);
      expect(second).toMatchObject({ status: 'complete', secrets: 1 });
      expect(world.ti.calls).toHaveLength(5);
    });

    it('never has more than `concurrency` secrets in flight, and spaces calls to each platform instance', async () => {
      // Prepare: 8 secrets on two Thought Industries instances
      world.policy = { ...DEFAULT_SWEEP_POLICY, concurrency: 3 };
      for (let i = 0; i < 8; i += 1) world.tiSecret(`keyrotor/s${i}`, { baseUrl: i % 2 === 0 ? 'https://a.thoughtindustries.com' : 'https://b.thoughtindustries.com' });
      let inFlight = 0;
      let maxInFlight = 0;
      world.onVerify = async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight -= 1;
      };
      const slot = jest.spyOn(world.pacer, 'slot');

      // Act
      const report = await world.run();

      // Assess
      expect(report.outcomes.healthy).toBe(8);
      expect(maxInFlight).toBeGreaterThan(1);
      expect(maxInFlight).toBeLessThanOrEqual(3);
      const platformSlots = slot.mock.calls.filter(([key]) => key.startsWith('platform:'));
      expect(platformSlots).toHaveLength(8);
      expect(new Set(platformSlots.map(([key, interval]) => `${key} ${interval}`))).toEqual(
        new Set(['platform:https://a.thoughtindustries.com 4000', 'platform:https://b.thoughtindustries.com 4000']),
      );
    });

    it('spaces checks per credential on platforms that limit each credential rather than the host (Thinkific by default)', async () => {
      // Prepare: treat Thought Industries as such a platform; two secrets on one host
      world.policy = { ...DEFAULT_SWEEP_POLICY, rateLimitPerCredential: ['thought-industries'] };
      world.tiSecret('keyrotor/site-a', { baseUrl: 'https://shared.thoughtindustries.com' });
      world.tiSecret('keyrotor/site-b', { baseUrl: 'https://shared.thoughtindustries.com' });
      const slot = jest.spyOn(world.pacer, 'slot');

      // Act
      await world.run();

      // Assess: one pacing key per secret, not one for the host
      const keys = slot.mock.calls.map(([key]) => key).filter((key) => key.startsWith('platform:'));
      expect(new Set(keys)).toEqual(new Set(['platform:https://shared.thoughtindustries.com:keyrotor/site-a', 'platform:https://shared.thoughtindustries.com:keyrotor/site-b']));
      expect(DEFAULT_SWEEP_POLICY.rateLimitPerCredential).toEqual(['thinkific']);
    });

    it('leaves live checks for the next run when the invocation cannot wait for the platform (a long Retry-After, little time left)', async () => {
      // Prepare: two secrets on one instance, one at a time; the first check is answered 429 with a 10-minute Retry-After
      world.policy = { ...DEFAULT_SWEEP_POLICY, concurrency: 1 };
      world.tiSecret('keyrotor/a');
      world.tiSecret('keyrotor/b');
      for (let i = 0; i < 4; i += 1) world.ti.queue.push(() => json(429, { error: 'slow down' }, { 'retry-after': '600' }));
      world.remaining = 5 * 60_000;

      // Act
      const report = await world.run();

      // Assess
      expect(report.outcomes).toMatchObject({ 'check-failed': 1, deferred: 1, healthy: 0 });
      expect(world.ti.calls).toHaveLength(1);
      expect(world.metrics.counts.get('SweepDeferred')).toBe(1);
      expect(world.log.lines.some((line) => line.message.includes('live check left for the next run') && line.attributes?.secret === 'keyrotor/b')).toBe(true);
    });

    it('paces Secrets Manager writes (RotateSecret, TagResource, UpdateSecretVersionStage) under the account quota', async () => {
      // Prepare: three overdue API secrets
      for (let i = 0; i < 3; i += 1) world.apiSecret(`keyrotor/pay-${i}`, { intervalDays: 30 });
      world.clock = T0 + 31 * DAY;
      const slot = jest.spyOn(world.pacer, 'slot');

      // Act
      await world.run();

      // Assess
      expect(world.ops('RotateSecret')).toBe(3);
      expect(slot.mock.calls.filter(([key]) => key === 'secretsmanager:write')).toEqual([
        ['secretsmanager:write', 100],
        ['secretsmanager:write', 100],
        ['secretsmanager:write', 100],
      ]);
    });

    it('fails the invocation (for Lambda to retry) when the listing fails, or returns the cursor it was given', async () => {
      // Prepare
      world.tiSecret();
      world.inventory.failNext.set('ListSecrets', new FakeAwsError('ThrottlingException', 'Rate exceeded'));

      // Act & Assess
      await expect(world.run()).rejects.toMatchObject({ name: 'ThrottlingException' });
      const stuck = { ...world.deps(), inventory: { ...world.inventory, listPage: async () => ({ secrets: [], nextCursor: 'same' }), listVersions: async () => [], readValue: async () => undefined } };
      await expect(sweep({ cursor: 'same' }, stuck)).rejects.toThrow(/returned the cursor it was given/);
    });
  });

  it('counts every outcome in the summary, zeros included, and logs it', async () => {
    // Act
    const report = await world.run();

    // Assess
    expect(Object.keys(report.outcomes).sort()).toEqual([...SWEEP_OUTCOMES].sort());
    expect(world.log.lines.find((line) => line.message === 'sweep complete')?.attributes).toMatchObject({ status: 'complete', secrets: 0 });
    expect(outcomeMetricName('revoked-externally')).toBe('SweepRevokedExternally');
  });
});

describe('Function: deadlineWarning', () => {
  const now = new Date(T0);

  it('is the smallest threshold crossed, the last one marked, or passed', () => {
    // Assess
    expect(deadlineWarning(new Date(T0 + 15 * DAY), now, [14, 7, 3, 1])).toBeUndefined();
    expect(deadlineWarning(new Date(T0 + 14 * DAY), now, [14, 7, 3, 1])).toEqual({ kind: 'warn', days: 14, last: false });
    expect(deadlineWarning(new Date(T0 + 2 * DAY), now, [14, 7, 3, 1])).toEqual({ kind: 'warn', days: 3, last: false });
    expect(deadlineWarning(new Date(T0 + HOUR), now, [14, 7, 3, 1])).toEqual({ kind: 'warn', days: 1, last: true });
    expect(deadlineWarning(new Date(T0), now, [14, 7, 3, 1])).toEqual({ kind: 'passed' });
  });

  it('for any deadline, names a threshold the time left has crossed and no smaller one it has crossed too', () => {
    fc.assert(
      fc.property(fc.integer({ min: -30 * DAY, max: 400 * DAY }), fc.uniqueArray(fc.integer({ min: 1, max: 365 }), { minLength: 1, maxLength: 10 }), (left, days) => {
        const thresholds = [...days].sort((a, b) => b - a);
        const warning = deadlineWarning(new Date(T0 + left), now, thresholds);
        if (left <= 0) return expect(warning).toEqual({ kind: 'passed' });
        const crossed = thresholds.filter((d) => left <= d * DAY);
        if (crossed.length === 0) return expect(warning).toBeUndefined();
        expect(warning).toEqual({ kind: 'warn', days: Math.min(...crossed), last: Math.min(...crossed) === Math.min(...thresholds) });
      }),
    );
  });
});

describe('Function: revocationConfirmedTagValue', () => {
  it('turns a fingerprint into a valid Secrets Manager tag value, the same way every time', () => {
    expect(revocationConfirmedTagValue('…i9j0#0c4f12ab')).toBe('...i9j0:0c4f12ab');
    fc.assert(
      fc.property(fc.string({ maxLength: 4 }), fc.stringMatching(/^[0-9a-f]{8}$/), (last4, hash) => {
        const value = revocationConfirmedTagValue(`…${last4}#${hash}`);
        expect(value).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u);
        expect(value.endsWith(`:${hash}`)).toBe(true);
        expect(revocationConfirmedTagValue(`…${last4}#${hash}`)).toBe(value);
      }),
    );
  });
});

describe('Function: parseSweepRequest', () => {
  it('accepts the schedule\'s {} (and no event at all) and a continuation', () => {
    expect(parseSweepRequest({})).toEqual({});
    expect(parseSweepRequest(undefined)).toEqual({});
    expect(parseSweepRequest(null)).toEqual({});
    expect(parseSweepRequest({ cursor: 'AAAA', runId: '3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b' })).toEqual({ cursor: 'AAAA', runId: '3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b' });
  });

  it('refuses wrong types and unknown fields with a ValidationError naming each', () => {
    expect(() => parseSweepRequest({ cursor: 5 })).toThrow(ValidationError);
    expect(() => parseSweepRequest({ cursor: 5, dryRun: true })).toThrow(/cursor: .*; dryRun: is not a known field/);
    expect(() => parseSweepRequest({ runId: 'a b' })).toThrow(/runId: must be 1 to 64 letters, digits or hyphens/);
    expect(() => parseSweepRequest('sweep')).toThrow(ValidationError);
  });

  it('for any JSON input, returns a request or throws a ValidationError, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ cursor: fc.jsonValue(), runId: fc.jsonValue() }, { requiredKeys: [] })), (input) => {
        try {
          const request = parseSweepRequest(input);
          expect(typeof request).toBe('object');
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
        }
      }),
    );
  });
});

describe('interleaveByInstance', () => {
  const entry = (name: string, baseUrl: string) => ({ name, tags: { [TAG.baseUrl]: baseUrl } });

  it('takes secrets round-robin across platform instances, keeping each instance\'s order, and loses none', () => {
    const grouped = [entry('a1', 'https://a'), entry('a2', 'https://a'), entry('a3', 'https://a'), entry('b1', 'https://b'), entry('c1', 'https://c'), entry('c2', 'https://c')];
    expect(interleaveByInstance(grouped).map((e) => e.name)).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
    expect(interleaveByInstance([])).toEqual([]);
  });
});
