import { ConflictException, CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import type { RevocationRequest, RevocationScheduler } from '../ports/revocation-scheduler';

export interface SchedulerRevocationsConfig {
  /** The revoker Lambda's ARN (the schedule's target). */
  readonly revokerArn: string;
  /** The role EventBridge Scheduler assumes to invoke the revoker. */
  readonly roleArn: string;
  /** keyrotor's schedule group. */
  readonly groupName: string;
  /** Where Scheduler sends an invocation it could not deliver. */
  readonly deadLetterArn: string;
}

/** `at()` wants local date-time without zone or milliseconds; keyrotor always schedules in UTC. */
export function atExpression(at: Date): string {
  return `at(${at.toISOString().slice(0, 19)})`;
}

/** One-time EventBridge Scheduler schedules that invoke the revoker and delete themselves after running. */
export class SchedulerRevocations implements RevocationScheduler {
  public constructor(
    private readonly config: SchedulerRevocationsConfig,
    private readonly client: SchedulerClient = new SchedulerClient({}),
  ) {}

  public async schedule(request: RevocationRequest, at: Date): Promise<'scheduled' | 'already-scheduled'> {
    try {
      await this.client.send(
        new CreateScheduleCommand({
          Name: `revoke-${request.token}`.slice(0, 64),
          GroupName: this.config.groupName,
          ScheduleExpression: atExpression(at),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Description: `keyrotor: revoke old key ${request.fingerprint}`,
          Target: {
            Arn: this.config.revokerArn,
            RoleArn: this.config.roleArn,
            Input: JSON.stringify(request),
            RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 86_400 },
            DeadLetterConfig: { Arn: this.config.deadLetterArn },
          },
        }),
      );
      return 'scheduled';
    } catch (error) {
      // The same rotation scheduled it already (a retried finishSecret).
      if (error instanceof ConflictException) return 'already-scheduled';
      throw error;
    }
  }
}
