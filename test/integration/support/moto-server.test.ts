import {
  CreateSecretCommand,
  DescribeSecretCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

import { describeWithMoto, motoServerAvailable, startMotoServer, type MotoServer } from '../../support/moto-server';

describe('Function: motoServerAvailable', () => {
  it('returns the same boolean on every call', () => {
    // Act
    const first = motoServerAvailable();
    const second = motoServerAvailable();

    // Assess
    expect(typeof first).toBe('boolean');
    expect(second).toBe(first);
  });
});

describeWithMoto('Function: startMotoServer', () => {
  let moto: MotoServer;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    moto = await startMotoServer();
    client = new SecretsManagerClient({
      endpoint: moto.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
  });

  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  it('returns a loopback endpoint that serves Secrets Manager', async () => {
    // Act
    const created = await client.send(
      new CreateSecretCommand({ Name: 'keyrotor/test/created', SecretString: '{"provider":"thought-industries"}' }),
    );
    const described = await client.send(new DescribeSecretCommand({ SecretId: 'keyrotor/test/created' }));

    // Assess
    expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(created.ARN).toContain(':eu-west-1:');
    expect(described.Name).toBe('keyrotor/test/created');
  });

  it('returns an empty account after reset()', async () => {
    // Prepare
    await client.send(new CreateSecretCommand({ Name: 'keyrotor/test/reset', SecretString: 'x' }));

    // Act
    await moto.reset();

    // Assess
    await expect(client.send(new DescribeSecretCommand({ SecretId: 'keyrotor/test/reset' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    const listed = await client.send(new ListSecretsCommand({}));
    expect(listed.SecretList ?? []).toEqual([]);
  });

  it('returns servers that are independent of each other', async () => {
    // Prepare
    const other = await startMotoServer();
    const otherClient = new SecretsManagerClient({
      endpoint: other.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });

    try {
      // Act
      await client.send(new CreateSecretCommand({ Name: 'keyrotor/test/isolated', SecretString: 'x' }));
      const listed = await otherClient.send(new ListSecretsCommand({}));

      // Assess
      expect(other.endpoint).not.toBe(moto.endpoint);
      expect(listed.SecretList ?? []).toEqual([]);
    } finally {
      otherClient.destroy();
      await other.stop();
    }
  });
});

describeWithMoto('Function: MotoServer.stop', () => {
  it('returns once the process has exited and the endpoint no longer answers', async () => {
    // Prepare
    const moto = await startMotoServer();
    const before = await fetch(`${moto.endpoint}/moto-api/`);
    await before.arrayBuffer();

    // Act
    await moto.stop();
    await moto.stop();

    // Assess
    expect(before.ok).toBe(true);
    await expect(fetch(`${moto.endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  });
});
