/**
 * Captures what an SNS topic delivers, through an SQS queue subscribed to it: the way a real subscriber (a chat
 * bridge, a pager integration, an audit store) receives keyrotor's alerts.
 *
 * The subscription keeps SNS's JSON envelope (`RawMessageDelivery: false`): with raw delivery SNS drops the
 * subject, and the subject is what e-mail subscribers read first. The queue has the policy AWS needs before SNS
 * may send to it (`sns.amazonaws.com`, `sqs:SendMessage`, only from this topic).
 *
 * moto_server (5.2.1) against AWS, measured for this helper — tests must not be fooled by these:
 * - moto delivers SNS → SQS synchronously inside `Publish`; AWS delivers asynchronously (usually well under a
 *   second). {@link SnsSqsCapture.receive} therefore long-polls until the expected count or a deadline, never
 *   assumes a message is there once `Publish` returned.
 * - moto does not enforce the queue policy (TOOLCHAIN: resource policies are not enforced); AWS drops the
 *   deliveries silently without it. The policy is set anyway, as on AWS.
 * - moto keeps publish order in a standard queue; AWS does not promise any order. Tests receive after each
 *   publish, or compare sorted, rather than rely on order across messages.
 * - moto's envelope has every field AWS sends (`Type`, `MessageId`, `TopicArn`, `Subject`, `Message`,
 *   `Timestamp`, `SignatureVersion`, `Signature`, `SigningCertURL`, `UnsubscribeURL`, `MessageAttributes` as
 *   `{Type, Value}`), but its signature cannot be verified and its `UnsubscribeURL` names us-east-1 and another
 *   subscription id: assert on neither.
 * - moto's long polling honours `WaitTimeSeconds` (an empty poll takes that long), as AWS does.
 */
import { SubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { recordCapture } from './secret-scan';

/** One notification as SNS delivers it to an SQS subscriber without raw delivery (the JSON envelope). */
export interface SnsNotification {
  readonly Type: string;
  readonly MessageId: string;
  readonly TopicArn: string;
  /** Absent when the publisher gave no subject. */
  readonly Subject?: string;
  readonly Message: string;
  readonly Timestamp: string;
  /** The publisher's message attributes, as SNS renders them in the envelope. */
  readonly MessageAttributes?: Readonly<Record<string, { readonly Type: string; readonly Value: string }>>;
}

/** What {@link SnsSqsCapture.receive} returns: the notification and the SQS message that carried it. */
export interface CapturedNotification {
  readonly notification: SnsNotification;
  /** The SQS message as received (body, attributes), for scans of everything a subscriber saw. */
  readonly message: Message;
}

/** Options of {@link SnsSqsCapture.receive}. */
export interface ReceiveOptions {
  /**
   * How long to keep polling for the expected messages before returning what arrived.
   * @default 10_000
   */
  readonly timeoutMs?: number;
}

/** An SQS queue subscribed to a topic. */
export interface SnsSqsCapture {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly subscriptionArn: string;
  /**
   * Receives, parses and deletes notifications until `expected` have arrived or the deadline passes, then
   * makes one more short poll so that extra deliveries show up too (callers assert the exact count). With
   * `expected` 0 it waits one long poll, so a wrongly published alert is caught.
   */
  receive(expected: number, options?: ReceiveOptions): Promise<CapturedNotification[]>;
}

/** Long-poll wait per ReceiveMessage: short, so a test's deadline is honoured closely. */
const WAIT_TIME_SECONDS = 1;
const DEFAULT_TIMEOUT_MS = 10_000;
/** The most SQS returns per ReceiveMessage. */
const MAX_MESSAGES = 10;

/**
 * Creates a queue, lets the topic send to it, and subscribes it to the topic (protocol `sqs`, no raw delivery).
 * @param queueName defaults to `<topic name>-capture`.
 */
export async function captureTopicInQueue(sns: SNSClient, sqs: SQSClient, topicArn: string, queueName?: string): Promise<SnsSqsCapture> {
  const name = queueName ?? `${topicArn.split(':').pop() ?? 'topic'}-capture`;
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  if (!queueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = Attributes?.QueueArn;
  if (!queueArn) throw new Error(`GetQueueAttributes returned no QueueArn for ${queueUrl}`);

  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'AllowTheTopicToDeliver',
              Effect: 'Allow',
              Principal: { Service: 'sns.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: queueArn,
              Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
            },
          ],
        }),
      },
    }),
  );

  const { SubscriptionArn: subscriptionArn } = await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: queueArn,
      Attributes: { RawMessageDelivery: 'false' },
      ReturnSubscriptionArn: true,
    }),
  );
  if (!subscriptionArn) throw new Error(`Subscribe ${queueArn} to ${topicArn} returned no SubscriptionArn`);

  async function poll(waitTimeSeconds: number): Promise<CapturedNotification[]> {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: MAX_MESSAGES, WaitTimeSeconds: waitTimeSeconds, MessageAttributeNames: ['All'] }),
    );
    // What a subscriber receives, body and attributes, goes to the suite-wide secret scan.
    for (const message of Messages) recordCapture('sns-delivery', JSON.stringify({ Body: message.Body, MessageAttributes: message.MessageAttributes }));
    if (Messages.length > 0) {
      // Deleted at once: a message left in flight would be received again after its visibility timeout.
      await sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })) }),
      );
    }
    return Messages.map((message) => ({ notification: parseEnvelope(message), message }));
  }

  return {
    queueUrl,
    queueArn,
    subscriptionArn,
    async receive(expected, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      const received: CapturedNotification[] = [];
      if (expected === 0) return poll(WAIT_TIME_SECONDS);
      while (received.length < expected && Date.now() < deadline) {
        const waitTimeSeconds = Math.max(0, Math.min(WAIT_TIME_SECONDS, Math.floor((deadline - Date.now()) / 1000)));
        received.push(...(await poll(waitTimeSeconds)));
      }
      received.push(...(await poll(0)));
      return received;
    },
  };
}

/** Parses SNS's envelope out of an SQS message body; fails loudly on anything else (e.g. a raw delivery). */
function parseEnvelope(message: Message): SnsNotification {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.Body ?? '');
  } catch {
    throw new Error(`SQS message ${message.MessageId ?? '?'} is not an SNS envelope (raw delivery?): ${String(message.Body).slice(0, 200)}`);
  }
  const envelope = parsed as Partial<SnsNotification> | null;
  if (typeof envelope !== 'object' || envelope === null || typeof envelope.Type !== 'string' || typeof envelope.Message !== 'string') {
    throw new Error(`SQS message ${message.MessageId ?? '?'} is not an SNS envelope: ${String(message.Body).slice(0, 200)}`);
  }
  return envelope as SnsNotification;
}
