import { EVENT_SOURCE, type EventPublisher, type KeyrotorEvent } from '../../../lambdas/core/events';
import { notify, type NotifyResult } from '../../../lambdas/core/notify';
import { SILENT_LOGGER } from '../../../lambdas/ports/logger';
import type { Alert } from '../../../lambdas/ports/notifier';
import { capturedText, recordCapture } from '../secret-scan';
import { InMemoryAlertDeduper } from './in-memory-alert-deduper';

/** Keeps every published event (and records it for the suite-wide secret scan); can be told to fail (an EventBridge outage). */
export class CapturingEvents implements EventPublisher {
  public readonly events: KeyrotorEvent[] = [];
  public failing = false;
  public async publish(event: KeyrotorEvent): Promise<void> {
    if (this.failing) throw Object.assign(new Error('EventBridge unavailable'), { name: 'InternalException' });
    this.events.push(event);
    recordCapture('event', capturedText(event));
  }
  public types(): string[] {
    return this.events.map((e) => e.type);
  }
}

/**
 * Keeps every published event and hands it, as EventBridge would (JSON, with the time of
 * publication), to the real notifier with an in-memory deduper: `alerts` is exactly what a
 * person gets (each also recorded for the suite-wide secret scan).
 */
export class NotifiedEvents extends CapturingEvents {
  public readonly alerts: Alert[] = [];
  public readonly outcomes: NotifyResult[] = [];
  public readonly deduper = new InMemoryAlertDeduper();

  public constructor(private readonly now: () => Date = () => new Date()) {
    super();
  }

  public override async publish(event: KeyrotorEvent): Promise<void> {
    await super.publish(event);
    const envelope = { source: EVENT_SOURCE, 'detail-type': event.type, detail: JSON.parse(JSON.stringify(event.detail)) as unknown, time: this.now().toISOString() };
    const notifier = {
      notify: async (alert: Alert) => {
        this.alerts.push(alert);
        recordCapture('alert', capturedText(alert));
      },
    };
    this.outcomes.push(await notify(envelope, { notifier, deduper: this.deduper, logger: SILENT_LOGGER, now: this.now }));
  }
}
