/**
 * What an application sees across a scheduled rotation and a compromise, with the reader between
 * it and Secrets Manager: a stateful secret store (staging labels as AWS documents them), a fake
 * platform that accepts a set of keys, a fake clock, and an application that calls the platform
 * once a minute. Every platform call and every GetSecretValue is counted.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { createKeyrotorReader, type KeyrotorReader } from '../../../client';
import { InMemorySecretStore } from '../../support/fakes/in-memory-secret-store';
import { TI_LIVE_NEW, TI_LIVE_OLD, tiValue } from '../../support/fixtures';

const SECRET = 'keyrotor/acme-prod';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TTL_SECONDS = 300;
const GRACE = 24 * HOUR;
const ROTATION_AT = 10 * MINUTE;

/** A platform that accepts the keys in `accepted` and answers 401 otherwise. */
class FakePlatform {
  public readonly accepted = new Set<string>();
  public calls = 0;
  public rejected = 0;
  /** The key each accepted call used, with the time. */
  public readonly used: { at: number; apiKey: string }[] = [];

  public constructor(private readonly now: () => number) {}

  public async listUsers(apiKey: string): Promise<string[]> {
    this.calls += 1;
    await Promise.resolve(); // a network round trip: concurrent callers overlap
    if (!this.accepted.has(apiKey)) {
      this.rejected += 1;
      throw Object.assign(new Error('Invalid or expired API key.'), { status: 401 });
    }
    this.used.push({ at: this.now(), apiKey });
    return ['ada'];
  }
}

describe('Behaviour: an application reading through the reader across a rotation', () => {
  const sm = mockClient(SecretsManagerClient);
  let now: number;
  let store: InMemorySecretStore;
  let arn: string;
  let platform: FakePlatform;
  let reader: KeyrotorReader;
  /** Failures that reached the application. */
  let appFailures: unknown[];

  const getSecretValueCalls = () => sm.commandCalls(GetSecretValueCommand).length;

  /** The application's call: through withFreshCredential, as the README recommends. */
  const appCall = async () => {
    try {
      await reader.withFreshCredential(SECRET, ({ apiKey }) => platform.listUsers(apiKey as string));
    } catch (error) {
      appFailures.push(error);
    }
  };

  /** finishSecret: the new key becomes AWSCURRENT, the old one AWSPREVIOUS (the platform already accepts the new one: testSecret proved it). */
  const promoteNewKey = async () => {
    platform.accepted.add(TI_LIVE_NEW);
    const token = store.openPendingVersion(arn);
    await store.putPendingValue(arn, token, tiValue(TI_LIVE_NEW));
    const [current] = Object.entries(store.stagesOf(arn)).find(([, stages]) => stages.includes('AWSCURRENT'))!;
    await store.moveStage(arn, 'AWSCURRENT', token, current);
  };

  /** Runs the application once a minute from `from` to `until`, firing `events` at their times. */
  const simulate = async (from: number, until: number, events: { at: number; run: () => Promise<void> | void }[], callsPerMinute = 1) => {
    for (now = from; now < until; now += MINUTE) {
      for (const event of events.filter((e) => e.at === now)) await event.run();
      for (let i = 0; i < callsPerMinute; i += 1) await appCall();
    }
  };

  beforeEach(() => {
    sm.reset();
    now = 0;
    store = new InMemorySecretStore();
    arn = store.create(SECRET, { value: tiValue(TI_LIVE_OLD) });
    sm.on(GetSecretValueCommand).callsFake(async (input: { SecretId: string; VersionStage?: string }) => ({
      SecretString: await store.getValue(input.SecretId, { stage: input.VersionStage }),
    }));
    platform = new FakePlatform(() => now);
    platform.accepted.add(TI_LIVE_OLD);
    reader = createKeyrotorReader({ client: new SecretsManagerClient({ region: 'eu-west-1' }), cacheTtlSeconds: TTL_SECONDS, now: () => now });
    appFailures = [];
  });

  afterAll(() => {
    sm.restore();
  });

  it('(a) scheduled rotation: the old key stays valid for the grace period (> TTL), so no call fails', async () => {
    // Act: promote at 10 min, revoke the old key after the 24 h grace period, run on for an hour
    await simulate(0, ROTATION_AT + GRACE + HOUR, [
      { at: ROTATION_AT, run: promoteNewKey },
      { at: ROTATION_AT + GRACE, run: () => void platform.accepted.delete(TI_LIVE_OLD) },
    ]);

    // Assess: not one rejected call, and the new key was in use within one TTL of its promotion
    expect(platform.rejected).toBe(0);
    expect(appFailures).toEqual([]);
    const lastOldUse = Math.max(...platform.used.filter((u) => u.apiKey === TI_LIVE_OLD).map((u) => u.at));
    expect(lastOldUse).toBeLessThan(ROTATION_AT + TTL_SECONDS * 1000);
    // One read per TTL: 25 h 10 min of one call a minute is 1,510 calls and 302 reads.
    expect(platform.calls).toBe(1_510);
    expect(getSecretValueCalls()).toBe(302);
  });

  it('(b) compromise: the old key is revoked at promotion; one call is rejected and withFreshCredential absorbs it', async () => {
    // Prepare: the application has the old key cached
    await simulate(0, ROTATION_AT + 2 * MINUTE, []);
    const readsBefore = getSecretValueCalls();

    // Act: promotion and immediate revocation between two calls, well inside the TTL
    await simulate(ROTATION_AT + 2 * MINUTE, ROTATION_AT + HOUR, [
      {
        at: ROTATION_AT + 2 * MINUTE,
        run: async () => {
          await promoteNewKey();
          platform.accepted.delete(TI_LIVE_OLD);
        },
      },
    ]);

    // Assess: at most one failed platform call, none reached the application, one extra read
    expect(platform.rejected).toBe(1);
    expect(appFailures).toEqual([]);
    expect(platform.used.filter((u) => u.at >= ROTATION_AT + 2 * MINUTE).every((u) => u.apiKey === TI_LIVE_NEW)).toBe(true);
    expect(getSecretValueCalls() - readsBefore).toBe(1 + Math.floor((HOUR - 2 * MINUTE) / (TTL_SECONDS * 1000)));
  });

  it('(b) compromise with concurrent callers: each in-flight call fails once, one shared re-read, none reaches the application', async () => {
    await appCall();
    const readsBefore = getSecretValueCalls();
    await promoteNewKey();
    platform.accepted.delete(TI_LIVE_OLD);

    await Promise.all(Array.from({ length: 25 }, () => appCall()));

    expect(platform.rejected).toBe(25); // every call already in flight with the old key
    expect(appFailures).toEqual([]);
    expect(getSecretValueCalls() - readsBefore).toBe(1);
  });

  it('(b) for contrast: without withFreshCredential, a compromise costs every call until the TTL passes', async () => {
    const plainCall = async () => {
      try {
        const { apiKey } = await reader.getApiKey(SECRET);
        await platform.listUsers(apiKey as string);
      } catch (error) {
        appFailures.push(error);
      }
    };
    for (now = 0; now < ROTATION_AT + 20 * MINUTE; now += MINUTE) {
      if (now === ROTATION_AT + 2 * MINUTE) {
        await promoteNewKey();
        platform.accepted.delete(TI_LIVE_OLD);
      }
      await plainCall();
    }

    // Reads at 0, 5, 10 min (cached until 15 min): the calls at 12, 13 and 14 min fail.
    expect(appFailures).toHaveLength(3);
  });
});
