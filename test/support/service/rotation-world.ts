import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateScheduleGroupCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createLogger, loggerPort } from '../../../lambdas/adapters/logger';
import { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger';
import { SchedulerRevocations } from '../../../lambdas/adapters/scheduler-revocations';
import { clearRegisteredSecrets } from '../../../lambdas/core/redaction';
import type { RotationDeps } from '../../../lambdas/core/rotation';
import { createRotateHandler } from '../../../lambdas/handlers/rotate';
import { startMotoServer, type MotoServer } from '../moto-server';
import { createLedgerTable } from './ledger-table';
import { MotoRotationService, type RotationHandler } from './moto-rotation-service';

/** The names the stack deploys, as the rotation world creates them in moto. */
export const WORLD = {
  ledgerTable: 'keyrotor-ledger',
  scheduleGroup: 'keyrotor',
  revokerArn: 'arn:aws:lambda:eu-west-1:123456789012:function:keyrotor-revoke',
  schedulerRoleArn: 'arn:aws:iam::123456789012:role/keyrotor-scheduler',
  revocationDeadLetterArn: 'arn:aws:sqs:eu-west-1:123456789012:keyrotor-revocation-dlq',
} as const;

/** What a test chooses of the world's rotation handler; the world supplies the rest. */
export type WorldRotationDeps = Pick<RotationDeps, 'providers' | 'now' | 'gracePeriodMs'> & Partial<Pick<RotationDeps, 'events'>>;

/** What an integration test of a rotation flow works with; fresh for each test but moto_server itself. */
export interface RotationWorld {
  readonly moto: MotoServer;
  readonly sm: SecretsManagerClient;
  readonly dynamo: DynamoDBClient;
  readonly scheduler: SchedulerClient;
  /** The ledger table, empty. */
  readonly ledger: DynamoDbLedger;
  /** Plays the rotation service over moto (see MotoRotationService); set its handler, e.g. with {@link RotationWorld.rotateHandler}. */
  readonly service: MotoRotationService;
  /**
   * The rotation handler over this world: the service as its store, the ledger, Scheduler
   * revocations in the schedule group; no waits between verification attempts.
   */
  rotateHandler(deps: WorldRotationDeps): RotationHandler;
}

/**
 * Registers the hooks of a rotation-flow integration test: moto_server and SDK clients for the
 * whole file; before each test moto reset, registered secrets forgotten, and the ledger table and
 * the schedule group created as the stack deploys them. Read the returned object's fields inside
 * hooks and tests (they are set by then).
 */
export function useRotationWorld(): RotationWorld {
  const world = {
    rotateHandler(deps: WorldRotationDeps): RotationHandler {
      const logger = createLogger('keyrotor-rotate');
      return createRotateHandler(
        {
          store: world.service,
          logger: loggerPort(logger),
          propagation: { attempts: 3, initialDelayMs: 1, sleep: async () => undefined },
          ledger: world.ledger,
          revocations: new SchedulerRevocations(
            { revokerArn: WORLD.revokerArn, roleArn: WORLD.schedulerRoleArn, groupName: WORLD.scheduleGroup, deadLetterArn: WORLD.revocationDeadLetterArn },
            world.scheduler,
          ),
          ...deps,
        },
        logger,
      ) as unknown as RotationHandler;
    },
  } as { -readonly [K in keyof RotationWorld]: RotationWorld[K] };

  beforeAll(async () => {
    world.moto = await startMotoServer();
    world.sm = new SecretsManagerClient(world.moto.clientConfig);
    world.dynamo = new DynamoDBClient(world.moto.clientConfig);
    world.scheduler = new SchedulerClient(world.moto.clientConfig);
  });

  afterAll(async () => {
    for (const client of [world.sm, world.dynamo, world.scheduler]) client?.destroy();
    await world.moto?.stop();
  });

  beforeEach(async () => {
    await world.moto.reset();
    clearRegisteredSecrets();
    await createLedgerTable(world.dynamo, WORLD.ledgerTable);
    await world.scheduler.send(new CreateScheduleGroupCommand({ Name: WORLD.scheduleGroup }));
    world.ledger = new DynamoDbLedger(WORLD.ledgerTable, world.dynamo);
    world.service = new MotoRotationService(world.sm);
  });

  return world;
}
