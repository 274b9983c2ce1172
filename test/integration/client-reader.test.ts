import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
  DescribeSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { AwaitingFirstKeyError, createKeyrotorReader, SecretFetchError, type KeyrotorReader } from '../../client';
import { describeWithMoto, startMotoServer, type MotoServer } from '../support/moto-server';
import { makeThoughtIndustriesKey, startThoughtIndustriesSandbox, type ThoughtIndustriesSandbox } from '../support/sandboxes/thought-industries-sandbox';

const SECRET = 'keyrotor/acme-prod';

/**
 * The reader with the real AWS SDK against moto_server, configured the standard way
 * (`AWS_ENDPOINT_URL`, region and credentials from the environment), and a Thought Industries
 * sandbox over real HTTP for the 401-driven refetch.
 */
describeWithMoto('Integration: runtime reader (moto_server + Thought Industries sandbox)', () => {
  let moto: MotoServer;
  let ti: ThoughtIndustriesSandbox;
  let sm: SecretsManagerClient;
  let reader: KeyrotorReader;
  const savedEndpoint = process.env.AWS_ENDPOINT_URL;

  const value = (apiKey: string) => JSON.stringify({ provider: 'thought-industries', environment: 'production', baseUrl: ti.baseUrl, apiKey });

  beforeAll(async () => {
    [moto, ti] = await Promise.all([startMotoServer(), startThoughtIndustriesSandbox()]);
    sm = new SecretsManagerClient(moto.clientConfig);
  });

  afterAll(async () => {
    if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = savedEndpoint;
    sm?.destroy();
    await Promise.all([moto?.stop(), ti?.close()]);
  });

  beforeEach(async () => {
    await moto.reset();
    // The reader builds its own client: the endpoint comes from the standard SDK configuration.
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    reader = createKeyrotorReader();
  });

  afterEach(() => {
    reader.destroy();
  });

  it('reads AWSCURRENT through GetSecretValue and serves it from the cache afterwards', async () => {
    // Prepare
    const key = makeThoughtIndustriesKey('production');
    await sm.send(new CreateSecretCommand({ Name: SECRET, SecretString: value(key) }));

    // Act
    const first = await reader.getApiKey(SECRET);
    await sm.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: value(makeThoughtIndustriesKey('production')) }));
    const cached = await reader.getApiKey(SECRET);

    // Assess
    expect(first).toMatchObject({ provider: 'thought-industries', apiKey: key, baseUrl: ti.baseUrl });
    expect(cached.apiKey).toBe(key);
  });

  it('picks up a new AWSCURRENT version (PutSecretValue) after invalidation', async () => {
    const oldKey = makeThoughtIndustriesKey('production');
    const newKey = makeThoughtIndustriesKey('production');
    await sm.send(new CreateSecretCommand({ Name: SECRET, SecretString: value(oldKey) }));
    expect((await reader.getApiKey(SECRET)).apiKey).toBe(oldKey);

    await sm.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: value(newKey) }));
    reader.invalidate(SECRET);

    expect((await reader.getApiKey(SECRET)).apiKey).toBe(newKey);
  });

  it('reads the version a rotation promoted with UpdateSecretVersionStage (it asks for AWSCURRENT explicitly)', async () => {
    // Prepare: a pending version promoted the way finishSecret does it
    const oldKey = makeThoughtIndustriesKey('production');
    const newKey = makeThoughtIndustriesKey('production');
    await sm.send(new CreateSecretCommand({ Name: SECRET, SecretString: value(oldKey) }));
    const versions = (await sm.send(new DescribeSecretCommand({ SecretId: SECRET }))).VersionIdsToStages ?? {};
    const current = Object.keys(versions).find((id) => versions[id]?.includes('AWSCURRENT'));
    const pending = randomUUID();
    await sm.send(new PutSecretValueCommand({ SecretId: SECRET, ClientRequestToken: pending, SecretString: value(newKey), VersionStages: ['AWSPENDING'] }));
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: SECRET, VersionStage: 'AWSCURRENT', MoveToVersionId: pending, RemoveFromVersionId: current }));

    // Act + Assess
    expect((await reader.getApiKey(SECRET)).apiKey).toBe(newKey);
  });

  it('on a 401 from the platform, reads the rotated key from Secrets Manager and retries over real HTTP', async () => {
    // Prepare: the application holds the old key; the key is rotated and the old one revoked at once (a compromise)
    const oldKey = makeThoughtIndustriesKey('production');
    const newKey = makeThoughtIndustriesKey('production');
    ti.addKey(oldKey);
    await sm.send(new CreateSecretCommand({ Name: SECRET, SecretString: value(oldKey) }));
    await reader.getApiKey(SECRET);
    ti.addKey(newKey);
    await sm.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: value(newKey) }));
    ti.revokeKey(oldKey);
    const statuses: number[] = [];

    // Act
    const users = await reader.withFreshCredential(SECRET, async ({ apiKey, baseUrl }) => {
      const response = await fetch(`${baseUrl}/incoming/v2/users?limit=1`, { headers: { Authorization: `Bearer ${apiKey}` } });
      statuses.push(response.status);
      if (!response.ok) {
        await response.body?.cancel();
        throw response;
      }
      return (await response.json()) as { users: unknown[] };
    });

    // Assess
    expect(statuses).toEqual([401, 200]);
    expect(users.users).toHaveLength(1);
  });

  it('reads a token secret', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    await sm.send(
      new CreateSecretCommand({
        Name: 'keyrotor/acme-oauth/token',
        SecretString: JSON.stringify({ accessToken: 'access-token-0001-abcdefgh', tokenType: 'Bearer', expiresAt, issuedAt: new Date().toISOString() }),
      }),
    );

    expect(await reader.getToken('keyrotor/acme-oauth/token')).toEqual({ accessToken: 'access-token-0001-abcdefgh', tokenType: 'Bearer', expiresAt });
  });

  it('says a freshly deployed secret awaits its first key, and a missing one is not found', async () => {
    await sm.send(new CreateSecretCommand({ Name: SECRET, SecretString: JSON.stringify({ keyrotor: 'awaiting-first-key', bootstrap: 'AbCdEf0123456789' }) }));

    await expect(reader.getApiKey(SECRET)).rejects.toBeInstanceOf(AwaitingFirstKeyError);
    await expect(reader.getApiKey('keyrotor/missing')).rejects.toMatchObject({ name: 'SecretFetchError', code: 'ResourceNotFoundException' });
    await expect(reader.getApiKey('keyrotor/missing')).rejects.toBeInstanceOf(SecretFetchError);
  });
});
