/**
 * `npm run local`: keyrotor's whole cycle on this machine, with no AWS account and nothing sent
 * anywhere. It starts moto_server (a local AWS emulator) and the platform sandboxes on 127.0.0.1,
 * creates the managed secrets of `examples/local.config.json` the way `cdk deploy` would, and runs
 * the real handlers (rotation, revoker, token refresher, compromise responder, notifier core) and
 * the real CLI through one cycle, printing a timeline. Keys are never printed: only fingerprints.
 *
 * What is played here because moto cannot (see ../shared/TOOLCHAIN.md): Secrets Manager's
 * rotation service (MotoRotationService invokes the four steps in-process), EventBridge Scheduler
 * firing a one-time schedule (listed, invoked with its own input, deleted), and EventBridge
 * delivering keyrotor's events to the notifier (each published event is also put on moto's bus).
 * Time passes on keyrotor's own clock, which the handlers, the providers' request signing and the
 * sandboxes share, so a 24 h grace period takes no time at all.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateScheduleGroupCommand, DeleteScheduleCommand, GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { DynamoDbLedger } from '../lambdas/adapters/dynamodb-ledger';
import { EventBridgePublisher } from '../lambdas/adapters/eventbridge-publisher';
import { createLogger, loggerPort } from '../lambdas/adapters/logger';
import { SchedulerRevocations } from '../lambdas/adapters/scheduler-revocations';
import { SecretsManagerInventory } from '../lambdas/adapters/secrets-manager-inventory';
import { SecretsManagerTokenStore } from '../lambdas/adapters/secrets-manager-token-store';
import { BOOTSTRAP_SECRET_KEY, BOOTSTRAP_SECRET_MARKER, TAG, TOKEN_TAG, type Environment, type ProviderId, type SecretKind } from '../lambdas/core/contracts';
import { ProviderAuthError } from '../lambdas/core/errors';
import { EVENT_SOURCE, type EventPublisher, type KeyrotorEvent } from '../lambdas/core/events';
import { fingerprintOf } from '../lambdas/core/fingerprint';
import { notify } from '../lambdas/core/notify';
import { redactText, registerSecret } from '../lambdas/core/redaction';
import { credentialStrings, parseSecretValue, type ManagedSecretValue } from '../lambdas/core/secret-value';
import { tokenValueSchema } from '../lambdas/core/token-refresh';
import { DEFAULT_PROPAGATION } from '../lambdas/core/verification';
import { NO_METRICS } from '../lambdas/ports/metrics';
import { SILENT_LOGGER } from '../lambdas/ports/logger';
import type { Alert } from '../lambdas/ports/notifier';
import { createProviderRegistry } from '../lambdas/providers/registry';
import { createTokenMinter } from '../lambdas/providers/token-minters';
import { parseConfig, secretNameFor, tokenSecretNameFor, type CredentialConfig, type ImburseHmacTokenConfig, type KeyrotorConfig } from '../lib/config';
import { InMemoryAlertDeduper } from '../test/support/fakes/in-memory-alert-deduper';
import { motoServerAvailable, startMotoServer } from '../test/support/moto-server';
import { startImburseSandbox } from '../test/support/sandboxes/imburse-sandbox';
import { makeThoughtIndustriesKey, startThoughtIndustriesSandbox } from '../test/support/sandboxes/thought-industries-sandbox';
import { createLedgerTable } from '../test/support/service/ledger-table';
import { createManagedSecret, LAMBDA_CONTEXT, MotoRotationService, type RotationHandler } from '../test/support/service/moto-rotation-service';
import { main as cli, type CliDeps } from './cli/commands';

/** The example config the local run deploys. */
export const LOCAL_CONFIG_PATH = join(__dirname, '..', 'examples', 'local.config.json');

export const MOTO_INSTALL_HINT = 'pip install "moto[server]"';

/** moto_server is not on PATH, or does not run: the local run cannot start. */
export class MotoServerMissingError extends Error {
  public constructor() {
    super(
      `moto_server not found: ${MOTO_INSTALL_HINT}\n` +
        'The local run looks for an executable `moto_server` on PATH and checks that `moto_server --help` runs ' +
        '(a pyenv shim without moto installed behind it does not count). Install it into the Python whose scripts are on PATH, then run `npm run local` again.',
    );
    this.name = 'MotoServerMissingError';
  }
}

/** Options of {@link runLocal}. */
export interface LocalRunOptions {
  /** Receives each printed line (already redacted), without a trailing newline. */
  readonly out: (line: string) => void;
  /**
   * The wall clock the run starts from. keyrotor's clock (the timeline's times, the handlers', the
   * providers' and the sandboxes') is this plus the simulated time that passes (the grace period).
   * @default () => new Date()
   */
  readonly clock?: () => Date;
  /**
   * Let the handlers' own JSON logs (Powertools, redacted) through to stdout.
   * @default false
   */
  readonly handlerLogs?: boolean;
  /**
   * The config to deploy: one thought-industries credential, one imburse credential and an
   * imburse-hmac token minted from it.
   * @default examples/local.config.json
   */
  readonly configPath?: string;
}

