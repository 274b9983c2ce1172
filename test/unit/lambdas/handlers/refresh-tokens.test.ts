import { useEnvironment } from '../../../support/environment';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, ListSecretsCommand, ResourceNotFoundException, SecretsManagerClient, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { handler } from '../../../../lambdas/handlers/refresh-tokens';
import { captureProcessOutput } from '../../../support/capture-output';
import { LAMBDA_CONTEXT } from '../../../support/service/moto-rotation-service';

const TOKEN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyrotor/thrive-api/token-AbCdEf';
const ENVIRONMENT = {
  KEYROTOR_EVENT_BUS: 'keyrotor-test-bus',
  KEYROTOR_REFRESH_RATE_MINUTES: '5',
  KEYROTOR_RENEW_AT_FRACTION: '0.75',
  KEYROTOR_RENEW_JITTER_FRACTION: '0.05',
  KEYROTOR_REFRESH_CONCURRENCY: '4',
};

/** The deployed handler as built from its environment: which clients it talks to, and where its events go. */
describe('Handler: refresh-tokens (composition root)', () => {
  const sm = mockClient(SecretsManagerClient);
  const eventBridge = mockClient(EventBridgeClient);
  const sns = mockClient(SNSClient);
  useEnvironment(ENVIRONMENT);
  beforeEach(() => {
    sm.reset();
    eventBridge.reset();
    sns.reset();
    clearRegisteredSecrets();
    captureProcessOutput();
  });
  afterEach(() => jest.restoreAllMocks());

  it('publishes a failed renewal as TokenRefreshFailed on the bus named by KEYROTOR_EVENT_BUS, and sends nothing to SNS', async () => {
    // Prepare: a token secret whose source secret does not exist yet
    sm.on(ListSecretsCommand).resolves({
      SecretList: [
        {
          ARN: TOKEN_ARN,
          Name: 'keyrotor/thrive-api/token',
          Tags: Object.entries({
            'keyrotor:kind': 'token',
            'keyrotor:provider': 'thrive',
            'keyrotor:environment': 'production',
            'keyrotor:token-grant': 'client-credentials',
            'keyrotor:token-source': 'keyrotor/thrive-api/client',
            'keyrotor:token-url': 'https://api.example.com/oauth2/token',
          }).map(([Key, Value]) => ({ Key, Value })),
        },
      ],
    });
    sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
    sm.on(TagResourceCommand).resolves({});
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    // Act
    const report = await handler({}, LAMBDA_CONTEXT);

    // Assess
    expect(report.failed).toEqual([{ secret: 'keyrotor/thrive-api/token', errorName: 'RenewalFailed' }]);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    const entry = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({ EventBusName: 'keyrotor-test-bus', Source: 'keyrotor', DetailType: 'TokenRefreshFailed' });
    expect(JSON.parse(entry?.Detail as string)).toMatchObject({
      secret: 'keyrotor/thrive-api/token',
      provider: 'thrive',
      environment: 'production',
      severity: 'CRITICAL',
      errorName: 'ValidationError',
    });
    expect(sm).toHaveReceivedCommandWith(TagResourceCommand, { SecretId: TOKEN_ARN, Tags: [{ Key: 'keyrotor:refresh-state', Value: 'expired' }] });
    expect(sns.calls()).toHaveLength(0);
  });
});
