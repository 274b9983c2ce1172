/**
 * The runtime reader over two simulated days: 1,000,000 reads of one managed secret, each
 * followed by the application's call to the platform with the key it got, across a scheduled
 * rotation (the old key keeps working through the 24 h grace period, then is revoked) and a
 * compromise (the compromised key is revoked the moment its replacement is AWSCURRENT). Counts
 * Secrets Manager calls per million reads and the platform calls that failed where the
 * application sees them, for keyrotor's reader (`withFreshCredential`, TTL 300 s) next to
 * Powertools Parameters' `getSecret` with its defaults (maxAge 5 s), all in the same run.
 * Time is simulated (a virtual clock; `Date` is pointed at it for Powertools). Prints figures;
 * asserts nothing. Run: npx tsx bench/reader.ts
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clearCaches } from '@aws-lambda-powertools/parameters';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { mockClient } from 'aws-sdk-client-mock';
import { createKeyrotorReader, DEFAULT_CACHE_TTL_SECONDS } from '../client';
import { seededRandom, uniform, type Random } from './support/seeded-random';
import { VirtualClock } from './support/virtual-clock';
import { installVirtualDate } from './support/virtual-date';

const SECRET_ID = 'keyrotor/acme-prod';
const BASE_URL = 'https://acme.thoughtindustries.com';
const HOUR_MS = 3_600_000;
const READS = 1_000_000;
const SPAN_MS = 48 * HOUR_MS;
const GRACE_MS = 24 * HOUR_MS;
const ROTATION_AT_MS = 12 * HOUR_MS;
const COMPROMISE_AT_MS = 40 * HOUR_MS;
/** From a rotation's new key existing at the platform to its promotion (AWSCURRENT), and from promotion to the compromised key's revocation. */
const PROMOTION_AFTER_MS = 1_000;
const COMPROMISED_REVOKED_AFTER_PROMOTION_MS = 200;
const GET_SECRET_VALUE_MS: readonly [number, number] = [20, 40];
const PLATFORM_CALL_MS: readonly [number, number] = [50, 150];

const KEYS = ['ti_live_FIRSTkeyFIRSTkey000000001', 'ti_live_SECONDkeySECONDkey00002', 'ti_live_THIRDkeyTHIRDkey0000003'] as const;
const secretString = (apiKey: string) => JSON.stringify({ provider: 'thought-industries', environment: 'production', baseUrl: BASE_URL, apiKey });

/** The platform's answer to a key it no longer accepts, shaped as a thrown fetch Response. */
class PlatformUnauthorized extends Error {
  public readonly status = 401;
}

/** Secrets Manager's AWSCURRENT and the platform's accepted keys, moved along the timeline. */
class World {
  public current: string = KEYS[0];
  public readonly accepted = new Set<string>([KEYS[0]]);
  public secretsManagerCalls = 0;
  public platformCalls = 0;
  public platform401s = 0;

  public constructor(
    private readonly clock: VirtualClock,
    private readonly random: Random,
  ) {}

  /** A platform call with `apiKey`: refused with a 401 once the key is revoked (checked when the request arrives). */
  public async callPlatform(apiKey: string): Promise<void> {
    const [min, max] = PLATFORM_CALL_MS;
    const latency = uniform(this.random, min, max);
    await this.clock.sleep(latency / 2);
    this.platformCalls += 1;
    const ok = this.accepted.has(apiKey);
    if (!ok) this.platform401s += 1;
    await this.clock.sleep(latency / 2);
    if (!ok) throw new PlatformUnauthorized('401 Unauthorized: Invalid or expired API key.');
  }

  public async getSecretValue(): Promise<{ SecretString: string; VersionId: string }> {
    const [min, max] = GET_SECRET_VALUE_MS;
    const latency = uniform(this.random, min, max);
    await this.clock.sleep(latency / 2);
    this.secretsManagerCalls += 1;
    const value = this.current;
    await this.clock.sleep(latency / 2);
    return { SecretString: secretString(value), VersionId: `v-${KEYS.indexOf(value as (typeof KEYS)[number])}` };
  }

  /** Scheduled rotation at 12 h (old key revoked after the grace period); compromise of the new key at 40 h. */
  public async timeline(start: number): Promise<void> {
    await this.clock.sleepUntil(start + ROTATION_AT_MS);
    this.accepted.add(KEYS[1]);
    await this.clock.sleep(PROMOTION_AFTER_MS);
    this.current = KEYS[1];
    const promotedAt = this.clock.now();
    await this.clock.sleepUntil(promotedAt + GRACE_MS);
    this.accepted.delete(KEYS[0]);
    await this.clock.sleepUntil(start + COMPROMISE_AT_MS);
    this.accepted.add(KEYS[2]);
    await this.clock.sleep(PROMOTION_AFTER_MS);
    this.current = KEYS[2];
    await this.clock.sleep(COMPROMISED_REVOKED_AFTER_PROMOTION_MS);
    this.accepted.delete(KEYS[1]);
  }
}

/** One application read: get the credential, call the platform with it. Throws what the application would see. */
type Read = () => Promise<void>;

interface ReaderUnderTest {
  readonly label: string;
  readonly build: (world: World, clock: VirtualClock) => Read;
}