/** One ledger entry as the summary shows it (no secret: fingerprints only). */
export interface LocalLedgerEntry {
  readonly at: string;
  readonly state: string;
  readonly token: string;
  readonly fingerprint?: string;
  readonly actor?: string;
}

/** One managed secret at the end of the run. */
export interface LocalSecretSummary {
  readonly name: string;
  readonly kind: SecretKind;
  readonly provider: ProviderId;
  readonly environment: Environment;
  /** The current key's (or access token's) fingerprint. */
  readonly fingerprint: string;
  /** Tokens: when the current access token expires. */
  readonly expiresAt?: string;
  readonly ledger: readonly LocalLedgerEntry[];
}

/** What the run did. */
export interface LocalRunSummary {
  readonly secrets: readonly LocalSecretSummary[];
  /** keyrotor's events, in the order they were published. */
  readonly events: readonly { readonly type: string; readonly severity: string; readonly secret: string }[];
  /** The alerts a person would have received. */
  readonly alerts: readonly { readonly severity: string; readonly subject: string }[];
  /** Every printed line. */
  readonly lines: readonly string[];
}

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const BUS = 'keyrotor';
const SCHEDULE_GROUP = 'keyrotor';
const LEDGER_TABLE = 'keyrotor-ledger';
const REVOKER_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:keyrotor-revoke`;
const HOUR = 3_600_000;
const ACTOR_WIDTH = 16;

/** What each rotation step reported (the rotation handler's `rotation step complete` log), in words. */
const STEP_OUTCOMES: Readonly<Record<string, string>> = {
  issued: 'created a new key at the platform by API and stored it as AWSPENDING at once',
  'pending-exists': 'AWSPENDING already holds the new key (nothing to create)',
  'nothing-to-set': 'nothing to set (the platform holds the key already)',
  verified: 'verified the AWSPENDING key with a live read-only call to the platform',
  promoted: 'moved AWSCURRENT to the new key; the old one is AWSPREVIOUS',
  'already-current': 'the version is AWSCURRENT already',
  'already-promoted': 'the version is AWSCURRENT already',
  'configuration-test': 'configuration test only',
};

/** The pieces of the config the cycle uses. */
interface LocalPlan {
  readonly ti: CredentialConfig;
  readonly imburse: CredentialConfig;
  readonly token: ImburseHmacTokenConfig;
  readonly skipped: readonly string[];
}

function planFrom(config: KeyrotorConfig, source: string): LocalPlan {
  const ti = config.credentials.find((c) => c.provider === 'thought-industries');
  const imburse = config.credentials.find((c) => c.provider === 'imburse');
  const token = config.tokens.find((t): t is ImburseHmacTokenConfig => t.grant === 'imburse-hmac' && t.credential === imburse?.id);
  if (!ti || !imburse || !token) {
    throw new Error(
      `${source}: the local run needs a thought-industries credential, an imburse credential and an imburse-hmac token minted from it ` +
        '(the platforms it has sandboxes for end to end); see examples/local.config.json',
    );
  }
  const used = new Set([ti.id, imburse.id, token.id]);
  const skipped = [...config.credentials, ...config.tokens].filter((entry) => !used.has(entry.id)).map((entry) => entry.id);
  return { ti, imburse, token, skipped };
}

/**
 * The handlers' modules. They are wrapped with @middy/core, which is ESM-only (its package exports
 * have an `import` condition only), so a CommonJS `require` of it cannot resolve under `tsx`. The
 * resolution is mapped to its file as jest.config.cjs does (tsx then loads the ESM file), and the
 * handlers are loaded after that; under jest the mapping already exists and nothing is patched.
 */
async function loadHandlers() {
  try {
    require.resolve('@middy/core');
  } catch {
    const internals = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
    const resolve = internals._resolveFilename;
    internals._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
      const middy = /^@middy\/(core|util)$/.exec(request);
      return middy ? join(__dirname, '..', 'node_modules', '@middy', middy[1] as string, 'index.js') : resolve.call(this, request, ...rest);
    };
  }
  const [rotate, revoke, refresh, compromise] = await Promise.all([
    import('../lambdas/handlers/rotate'),
    import('../lambdas/handlers/revoke'),
    import('../lambdas/handlers/refresh-tokens'),
    import('../lambdas/handlers/compromise'),
  ]);
  return {
    createRotateHandler: rotate.createRotateHandler,
    createRevokeHandler: revoke.createRevokeHandler,
    createRefreshHandler: refresh.createRefreshHandler,
    createCompromiseHandler: compromise.createCompromiseHandler,
  };
}

/** Lets a handler's Powertools logger through only when asked; the timeline says what happened. */
function handlerLogger(serviceName: string, verbose: boolean): Logger {
  const logger = createLogger(serviceName);
  // A child keeps the redacting replacer; its level is set at construction, because an invocation resets the level to that one.
  return verbose ? logger : logger.createChild({ logLevel: 'SILENT' });
}

/**
 * Runs the local cycle and returns what it did. Stops everything it started before it returns or
 * throws, and on SIGINT/SIGTERM (then exits the process).
 * @throws MotoServerMissingError when moto_server cannot run.
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunSummary> {
  if (!motoServerAvailable()) throw new MotoServerMissingError();
  const wallClock = options.clock ?? (() => new Date());
  const verbose = options.handlerLogs ?? false;
  const configPath = options.configPath ?? LOCAL_CONFIG_PATH;

  // keyrotor's clock: the wall clock plus the time the run lets pass.
  let skippedMs = 0;
  const now = () => new Date(wallClock().getTime() + skippedMs);
  const nowMs = () => now().getTime();

  // Every line goes through redaction, and is kept for the final check.
  const lines: string[] = [];
  let silenced = false;
  const print = (line: string): void => {
    const safe = redactText(line);
    lines.push(safe);
    options.out(safe);
  };
  const say = (actor: string, text: string): void => {
    if (silenced) return;
    const [first, ...more] = text.split('\n');
    print(`${now().toISOString().slice(11, 23)}  ${actor.padEnd(ACTOR_WIDTH)}  ${first}`);
    for (const line of more) print(`${' '.repeat(12 + 2 + ACTOR_WIDTH + 2)}${line}`);
  };
  const heading = (text: string): void => {
    if (silenced) return;
    print('');
    print(`── ${text} ──`);
  };

  // Every key and token this run creates or reads: never printed, checked at the end.
  const keys = new Set<string>();
  const remember = (...values: string[]): void => {
    registerSecret(...values);
    for (const value of values) keys.add(value);
  };

  // Everything started is stopped in reverse order, once: at the end, on failure, or on a signal.
  const cleanups: (() => Promise<unknown>)[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    say('local', `${signal}: stopping moto_server and the sandboxes this run started`);
    silenced = true;
    void stopAll().finally(() => {
      options.out('stopped.');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let summary: LocalRunSummary;
  try {
    print('keyrotor local run: moto_server (a local AWS emulator) and platform sandboxes on 127.0.0.1, the real handlers and CLI.');
    print("Times are keyrotor's clock (UTC). Keys are never printed: …XXXX#hhhhhhhh is a fingerprint (last four characters and a hash prefix).");
    heading('Setup');

    // Config first: a broken config should fail before anything is started.
    const config = parseConfig(JSON.parse(readFileSync(configPath, 'utf8')) as unknown, configPath);
    const plan = planFrom(config, configPath);
    const graceMs = config.defaults.gracePeriodHours * HOUR;
    const shownPath = configPath.startsWith(`${process.cwd()}/`) ? configPath.slice(process.cwd().length + 1) : configPath;
    say('config', `${shownPath}: valid (parseConfig); ${plural(config.credentials.length, 'credential')}, ${plural(config.tokens.length, 'token')}`);
    for (const id of plan.skipped) say('config', `${id}: not part of the local cycle (no sandbox run for it here); skipped`);

    const { createRotateHandler, createRevokeHandler, createRefreshHandler, createCompromiseHandler } = await loadHandlers();

    const moto = await startMotoServer();
    cleanups.push(() => moto.stop());
    say('local', `moto_server answers at ${moto.endpoint} (Secrets Manager, DynamoDB, EventBridge, Scheduler)`);
    const [tiSandbox, imburseSandbox] = await Promise.all([startThoughtIndustriesSandbox({ now: nowMs }), startImburseSandbox({ now: nowMs })]);
    cleanups.push(() => tiSandbox.close(), () => imburseSandbox.close());
    say('local', `Thought Industries sandbox at ${tiSandbox.baseUrl}, Imburse sandbox at ${imburseSandbox.baseUrl}`);

    const aws = { endpoint: moto.endpoint, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    const sm = new SecretsManagerClient(aws);
    const dynamo = new DynamoDBClient(aws);
    const eventBridge = new EventBridgeClient(aws);
    const scheduler = new SchedulerClient(aws);
    cleanups.push(async () => {
      for (const client of [sm, dynamo, eventBridge, scheduler]) client.destroy();
    });

    // What `cdk deploy` creates besides the secrets.
    await createLedgerTable(dynamo, LEDGER_TABLE);
    await scheduler.send(new CreateScheduleGroupCommand({ Name: SCHEDULE_GROUP }));
    let forward: EventPublisher | undefined;
    try {
      await eventBridge.send(new CreateEventBusCommand({ Name: BUS }));
      forward = new EventBridgePublisher(BUS, eventBridge);
    } catch (error) {
      say('local', `no event bus in moto (${errorName(error)}): keyrotor's events are recorded here only`);
    }
    say('deploy', `ledger table ${LEDGER_TABLE}, schedule group ${SCHEDULE_GROUP}, event bus ${BUS}${forward ? '' : ' (not available)'}`);

    // keyrotor's events: printed, put on moto's bus, and handed to the real notifier as EventBridge would.
    const alerts: Alert[] = [];
    const bus = new LocalBus({
      forward,
      now,
      say,
      notifyDeps: {
        notifier: {
          notify: async (alert) => {
            alerts.push(alert);
            say('notifier', `alert: ${alert.subject}`);
          },
        },
        deduper: new InMemoryAlertDeduper(),
        logger: SILENT_LOGGER,
        ...(config.alerts.runbookBaseUrl ? { alertOptions: { runbookBaseUrl: config.alerts.runbookBaseUrl } } : {}),
        now,
      },
    });

    // The handlers, composed as the deployed ones are, with clients pointed at moto.
    const providers = createProviderRegistry({ now: nowMs });
    const ledger = new DynamoDbLedger(LEDGER_TABLE, dynamo);
    const service = new MotoRotationService(sm);
    const names = new Map<string, string>();
    const nameOf = (id: string) => names.get(id) ?? id;
    let lastOutcome: string | undefined;
    const rotateLogger = handlerLogger('keyrotor-rotate', verbose);
    // The step's outcome is what the handler logs when a step completes; the timeline says it in words.
    const logInfo: (...args: unknown[]) => void = rotateLogger.info.bind(rotateLogger) as (...args: unknown[]) => void;
    rotateLogger.info = ((...args: unknown[]) => {
      const [message, attributes] = args;
      if (message === 'rotation step complete') lastOutcome = String((attributes as { outcome?: unknown } | undefined)?.outcome ?? '');
      logInfo(...args);
    }) as Logger['info'];
    const rotate = createRotateHandler(
      {
        store: service,
        providers,
        logger: loggerPort(rotateLogger),
        propagation: DEFAULT_PROPAGATION,
        now,
        ledger,
        revocations: new SchedulerRevocations(
          {
            revokerArn: REVOKER_ARN,
            roleArn: `arn:aws:iam::${ACCOUNT}:role/keyrotor-scheduler`,
            groupName: SCHEDULE_GROUP,
            deadLetterArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:keyrotor-revocation-dlq`,
          },
          scheduler,
        ),
        gracePeriodMs: graceMs,
        events: bus,
      },
      rotateLogger,
    ) as unknown as RotationHandler;
    // Secrets Manager (played by MotoRotationService) invokes the rotation Lambda once per step.
    service.handler = async (event: unknown, context: Context) => {
      const { Step, SecretId, ClientRequestToken } = event as { Step: string; SecretId: string; ClientRequestToken: string };
      lastOutcome = undefined;
      try {
        const result = await rotate(event, context);
        say('rotate λ', `${Step}: ${STEP_OUTCOMES[lastOutcome ?? ''] ?? 'done'}`);
        return result;
      } catch (error) {
        say('rotate λ', `${Step} of ${nameOf(SecretId)} (rotation ${short(ClientRequestToken)}) failed: ${errorName(error)}: ${errorMessage(error)}`);
        throw error;
      }
    };
    const revokeLogger = handlerLogger('keyrotor-revoke', verbose);
    const revoke = createRevokeHandler({ store: service, providers, ledger, logger: loggerPort(revokeLogger), now, events: bus }, revokeLogger);
    const refreshLogger = handlerLogger('keyrotor-refresh-tokens', verbose);
    const refresh = createRefreshHandler(
      {
        store: new SecretsManagerTokenStore(sm),
        minter: createTokenMinter({}, nowMs),
        events: bus,
        metrics: NO_METRICS,
        logger: loggerPort(refreshLogger),
        policy: {
          renewAtFraction: config.tokenRefresh.renewAtFraction,
          jitterFraction: config.tokenRefresh.jitterFraction,
          windowMs: config.tokenRefresh.rateMinutes * 60_000,
          concurrency: config.tokenRefresh.concurrency,
        },
        now,
      },
      refreshLogger,
    );
    const compromiseLogger = handlerLogger('keyrotor-compromise', verbose);
    const respond = createCompromiseHandler(
      { store: service, providers, ledger, logger: loggerPort(compromiseLogger), now, newToken: randomUUID, events: bus },
      compromiseLogger,
    );
    const cliDeps: CliDeps = { store: () => service, inventory: () => new SecretsManagerInventory(sm), ledger: () => ledger, events: () => bus, providers, propagation: DEFAULT_PROPAGATION, now };

    // Reads. moto returns the old value after a promotion unless AWSCURRENT is asked for by name.
    const readStage = async (secretId: string, stage: 'AWSCURRENT' | 'AWSPREVIOUS'): Promise<string> =>
      (await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }))).SecretString ?? '';
    const readKey = async (secretId: string, stage: 'AWSCURRENT' | 'AWSPREVIOUS' = 'AWSCURRENT'): Promise<ManagedSecretValue> => {
      const value = parseSecretValue(await readStage(secretId, stage), `${stage} value of ${nameOf(secretId)}`);
      remember(...credentialStrings(value));
      return value;
    };
    const fingerprint = (value: ManagedSecretValue) => value.fingerprint ?? fingerprintOf(credentialStrings(value)[0] ?? '');
    /** The platform's answer when it refuses `value` (401), as a revoked key must be refused; `undefined` when it accepts it. */
    const refusal = async (value: ManagedSecretValue): Promise<string | undefined> => {
      try {
        await providers.get(value.provider).verify(value, { baseUrl: value.baseUrl, environment: value.environment });
        return undefined;
      } catch (error) {
        if (error instanceof ProviderAuthError) return error.platformMessage ?? 'no message';
        throw error;
      }
    };
    const expectRefused = async (value: ManagedSecretValue, actor: string, what: string): Promise<void> => {
      const answer = await refusal(value);
      if (answer === undefined) throw new Error(`${what} ${fingerprint(value)} still works at the platform; it should answer 401`);
      say(actor, `${what} ${fingerprint(value)} now answers 401 ("${answer}")`);
    };
    const promoted = async (arn: string, before: ManagedSecretValue): Promise<ManagedSecretValue> => {
      const after = await readKey(arn);
      if (fingerprint(after) === fingerprint(before)) throw new Error(`${nameOf(arn)} was not promoted: AWSCURRENT still holds ${fingerprint(before)}`);
      say('Secrets Manager', `${nameOf(arn)}: promoted ${fingerprint(after)} to AWSCURRENT; ${fingerprint(before)} is AWSPREVIOUS`);
      return after;
    };
    const checkRotation = (what: string): void => {
      if (service.failures.length > 0) {
        const failure = service.failures[0];
        service.failures.length = 0;
        throw new Error(`${what} failed: ${errorName(failure)}: ${errorMessage(failure)}`);
      }
    };

    // The managed secrets, as the stack creates them, pointed at the loopback sandboxes.
    const tiName = secretNameFor(plan.ti.id);
    const imburseName = secretNameFor(plan.imburse.id);
    const tokenName = tokenSecretNameFor(plan.token.id);
    say('config', `${plan.ti.id}: ${plan.ti.baseUrl} → ${tiSandbox.baseUrl} (the Thought Industries sandbox on loopback)`);
    say('config', `${plan.imburse.id}: ${plan.imburse.baseUrl} → ${imburseSandbox.baseUrl} (the Imburse sandbox on loopback)`);

    // Each api-key secret already holds a working key, as after the first `keyrotor submit`.
    const tiFirstKey = makeThoughtIndustriesKey(plan.ti.environment);
    remember(tiFirstKey);
    tiSandbox.addKey(tiFirstKey);
    const tiArn = await createManagedSecret(
      sm,
      tiName,
      JSON.stringify({ provider: plan.ti.provider, environment: plan.ti.environment, baseUrl: tiSandbox.baseUrl, apiKey: tiFirstKey }),
      apiKeyTags(plan.ti, tiSandbox.baseUrl),
    );
    names.set(tiArn, tiName);
    say('deploy', `${tiName} created (${describeTags(apiKeyTags(plan.ti, tiSandbox.baseUrl))}), rotation enabled; holds the instance's current key ${fingerprintOf(tiFirstKey)}`);

    const imburseFirstKey = imburseSandbox.addKey();
    remember(imburseFirstKey.privateKey);
    const imburseArn = await createManagedSecret(
      sm,
      imburseName,
      JSON.stringify({
        provider: plan.imburse.provider,
        environment: plan.imburse.environment,
        baseUrl: imburseSandbox.baseUrl,
        tenantId: imburseSandbox.tenantId,
        ...imburseFirstKey,
      }),
      apiKeyTags(plan.imburse, imburseSandbox.baseUrl),
    );
    names.set(imburseArn, imburseName);
    say('deploy', `${imburseName} created (${describeTags(apiKeyTags(plan.imburse, imburseSandbox.baseUrl))}), rotation enabled; holds tenant key ${fingerprintOf(imburseFirstKey.privateKey)}`);

    // The token secret: the stack's bootstrap value, and the tags the refresher lists it by.
    const bootstrap = randomBytes(16).toString('hex');
    remember(bootstrap);
    const tokenTags = {
      [TAG.kind]: 'token',
      [TAG.provider]: plan.token.provider,
      [TAG.environment]: plan.token.environment,
      [TAG.credential]: plan.token.id,
      [TOKEN_TAG.grant]: plan.token.grant,
      [TOKEN_TAG.source]: secretNameFor(plan.token.credential),
    };
    const tokenArn = (
      await sm.send(
        new CreateSecretCommand({
          Name: tokenName,
          SecretString: JSON.stringify({ ...BOOTSTRAP_SECRET_MARKER, [BOOTSTRAP_SECRET_KEY]: bootstrap }),
          Tags: Object.entries(tokenTags).map(([Key, Value]) => ({ Key, Value })),
        }),
      )
    ).ARN as string;
    names.set(tokenArn, tokenName);
    say('deploy', `${tokenName} created (${describeTags(tokenTags)}), no rotation schedule; awaits its first token`);

    // 1. Thought Industries: a person makes a key in the admin panel and hands it over.
    heading('1. Thought Industries: a person hands over a new key (keyrotor submit)');
    const tiBefore = await readKey(tiArn);
    const tiNewKey = makeThoughtIndustriesKey(plan.ti.environment);
    remember(tiNewKey);
    tiSandbox.addKey(tiNewKey);
    say('person', `creates key ${fingerprintOf(tiNewKey)} in the Thought Industries admin panel (Settings → Security/API Keys)`);
    say('person', `$ npx keyrotor submit ${tiName}   (the key piped on stdin)`);
    const submitted = await runCli(['submit', tiName], `${tiNewKey}\n`, cliDeps);
    for (const line of submitted.out.split('\n').filter(Boolean)) say('keyrotor CLI', line);
    for (const line of submitted.err.split('\n').filter(Boolean)) say('keyrotor CLI', line);
    if (submitted.status !== 0) throw new Error(`keyrotor submit exited with ${submitted.status}`);
    checkRotation('the Thought Industries rotation');
    await promoted(tiArn, tiBefore);
    tiSandbox.revokeKey(tiFirstKey);
    say('person', `removes the old key ${fingerprintOf(tiFirstKey)} in the admin panel, as the alert asks`);
    await expectRefused(tiBefore, 'TI sandbox', 'old key');

    // 2. Imburse: a scheduled rotation, fully automatic; the old key goes after the grace period.
    heading('2. Imburse: a scheduled rotation, fully automatic');
    const imburseBefore = await readKey(imburseArn);
    const scheduled = randomUUID();
    say('Secrets Manager', `rotation schedule of ${imburseName} fires: scheduled rotation ${short(scheduled)} (AWSPENDING, no value yet)`);
    await service.scheduledRotation(imburseArn, scheduled);
    checkRotation('the scheduled Imburse rotation');
    const imburseAfter = await promoted(imburseArn, imburseBefore);
    const waiting = await pendingSchedules(scheduler);
    for (const schedule of waiting) say('Scheduler', `${schedule.name} waits until ${schedule.at} to revoke old key ${schedule.fingerprint} (grace period ${config.defaults.gracePeriodHours} h)`);
    if (waiting.length === 0) throw new Error('finishSecret scheduled no revocation of the old Imburse key');
    skippedMs += graceMs + HOUR;
    say('local', `${config.defaults.gracePeriodHours + 1} h pass on keyrotor's clock (moto's Scheduler never fires schedules, so this run plays it)`);
    for (const schedule of waiting) {
      if (Date.parse(`${schedule.at}Z`) > nowMs()) continue;
      say('Scheduler', `${schedule.name} is due: invokes the revoker with the schedule's input, then deletes the schedule`);
      const { outcome } = await revoke(JSON.parse(schedule.input) as unknown, LAMBDA_CONTEXT);
      say('revoke λ', `old key ${schedule.fingerprint}: ${outcome}`);
      await scheduler.send(new DeleteScheduleCommand({ GroupName: SCHEDULE_GROUP, Name: schedule.name }));
    }
    await expectRefused(imburseBefore, 'Imburse sandbox', 'old key');

    // 3. Token renewal: the refresher's schedule fires.
    heading('3. Token renewal: the refresher mints an access token');
    say('Scheduler', `refresh-tokens schedule fires (every ${config.tokenRefresh.rateMinutes} minutes)`);
    const report = await refresh({}, LAMBDA_CONTEXT);
    if (!report.renewed.includes(tokenName)) throw new Error(`the refresher did not renew ${tokenName}: ${JSON.stringify(report)}`);
    const minted = tokenValueSchema.parse(JSON.parse(await readStage(tokenArn, 'AWSCURRENT')));
    remember(minted.accessToken);
    say('refresh λ', `token minted from ${imburseName}'s current key ${fingerprint(imburseAfter)} and written to ${tokenName}: ${fingerprintOf(minted.accessToken)}, expires ${minted.expiresAt}`);

    // 4. Compromise: a security tool reports the current Imburse key on keyrotor's bus.
    heading('4. Compromise: the current Imburse key is reported leaked');
    const leaked = await readKey(imburseArn);
    const report4 = {
      version: '0',
      id: randomUUID(),
      source: 'local.security-scanner',
      account: ACCOUNT,
      time: now().toISOString(),
      region: REGION,
      resources: [],
      'detail-type': 'KeyCompromised',
      detail: { secret: imburseName, reason: 'found in a public repository', fingerprint: fingerprint(leaked) },
    };
    say('security tool', `compromise reported: KeyCompromised for ${imburseName} (key ${fingerprint(leaked)}, found in a public repository) put on bus ${BUS}`);
    if (forward) {
      await eventBridge.send(
        new PutEventsCommand({ Entries: [{ EventBusName: BUS, Source: report4.source, DetailType: report4['detail-type'], Detail: JSON.stringify(report4.detail) }] }),
      );
    }
    say('bus', 'KeyCompromised → compromise λ (its rule: detail-type KeyCompromised from any source but keyrotor)');
    const outcome = await respond(report4, LAMBDA_CONTEXT);
    checkRotation('the compromise rotation');
    say('compromise λ', `${outcome.revocation}: ${outcome.done}`);
    say('compromise λ', `left for a person: ${outcome.action}`);
    await promoted(imburseArn, leaked);
    await expectRefused(leaked, 'Imburse sandbox', 'compromised key');
    const left = await pendingSchedules(scheduler);
    if (left.length > 0) throw new Error(`revocations left waiting after the compromise: ${left.map((s) => s.name).join(', ')}`);
    say('Scheduler', 'no revocation left waiting: the compromised key was revoked at once, with no grace period');
    // The token minted from the compromised key ended with it: the refresher's next run renews it
    // from the replacement, whatever the token's age.
    say('Scheduler', `refresh-tokens schedule fires again (within ${config.tokenRefresh.rateMinutes} minutes)`);
    const afterCompromise = await refresh({}, LAMBDA_CONTEXT);
    if (!afterCompromise.renewed.includes(tokenName)) throw new Error(`the refresher did not renew ${tokenName} after its source key was replaced: ${JSON.stringify(afterCompromise)}`);
    const reminted = tokenValueSchema.parse(JSON.parse(await readStage(tokenArn, 'AWSCURRENT')));
    remember(reminted.accessToken);
    say('refresh λ', `token renewed at once because its source key was replaced: ${fingerprintOf(reminted.accessToken)}, minted from ${fingerprint(await readKey(imburseArn))}`);

    // Summary: what a person would find now.
    heading('Summary');
    const secrets: LocalSecretSummary[] = [];
    for (const [arn, credential] of [
      [tiArn, plan.ti],
      [imburseArn, plan.imburse],
    ] as const) {
      const current = await readKey(arn);
      const history = (await ledger.history(arn)).map((entry) => ({
        at: entry.at,
        state: entry.state,
        token: entry.token,
        ...(entry.fingerprint ? { fingerprint: entry.fingerprint } : {}),
        ...(entry.actor ? { actor: entry.actor } : {}),
      }));
      secrets.push({ name: nameOf(arn), kind: 'api-key', provider: credential.provider, environment: credential.environment, fingerprint: fingerprint(current), ledger: history });
    }
    const token = tokenValueSchema.parse(JSON.parse(await readStage(tokenArn, 'AWSCURRENT')));
    remember(token.accessToken);
    secrets.push({
      name: tokenName,
      kind: 'token',
      provider: plan.token.provider,
      environment: plan.token.environment,
      fingerprint: fingerprintOf(token.accessToken),
      expiresAt: token.expiresAt,
      ledger: [],
    });
    for (const secret of secrets) {
      print(`${secret.name}  (${secret.provider}, ${secret.environment}, ${secret.kind})  AWSCURRENT ${secret.fingerprint}${secret.expiresAt ? `, expires ${secret.expiresAt}` : ''}`);
      if (secret.kind === 'token') print('  ledger: none (token secrets are written by the refresher only; their history is the events on the bus)');
      else print(`  ledger (npx keyrotor history ${secret.name}):`);
      for (const entry of secret.ledger) {
        print(`    ${entry.at.slice(0, 23).replace('T', ' ')}  ${entry.state.padEnd(20)}  ${(entry.fingerprint ?? '').padEnd(14)}  rotation ${short(entry.token)}${entry.actor ? `  by ${entry.actor}` : ''}`);
      }
    }
    const bySeverity = (severity: string) => alerts.filter((a) => a.severity === severity).length;
    print(
      `events: ${bus.events.length} on bus ${BUS}${forward ? ' (also put on moto\'s bus)' : ''}; ` +
        `alerts a person would get: ${alerts.length} (${bySeverity('CRITICAL')} CRITICAL, ${bySeverity('WARNING')} WARNING, ${bySeverity('INFO')} INFO) to ${config.alerts.emails.join(', ') || 'nobody (no alerts.emails)'}`,
    );
    summary = {
      secrets,
      events: bus.events.map((e) => ({ type: e.type, severity: e.detail.severity, secret: e.detail.secret })),
      alerts: alerts.map((a) => ({ severity: a.severity, subject: a.subject })),
      lines,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
    if (!silenced) say('local', 'stopped moto_server and the sandboxes');
  }

  // Belt and braces: no key this run created or read may be in anything it printed or returns.
  const printed = lines.join('\n') + JSON.stringify(summary);
  const leakedKeys = [...keys].filter((key) => printed.includes(key));
  if (leakedKeys.length > 0) throw new Error(`the local run printed ${leakedKeys.length} key value(s): a redaction bug, please report it`);
  return summary;
}

/** keyrotor's events, as EventBridge would carry them: printed, put on moto's bus, and handed to the notifier. */
class LocalBus implements EventPublisher {
  public readonly events: KeyrotorEvent[] = [];

  public constructor(
    private readonly deps: {
      readonly forward: EventPublisher | undefined;
      readonly now: () => Date;
      readonly say: (actor: string, text: string) => void;
      readonly notifyDeps: Parameters<typeof notify>[1];
    },
  ) {}

  public async publish(event: KeyrotorEvent): Promise<void> {
    const { forward, now, say, notifyDeps } = this.deps;
    this.events.push(event);
    say('bus', `${event.type} [${event.detail.severity}] ${event.detail.summary}`);
    if (forward) {
      try {
        await forward.publish(event);
      } catch (error) {
        say('bus', `could not put ${event.type} on moto's bus (${errorName(error)}); it is still delivered here`);
      }
    }
    const envelope = { version: '0', id: randomUUID(), source: EVENT_SOURCE, account: ACCOUNT, region: REGION, resources: [], 'detail-type': event.type, time: now().toISOString(), detail: event.detail };
    try {
      const result = await notify(JSON.parse(JSON.stringify(envelope)) as unknown, notifyDeps);
      if (result.outcome === 'duplicate') say('notifier', `${event.type}: this failure was alerted already; not sent again`);
    } catch (error) {
      say('notifier', `could not turn ${event.type} into an alert: ${errorName(error)}: ${errorMessage(error)}`);
    }
  }
}

/** Runs the real CLI in-process with `stdinText` on stdin (as test/support/cli-harness.ts does). */
async function runCli(argv: string[], stdinText: string, deps: CliDeps): Promise<{ status: number; out: string; err: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += String(chunk)));
  stderr.on('data', (chunk) => (err += String(chunk)));
  stdin.end(stdinText);
  const status = await cli(argv, { stdin, stdout, stderr, env: {} }, deps);
  return { status, out, err };
}

/** The tags the stack gives an api-key secret (ManagedApiKeySecret), with the sandbox's base URL. */
function apiKeyTags(credential: CredentialConfig, baseUrl: string): Record<string, string> {
  return {
    [TAG.provider]: credential.provider,
    [TAG.environment]: credential.environment,
    [TAG.kind]: 'api-key',
    [TAG.baseUrl]: baseUrl,
    [TAG.credential]: credential.id,
  };
}

/** `a=1, b=2`: tags as the timeline shows them. */
function describeTags(tags: Readonly<Record<string, string>>): string {
  return Object.entries(tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}

/** keyrotor's one-time revocation schedules, as Scheduler holds them. */
async function pendingSchedules(scheduler: SchedulerClient): Promise<{ name: string; at: string; input: string; fingerprint: string }[]> {
  const listed = await scheduler.send(new ListSchedulesCommand({ GroupName: SCHEDULE_GROUP }));
  const schedules = [];
  for (const summary of listed.Schedules ?? []) {
    const schedule = await scheduler.send(new GetScheduleCommand({ GroupName: SCHEDULE_GROUP, Name: summary.Name }));
    const input = schedule.Target?.Input ?? '{}';
    if (schedule.Target?.Arn !== REVOKER_ARN) continue;
    schedules.push({
      name: summary.Name ?? '',
      at: /^at\((.*)\)$/.exec(schedule.ScheduleExpression ?? '')?.[1] ?? '',
      input,
      fingerprint: String((JSON.parse(input) as { fingerprint?: unknown }).fingerprint ?? '?'),
    });
  }
  return schedules;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function short(token: string): string {
  return token.slice(0, 8);
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `npm run local` (`tsx bin/local.ts [--verbose]`). */
async function main(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const unknown = argv.filter((arg) => arg !== '--verbose');
  if (unknown.length > 0 || argv.includes('--help')) {
    process.stderr.write('Usage: npm run local [-- --verbose]   (--verbose: also print the handlers\' own JSON logs, redacted)\n');
    return argv.includes('--help') ? 0 : 2;
  }
  try {
    await runLocal({ out: (line) => process.stdout.write(`${line}\n`), handlerLogs: verbose });
    return 0;
  } catch (error) {
    if (error instanceof MotoServerMissingError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    process.stderr.write(`local run failed: ${redactText(`${errorName(error)}: ${errorMessage(error)}`)}\n`);
    if (!verbose) process.stderr.write('Run `npm run local -- --verbose` to see the handlers\' own logs.\n');
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
