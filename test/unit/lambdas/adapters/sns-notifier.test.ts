import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SnsNotifier, snsSubject } from '../../../../lambdas/adapters/sns-notifier';
import { clearRegisteredSecrets, registerSecret } from '../../../../lambdas/core/redaction';

describe('Class: SnsNotifier', () => {
  const sns = mockClient(SNSClient);
  beforeEach(() => {
    sns.reset();
    clearRegisteredSecrets();
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });

  it('publishes subject, body and severity to the topic', async () => {
    await new SnsNotifier('arn:aws:sns:eu-west-1:123456789012:keyrotor-alerts', new SNSClient({})).notify({
      severity: 'WARNING',
      subject: '[WARNING] keyrotor: token keyrotor/x/token could not be renewed (12 min left)',
      body: 'what happened, what to do',
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:keyrotor-alerts',
      Subject: '[WARNING] keyrotor: token keyrotor/x/token could not be renewed (12 min left)',
      Message: 'what happened, what to do',
      MessageAttributes: { severity: { DataType: 'String', StringValue: 'WARNING' } },
    });
  });

  it('scrubs a registered secret from subject and body', async () => {
    registerSecret('very-secret-token-123');
    await new SnsNotifier('arn:t', new SNSClient({})).notify({ severity: 'CRITICAL', subject: 'x very-secret-token-123', body: 'body very-secret-token-123' });
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(JSON.stringify(input)).not.toContain('very-secret-token-123');
  });
});

describe('Function: snsSubject', () => {
  it('keeps SNS subjects to 100 printable ASCII characters on one line', () => {
    expect(snsSubject('key …1a2b#abcd\nnext')).toBe('key ...1a2b#abcd?next');
    const long = snsSubject('x'.repeat(150));
    expect(long).toHaveLength(100);
    expect(long.endsWith('...')).toBe(true);
  });
});
