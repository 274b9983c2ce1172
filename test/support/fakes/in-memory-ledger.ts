import { ConcurrentRotationError } from '../../../lambdas/core/errors';
import type { Ledger, LedgerEvent, RotationRecord } from '../../../lambdas/ports/ledger';
import type { RevocationRequest, RevocationScheduler } from '../../../lambdas/ports/revocation-scheduler';
import { capturedText, recordCapture } from '../secret-scan';

/**
 * A ledger with the same conditional-write semantics as the DynamoDB adapter. Every record it is given is also
 * recorded for the suite-wide secret scan (`keyrotor history` prints them; the table is an audit trail).
 */
export class InMemoryLedger implements Ledger {
  public readonly events: LedgerEvent[] = [];
  readonly #records = new Map<string, RotationRecord>();
  /** Simulates a concurrent claim: the next claimIssue finds the record changed under it. */
  public raceNextClaim = false;
  /** Fail every call (a ledger outage). */
  public down = false;

  #append(event: LedgerEvent): void {
    this.events.push(event);
    recordCapture('ledger', capturedText(event));
  }

  #check(): void {
    if (this.down) throw Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' });
  }

  public async claimIssue(secretArn: string, token: string, keyName: string, at: string) {
    this.#check();
    const key = `${secretArn}|${token}`;
    const previous = this.#records.get(key);
    if (this.raceNextClaim) {
      this.raceNextClaim = false;
      throw new ConcurrentRotationError(`another attempt of rotation ${token} is creating a key; this one stops`);
    }
    const attempt = (previous?.attempt ?? 0) + 1;
    this.#records.set(key, { secretArn, token, state: 'intent', attempt, keyName, updatedAt: at, ...(previous?.providerKeyId ? { providerKeyId: previous.providerKeyId } : {}) });
    this.#append({ secretArn, token, state: 'intent', at, actor: 'rotation-lambda', detail: `attempt ${attempt}: key "${keyName}"` });
    return previous ? { attempt, previous } : { attempt };
  }

  public async record(event: LedgerEvent): Promise<void> {
    this.#check();
    this.#append(event);
    const key = `${event.secretArn}|${event.token}`;
    const previous = this.#records.get(key);
    this.#records.set(key, {
      secretArn: event.secretArn,
      token: event.token,
      state: event.state,
      attempt: previous?.attempt ?? 0,
      updatedAt: event.at,
      ...(previous?.keyName ? { keyName: previous.keyName } : {}),
      ...((event.providerKeyId ?? previous?.providerKeyId) ? { providerKeyId: event.providerKeyId ?? previous?.providerKeyId } : {}),
    });
  }

  public async get(secretArn: string, token: string) {
    this.#check();
    return this.#records.get(`${secretArn}|${token}`);
  }

  public async history(secretArn: string) {
    this.#check();
    return this.events.filter((e) => e.secretArn === secretArn);
  }

  public states(token?: string): string[] {
    return this.events.filter((e) => token === undefined || e.token === token).map((e) => e.state);
  }
}

/** Records one-time schedules as EventBridge Scheduler would hold them; `due(now)` hands back what would have fired. */
export class InMemoryRevocationScheduler implements RevocationScheduler {
  public readonly schedules = new Map<string, { request: RevocationRequest; at: Date }>();

  public async schedule(request: RevocationRequest, at: Date) {
    const name = `revoke-${request.token}`;
    if (this.schedules.has(name)) return 'already-scheduled' as const;
    this.schedules.set(name, { request, at });
    return 'scheduled' as const;
  }

  /** Removes and returns the schedules due at `now` (ActionAfterCompletion DELETE). */
  public due(now: Date): RevocationRequest[] {
    const fired: RevocationRequest[] = [];
    for (const [name, entry] of this.schedules) {
      if (entry.at.getTime() <= now.getTime()) {
        fired.push(entry.request);
        this.schedules.delete(name);
      }
    }
    return fired;
  }
}
