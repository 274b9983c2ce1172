import type { EventPublisher, KeyrotorEvent } from '../../../lambdas/core/events';

/** Keeps every published event; can be told to fail (an EventBridge outage). */
export class CapturingEvents implements EventPublisher {
  public readonly events: KeyrotorEvent[] = [];
  public failing = false;
  public async publish(event: KeyrotorEvent): Promise<void> {
    if (this.failing) throw Object.assign(new Error('EventBridge unavailable'), { name: 'InternalException' });
    this.events.push(event);
  }
  public types(): string[] {
    return this.events.map((e) => e.type);
  }
}