const READERS: readonly ReaderUnderTest[] = [
  {
    label: `keyrotor reader (withFreshCredential, TTL ${DEFAULT_CACHE_TTL_SECONDS} s)`,
    build: (world, clock) => {
      const reader = createKeyrotorReader({ client: new SecretsManagerClient({ region: 'eu-west-1' }), now: () => clock.now() });
      return () => reader.withFreshCredential(SECRET_ID, ({ apiKey }) => world.callPlatform(apiKey as string));
    },
  },
  {
    label: 'Powertools getSecret (defaults: maxAge 5 s)',
    build: (world) => async () => {
      const { apiKey } = (await getSecret(SECRET_ID, { transform: 'json' })) as { apiKey: string };
      await world.callPlatform(apiKey);
    },
  },
  {
    label: 'Powertools getSecret (maxAge 5 s) + forceFetch and one retry on a 401',
    build: (world) => async () => {
      const { apiKey } = (await getSecret(SECRET_ID, { transform: 'json' })) as { apiKey: string };
      try {
        await world.callPlatform(apiKey);
      } catch (error) {
        if (!(error instanceof PlatformUnauthorized)) throw error;
        const fresh = (await getSecret(SECRET_ID, { transform: 'json', forceFetch: true })) as { apiKey: string };
        if (fresh.apiKey === apiKey) throw error;
        await world.callPlatform(fresh.apiKey);
      }
    },
  },
  {
    label: `Powertools getSecret (maxAge ${DEFAULT_CACHE_TTL_SECONDS} s, keyrotor's TTL)`,
    build: (world) => async () => {
      const { apiKey } = (await getSecret(SECRET_ID, { transform: 'json', maxAge: DEFAULT_CACHE_TTL_SECONDS })) as { apiKey: string };
      await world.callPlatform(apiKey);
    },
  },
];

interface LoadShape {
  readonly label: string;
  /** Reads that arrive together (concurrently in one process). */
  readonly burst: number;
}

const SHAPES: readonly LoadShape[] = [
  { label: 'one read at a time (e.g. one Lambda container)', burst: 1 },
  { label: 'bursts of 10 concurrent reads (e.g. a Node server)', burst: 10 },
];

interface RunResult {
  readonly secretsManagerCalls: number;
  readonly failedSeenByApp: number;
  readonly platform401s: number;
  readonly platformCalls: number;
  readonly reads: number;
}

async function simulate(reader: ReaderUnderTest, shape: LoadShape, seed: number): Promise<RunResult> {
  const clock = new VirtualClock();
  const restoreDate = installVirtualDate(clock);
  const random = seededRandom(seed);
  const world = new World(clock, random);
  const secretsManager = mockClient(SecretsManagerClient);
  secretsManager.on(GetSecretValueCommand).callsFake(() => world.getSecretValue());
  clearCaches();
  try {
    const read = reader.build(world, clock);
    let failed = 0;
    let done = 0;
    const start = clock.now();
    await clock.run(async () => {
      void world.timeline(start);
      const ticks = READS / shape.burst;
      const interval = SPAN_MS / ticks;
      for (let tick = 0; tick < ticks; tick++) {
        // Jittered arrivals: reads are not phase-locked to the cache's expiry or to the timeline.
        await clock.sleepUntil(start + (tick + random()) * interval);
        for (let i = 0; i < shape.burst; i++) {
          read().then(
            () => void (done += 1),
            () => void ((done += 1), (failed += 1)),
          );
        }
      }
      while (done < READS) await clock.sleep(1_000);
    });
    return { secretsManagerCalls: world.secretsManagerCalls, failedSeenByApp: failed, platform401s: world.platform401s, platformCalls: world.platformCalls, reads: done };
  } finally {
    secretsManager.restore();
    restoreDate();
  }
}

async function main(): Promise<void> {
  const wallStart = performance.now();
  console.log(
    `${READS.toLocaleString('en')} reads of one secret over ${SPAN_MS / HOUR_MS} h (simulated), each followed by a platform call with the key read. ` +
      `Rotation at ${ROTATION_AT_MS / HOUR_MS} h (old key revoked ${GRACE_MS / HOUR_MS} h after promotion); compromise at ${COMPROMISE_AT_MS / HOUR_MS} h (key revoked ${COMPROMISED_REVOKED_AFTER_PROMOTION_MS} ms after its replacement is AWSCURRENT). ` +
      `GetSecretValue ${GET_SECRET_VALUE_MS.join('–')} ms, platform call ${PLATFORM_CALL_MS.join('–')} ms.`,
  );
  for (const shape of SHAPES) {
    console.log(`\n${shape.label}`);
    console.log('  reader                                                                 | Secrets Manager calls per million reads | failed calls seen by the application | 401s absorbed by a retry');
    let baseline: number | undefined;
    for (const reader of READERS) {
      const r = await simulate(reader, shape, 7);
      const perMillion = (r.secretsManagerCalls / r.reads) * 1_000_000;
      baseline ??= perMillion;
      const absorbed = r.platform401s - r.failedSeenByApp;
      console.log(
        `  ${reader.label.padEnd(70)} | ${`${Math.round(perMillion).toLocaleString('en')} (${(perMillion / baseline).toFixed(1)}× keyrotor's)`.padStart(39)} | ${String(r.failedSeenByApp).padStart(36)} | ${String(absorbed).padStart(24)}`,
      );
    }
  }
  console.log(`\n(wall time ${((performance.now() - wallStart) / 1000).toFixed(1)} s)`);
}

void main();
