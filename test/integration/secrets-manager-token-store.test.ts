import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerTokenStore } from '../../lambdas/adapters/secrets-manager-token-store';
import { describeWithMoto, startMotoServer, type MotoServer } from '../support/moto-server';

describeWithMoto('Class: SecretsManagerTokenStore (against moto_server)', () => {
  let moto: MotoServer;
  let sm: SecretsManagerClient;
  let store: SecretsManagerTokenStore;

  beforeAll(async () => {
    moto = await startMotoServer();
    sm = new SecretsManagerClient(moto.clientConfig);
    store = new SecretsManagerTokenStore(sm);
  });
  afterAll(async () => {
    sm?.destroy();
    await moto?.stop();
  });
  beforeEach(() => moto.reset());

  const create = (name: string, tags: Record<string, string>, value = '{"keyrotor":"awaiting-first-token"}') =>
    sm.send(new CreateSecretCommand({ Name: name, SecretString: value, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));

  it('lists only secrets tagged keyrotor:kind=token, across pages, with their tags', async () => {
    // Prepare: 105 token secrets (more than one page), an api-key secret, a secret whose *other* tag says token
    for (let i = 0; i < 105; i += 1) await create(`keyrotor/t${i}/token`, { 'keyrotor:kind': 'token', 'keyrotor:token-grant': 'client-credentials' });
    await create('keyrotor/acme/key', { 'keyrotor:kind': 'api-key' });
    await create('other', { 'keyrotor:kind': 'api-key', team: 'token' });
    // Act
    const listed = await store.listTokenSecrets();
    // Assess
    expect(listed).toHaveLength(105);
    expect(listed[0]?.tags).toMatchObject({ 'keyrotor:kind': 'token', 'keyrotor:token-grant': 'client-credentials' });
    expect(listed.every((s) => s.name.endsWith('/token') && s.arn.startsWith('arn:aws:secretsmanager:'))).toBe(true);
  });

  it('writes a new AWSCURRENT version and sets a tag', async () => {
    const { ARN } = await create('keyrotor/a/token', { 'keyrotor:kind': 'token' });
    await store.writeCurrent(ARN as string, '{"accessToken":"t2"}');
    await store.setTag(ARN as string, 'keyrotor:refresh-state', 'failing');
    expect(await store.readCurrent(ARN as string)).toBe('{"accessToken":"t2"}');
    const previous = await sm.send(new GetSecretValueCommand({ SecretId: ARN, VersionStage: 'AWSPREVIOUS' }));
    expect(previous.SecretString).toBe('{"keyrotor":"awaiting-first-token"}');
    const tags = (await sm.send(new DescribeSecretCommand({ SecretId: ARN }))).Tags;
    expect(tags).toEqual(expect.arrayContaining([{ Key: 'keyrotor:refresh-state', Value: 'failing' }]));
  });

  it('reads a missing secret as undefined', async () => {
    expect(await store.readCurrent('keyrotor/nope')).toBeUndefined();
  });
});
