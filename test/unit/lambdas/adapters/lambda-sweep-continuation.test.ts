import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { LambdaSweepContinuation } from '../../../../lambdas/adapters/lambda-sweep-continuation';

describe('Class: LambdaSweepContinuation', () => {
  const client = mockClient(LambdaClient);

  beforeEach(() => client.reset());
  afterAll(() => client.restore());

  describe('Method: continueWith', () => {
    it('invokes the sweep function asynchronously with the cursor and the run id', async () => {
      // Prepare
      client.on(InvokeCommand).resolves({ StatusCode: 202 });
      const continuation = new LambdaSweepContinuation('keyrotor-sweep', new LambdaClient({ region: 'eu-west-1' }));

      // Act
      await continuation.continueWith({ cursor: 'next-page', runId: 'run-1' });

      // Assess
      expect(client).toHaveReceivedCommandTimes(InvokeCommand, 1);
      const input = client.commandCalls(InvokeCommand)[0]?.args[0].input;
      expect(input).toMatchObject({ FunctionName: 'keyrotor-sweep', InvocationType: 'Event' });
      expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({ cursor: 'next-page', runId: 'run-1' });
    });

    it('lets a refused invocation fail (the sweep invocation then fails and Lambda retries it)', async () => {
      // Prepare
      client.on(InvokeCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));

      // Act & Assess
      await expect(new LambdaSweepContinuation('keyrotor-sweep', new LambdaClient({ region: 'eu-west-1' })).continueWith({ cursor: 'c', runId: 'r' })).rejects.toMatchObject({
        name: 'TooManyRequestsException',
      });
    });
  });
});
