import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { KeyrotorError } from '../core/errors';
import { EVENT_SOURCE, type EventPublisher, type KeyrotorEvent } from '../core/events';

/** PutEvents reported the entry as failed (throttled, or the bus refused it). */
export class EventPublishError extends KeyrotorError {
  public constructor(type: string, code: string | undefined) {
    super(`EventBridge did not accept the ${type} event (${code ?? 'unknown error'}); it was not published`);
    this.name = 'EventPublishError';
  }
}

/** Publishes keyrotor's events on its custom bus with @aws-sdk/client-eventbridge. */
export class EventBridgePublisher implements EventPublisher {
  public constructor(
    private readonly busName: string,
    private readonly client: EventBridgeClient = new EventBridgeClient({}),
  ) {}

  public async publish(event: KeyrotorEvent): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: this.busName, Source: EVENT_SOURCE, DetailType: event.type, Detail: JSON.stringify(event.detail), Resources: [] }],
      }),
    );
    // PutEvents answers 200 with per-entry failures; a dropped event must not pass silently.
    if ((out.FailedEntryCount ?? 0) > 0) throw new EventPublishError(event.type, out.Entries?.[0]?.ErrorCode);
  }
}
