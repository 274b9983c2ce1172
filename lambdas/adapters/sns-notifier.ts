import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { redactText } from '../core/redaction';
import type { Alert, Notifier } from '../ports/notifier';

/** SNS limits a subject to 100 printable ASCII characters and no line breaks. */
export function snsSubject(subject: string): string {
  const ascii = subject.replace(/…/g, '...').replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > 100 ? `${ascii.slice(0, 97)}...` : ascii;
}

/** Publishes alerts to keyrotor's SNS topic (e-mail subscribers read subject and body as they are). */
export class SnsNotifier implements Notifier {
  public constructor(
    private readonly topicArn: string,
    private readonly client: SNSClient = new SNSClient({}),
  ) {}

  public async notify(alert: Alert): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: snsSubject(redactText(alert.subject)),
        Message: redactText(alert.body),
        MessageAttributes: { severity: { DataType: 'String', StringValue: alert.severity } },
      }),
    );
  }
}
