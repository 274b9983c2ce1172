import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerInventory } from '../../lambdas/adapters/secrets-manager-inventory';
import { SecretsManagerStore } from '../../lambdas/adapters/secrets-manager-store';
import { TAG } from '../../lambdas/core/contracts';
import { fingerprintOf } from '../../lambdas/core/fingerprint';
import { Pacer } from '../../lambdas/core/pacing';
import { clearRegisteredSecrets } from '../../lambdas/core/redaction';
import { DEFAULT_SWEEP_POLICY, revocationConfirmedTagValue, sweep } from '../../lambdas/core/sweep';
import { createProviderRegistry } from '../../lambdas/providers/registry';
import { CapturingEvents } from '../support/fakes/capturing-events';
import { InMemoryLedger, InMemoryRevocationScheduler } from '../support/fakes/in-memory-ledger';
import { stubThoughtIndustries } from '../support/fakes/platform-fetch';
import { captureLogger, TI_LIVE_NEW, TI_LIVE_OLD, tiTags, tiValue } from '../support/fixtures';
import { describeWithMoto, startMotoServer, type MotoServer } from '../support/moto-server';

describeWithMoto('Class: SecretsManagerInventory and the sweep (against moto_server)', () => {
  let moto: MotoServer;
  let sm: SecretsManagerClient;
  let inventory: SecretsManagerInventory;

  beforeAll(async () => {
    moto = await startMotoServer();
    sm = new SecretsManagerClient(moto.clientConfig);
    inventory = new SecretsManagerInventory(sm);
  });
  afterAll(async () => {
    sm?.destroy();
    await moto?.stop();
  });
  beforeEach(async () => {
    clearRegisteredSecrets();
    await moto.reset();
  });

  const create = (name: string, tags: Record<string, string>, value: string) =>
    sm.send(new CreateSecretCommand({ Name: name, SecretString: value, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));

  it('lists only api-key secrets by tag, page by page, with their stages and tags, and reads a stage\'s value', async () => {
    // Prepare: 102 managed API keys (two pages), a token secret, and a secret whose *other* tag says api-key
    for (let i = 0; i < 102; i += 1) await create(`keyrotor/k${i}`, tiTags(), tiValue(TI_LIVE_OLD));
    await create('keyrotor/t/token', { [TAG.kind]: 'token' }, '{}');
    await create('unrelated', { [TAG.kind]: 'token', team: 'api-key' }, '{}');

    // Act
    const first = await inventory.listPage('api-key');
    const second = await inventory.listPage('api-key', first.nextCursor);

    // Assess
    expect(first.secrets).toHaveLength(100);
    expect(first.nextCursor).toBeDefined();
    expect(second.secrets).toHaveLength(2);
    expect(second.nextCursor).toBeUndefined();
    const all = [...first.secrets, ...second.secrets];
    expect(new Set(all.map((secret) => secret.name)).size).toBe(102);
    expect(all.every((secret) => secret.tags[TAG.provider] === 'thought-industries' && Object.values(secret.versionIdsToStages).flat().includes('AWSCURRENT'))).toBe(true);
    expect(await inventory.readValue(all[0]!.arn, 'AWSCURRENT')).toBe(tiValue(TI_LIVE_OLD));
    expect(await inventory.readValue(all[0]!.arn, 'AWSPREVIOUS')).toBeUndefined();
  });

  it('lists versions with their stages and creation dates', async () => {
    // Prepare
    const { ARN } = await create('keyrotor/acme-prod', tiTags(), tiValue(TI_LIVE_OLD));
    await sm.send(new PutSecretValueCommand({ SecretId: ARN, ClientRequestToken: 'tok-00000000000000000000000000000001', SecretString: tiValue(TI_LIVE_NEW), VersionStages: ['AWSPENDING'] }));

    // Act
    const versions = await inventory.listVersions(ARN as string);

    // Assess
    expect(versions).toHaveLength(2);
    expect(versions.find((version) => version.versionId === 'tok-00000000000000000000000000000001')).toMatchObject({ stages: ['AWSPENDING'], createdDate: expect.any(Date) });
  });

  it('a sweep through the real adapters confirms a removed old key once: ledger and tag (a valid tag value), not checked again', async () => {
    // Prepare: a promoted hand-over; the old key is AWSPREVIOUS and removed at the platform
    const { ARN } = await create('keyrotor/acme-prod', tiTags(), tiValue(TI_LIVE_OLD));
    const arn = ARN as string;
    const oldVersion = Object.keys((await sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {})[0] as string;
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: 'tok-00000000000000000000000000000002', SecretString: tiValue(TI_LIVE_NEW), VersionStages: ['AWSPENDING'] }));
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: 'tok-00000000000000000000000000000002', RemoveFromVersionId: oldVersion }));
    const platform = stubThoughtIndustries([TI_LIVE_NEW]);
    const ledger = new InMemoryLedger();
    const log = captureLogger();
    // moto reports no LastRotatedDate for a promotion made with UpdateSecretVersionStage: supply the listing's date as Secrets Manager would
    const listing = new SecretsManagerInventory(sm);
    const dated = {
      listPage: async (kind: 'api-key', cursor?: string) => {
        const page = await listing.listPage(kind, cursor);
        return { ...page, secrets: page.secrets.map((secret) => ({ ...secret, lastRotatedDate: secret.lastRotatedDate ?? new Date(Date.now() - 3 * 86_400_000) })) };
      },
      listVersions: (secretId: string) => listing.listVersions(secretId),
      readValue: (secretId: string, stage: string) => listing.readValue(secretId, stage),
    };
    const deps = {
      inventory: dated,
      store: new SecretsManagerStore(sm),
      providers: createProviderRegistry({ fetch: platform.fetch, sleep: async () => undefined }),
      ledger,
      revocations: new InMemoryRevocationScheduler(),
      events: new CapturingEvents(),
      continuation: { continueWith: async () => undefined },
      metrics: { count() {}, record() {} },
      logger: log.logger,
      policy: DEFAULT_SWEEP_POLICY,
      now: () => new Date(),
      remainingTimeMs: () => 900_000,
      pacer: new Pacer({ now: () => 0, sleep: async () => undefined }),
    };

    // Act
    const first = await sweep({}, deps);
    const second = await sweep({}, deps);

    // Assess
    expect(first.outcomes).toMatchObject({ healthy: 1, 'old-key-confirmed-revoked': 1 });
    expect(second.outcomes['old-key-confirmed-revoked']).toBe(0);
    expect(platform.calls).toHaveLength(3);
    const tags = (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).Tags ?? [];
    const confirmed = tags.find((tag) => tag.Key === TAG.revocationConfirmed)?.Value;
    expect(confirmed).toBe(revocationConfirmedTagValue(fingerprintOf(TI_LIVE_OLD)));
    // What Secrets Manager accepts as a tag value (moto does not check it)
    expect(confirmed).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$/u);
    expect(ledger.events).toEqual([expect.objectContaining({ secretArn: arn, token: 'tok-00000000000000000000000000000002', state: 'revoked', actor: 'sweep' })]);
    expect(log.text()).not.toContain(TI_LIVE_OLD);
    expect(log.text()).not.toContain(TI_LIVE_NEW);
  });
});
