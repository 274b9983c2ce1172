import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { SweepContinuation, SweepContinuationRequest } from '../ports/sweep-continuation';

/**
 * Continues a sweep in a new asynchronous invocation of the sweep function itself
 * (`InvocationType: Event`): Lambda queues it and returns at once, retries it twice if it
 * fails, and then puts it in the function's dead-letter queue. The client takes the SDK's
 * standard configuration (region, credentials, `AWS_ENDPOINT_URL`).
 */
export class LambdaSweepContinuation implements SweepContinuation {
  /**
   * @param functionName - the sweep function's name or unqualified ARN (its own, from the Lambda context)
   */
  public constructor(
    private readonly functionName: string,
    private readonly client: LambdaClient = new LambdaClient({}),
  ) {}

  public async continueWith(request: SweepContinuationRequest): Promise<void> {
    await this.client.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify({ cursor: request.cursor, skip: request.skip, runId: request.runId })),
      }),
    );
  }
}
