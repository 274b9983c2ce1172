import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger } from '../../lambdas/adapters/dynamodb-ledger';
import { ConcurrentRotationError } from '../../lambdas/core/errors';
import { describeWithMoto, startMotoServer, type MotoServer } from '../support/moto-server';
import { createLedgerTable } from '../support/service/ledger-table';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyrotor/imburse-AbCdEf';

describeWithMoto('Class: DynamoDbLedger (against moto_server)', () => {
  let moto: MotoServer;
  let client: DynamoDBClient;
  let ledger: DynamoDbLedger;

  beforeAll(async () => {
    moto = await startMotoServer();
    client = new DynamoDBClient(moto.clientConfig);
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    await createLedgerTable(client, 'keyrotor-ledger');
    ledger = new DynamoDbLedger('keyrotor-ledger', client);
  });

  it('records the intent, each state change, and returns the history oldest first', async () => {
    // Act
    await expect(ledger.claimIssue(ARN, 'tok-1', 'keyrotor-imburse-tok-1', '2026-11-23T10:00:00.000Z')).resolves.toEqual({ attempt: 1 });
    await ledger.record({ secretArn: ARN, token: 'tok-1', state: 'stored-pending', at: '2026-11-23T10:00:01.000Z', providerKeyId: 'pk-2', fingerprint: '…abcd#12345678' });
    await ledger.record({ secretArn: ARN, token: 'tok-1', state: 'promoted', at: '2026-11-23T10:00:02.000Z' });
    // Assess
    expect(await ledger.get(ARN, 'tok-1')).toMatchObject({ state: 'promoted', attempt: 1, keyName: 'keyrotor-imburse-tok-1', providerKeyId: 'pk-2' });
    const history = await ledger.history(ARN);
    expect(history.map((e) => e.state)).toEqual(['intent', 'stored-pending', 'promoted']);
    expect(history[1]).toMatchObject({ providerKeyId: 'pk-2', fingerprint: '…abcd#12345678' });
    expect(await ledger.history('arn:other')).toEqual([]);
  });

  it('hands a later attempt the previous record, so it can look for an orphan', async () => {
    await ledger.claimIssue(ARN, 'tok-1', 'name-1', '2026-11-23T10:00:00.000Z');
    const second = await ledger.claimIssue(ARN, 'tok-1', 'name-1', '2026-11-23T10:01:00.000Z');
    expect(second).toMatchObject({ attempt: 2, previous: { state: 'intent', attempt: 1, keyName: 'name-1' } });
  });

  it('lets only one of two concurrent attempts claim a rotation (conditional write)', async () => {
    // Act
    const results = await Promise.allSettled([
      ledger.claimIssue(ARN, 'tok-race', 'n', '2026-11-23T10:00:00.000Z'),
      new DynamoDbLedger('keyrotor-ledger', client).claimIssue(ARN, 'tok-race', 'n', '2026-11-23T10:00:00.000Z'),
    ]);
    // Assess: either the second saw the first's record (attempt 2) or it lost the race; never two first claims
    const claimed = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ attempt: number }>).value.attempt);
    const lost = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    expect(claimed.filter((a) => a === 1)).toHaveLength(1);
    for (const reason of lost) expect(reason).toBeInstanceOf(ConcurrentRotationError);
  });

  it('refuses a claim whose read went stale before its write', async () => {
    // Prepare: a claim reads attempt 1, then another attempt claims before it writes
    await ledger.claimIssue(ARN, 'tok-2', 'n', '2026-11-23T10:00:00.000Z');
    const stale = new DynamoDbLedger('keyrotor-ledger', client);
    const realGet = stale.get.bind(stale);
    stale.get = async (arn, token) => {
      const record = await realGet(arn, token);
      await ledger.claimIssue(ARN, 'tok-2', 'n', '2026-11-23T10:00:01.000Z'); // the other attempt wins meanwhile
      return record;
    };
    // Act & Assess
    await expect(stale.claimIssue(ARN, 'tok-2', 'n', '2026-11-23T10:00:02.000Z')).rejects.toThrow(ConcurrentRotationError);
    expect(await ledger.get(ARN, 'tok-2')).toMatchObject({ attempt: 2 });
  });
});
