import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SweepContinuation, SweepContinuationRequest } from '../ports/sweep-continuation';

/**
 * Continues a sweep in a new asynchronous invocation of the sweep function itself
 * (`InvocationType: Event`): Lambda queues it and returns at once, retries it twice if it
 * fails, and then puts it in the function's dead-letter queue. The client takes the SDK's
 * standard configuration (region, credentials, `AWS_ENDPOINT_URL`).
 *
 * The Lambda client is loaded on the first continuation, not at cold start: most sweeps finish in
 * one invocation and never need it, and it is the biggest client the sweep carries (71 KB of the
 * bundle; bench/cold-start.ts).
 */
export class LambdaSweepContinuation implements SweepContinuation {
  /**
   * @param functionName - the sweep function's name or unqualified ARN (its own, from the Lambda context)
   * @param client - @default a LambdaClient with the SDK's standard configuration, created on first use
   */
  public constructor(
    private readonly functionName: string,
    private client?: LambdaClient,
  ) {}

  public async continueWith(request: SweepContinuationRequest): Promise<void> {
    const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
    this.client ??= new LambdaClient({});
    await this.client.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify({ cursor: request.cursor, skip: request.skip, runId: request.runId })),
      }),
    );
  }
}
