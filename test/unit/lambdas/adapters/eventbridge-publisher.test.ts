import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher, EventPublishError } from '../../../../lambdas/adapters/eventbridge-publisher';
import { buildEvent } from '../../../../lambdas/core/events';

describe('Class: EventBridgePublisher', () => {
  const eventBridge = mockClient(EventBridgeClient);
  const event = buildEvent('KeyRevoked', {
    version: '1',
    secret: 'keyrotor/pay',
    provider: 'imburse',
    environment: 'sandbox',
    severity: 'INFO',
    fingerprint: '…abcd#12345678',
    summary: 'the old key was revoked',
  });

  beforeEach(() => eventBridge.reset());

  it('puts the event on keyrotor\'s bus with source keyrotor and the type as detail-type', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    await new EventBridgePublisher('keyrotor', new EventBridgeClient({})).publish(event);
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [{ EventBusName: 'keyrotor', Source: 'keyrotor', DetailType: 'KeyRevoked', Detail: JSON.stringify(event.detail), Resources: [] }],
    });
  });

  it('fails when EventBridge reports the entry as failed (PutEvents answers 200 with per-entry errors)', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }] });
    const error = await new EventBridgePublisher('keyrotor', new EventBridgeClient({})).publish(event).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventPublishError);
    expect((error as Error).message).toBe('EventBridge did not accept the KeyRevoked event (ThrottlingException); it was not published');
  });
});
