import { randomUUID } from 'node:crypto';
import { ENVIRONMENTS, PROVIDER_IDS, STAGE, type Environment, type ProviderId } from '../../lambdas/core/contracts';
import { baseUrlProblem, normaliseBaseUrl } from '../../lambdas/core/base-url';
import { KeyrotorError, ProviderAuthError, ValidationError } from '../../lambdas/core/errors';
import { fingerprintOf } from '../../lambdas/core/fingerprint';
import { redactText, registerSecret } from '../../lambdas/core/redaction';
import { resolveSecretContext } from '../../lambdas/core/secret-context';
import { credentialStrings, describeIssues, secretValueSchema, tryParseSecretValue, type ManagedSecretValue } from '../../lambdas/core/secret-value';
import { submitKey, submitWithAdminToken } from '../../lambdas/core/submit';
import { respondToCompromise } from '../../lambdas/core/compromise';
import { assertFitsSecret, verifyWithPropagation } from '../../lambdas/core/verification';
import { SILENT_LOGGER } from '../../lambdas/ports/logger';
import { EXIT, readSecretInput, UsageError, type CliIo } from './io';
import { rotateCommand, ROTATE_USAGE, statusCommand, STATUS_USAGE, EXIT_ATTENTION } from './operate';
import { awsOptions, DEFAULT_CLI_DEPS, DEFAULT_EVENT_BUS, ledgerFor, parse, printer, type CliDeps } from './shared';

export { DEFAULT_CLI_DEPS, DEFAULT_EVENT_BUS, DEFAULT_LEDGER_TABLE, type CliDeps } from './shared';

export const MAIN_USAGE = `keyrotor — operate keyrotor-managed credentials

Usage: npx keyrotor <command> [options]

Commands:
  status               every managed key: fingerprint, age, next rotation, expiry, last
                       outcome, what needs attention (exit ${EXIT_ATTENTION} when something does)
  rotate <secret-id>   start a rotation now
  rotate --all [--provider P] [--environment E] [--rate N] [--dry-run] [--yes]
                       start rotations of many secrets, paced under Secrets Manager's quotas
  submit <secret-id>   hand over a key a person created in the platform's admin panel
                       (--expires-at DATE for Thinkific; --admin-token for Thrive)
  history <secret-id>  what keyrotor did to a secret, from the ledger
  verify <secret-id>   check a managed secret's current key live
  compromised <secret-id> [--reason TEXT] [--revoke-now] [--fingerprint F]
                       a key leaked: revoke it as fast as the platform allows, start
                       its replacement, alert (CRITICAL)
  verify --provider P --base-url URL --environment E
                       check a credential given on stdin, without touching AWS

Global options:
  --json               machine-readable output on stdout
  --region R           AWS region (default: the SDK's, e.g. AWS_REGION)
  --profile P          AWS profile (default: the SDK's, e.g. AWS_PROFILE)
  --ledger-table T     ledger table (default: KEYROTOR_LEDGER_TABLE or ${'keyrotor-ledger'})
  -h, --help           show help (also: npx keyrotor <command> --help)

Secrets are read only from stdin or a hidden prompt, never from arguments.
Exit status: 0 success, 1 failure (reason on stderr), 2 usage error, 3 (status) something needs attention.`;

const SUBMIT_USAGE = `Usage: npx keyrotor submit <secret-id> [--expires-at DATE] [--json] [--region R] [--profile P]
       npx keyrotor submit <secret-id> --admin-token --correlation-id ID   (Thrive)

Hands over a key that a person created in the platform's admin panel. The key is read from
stdin (pipe it) or a hidden prompt: a raw key, or the JSON the secret holds for multi-part
credentials. keyrotor checks its format and environment, verifies it with a live read-only
call, stores it as AWSPENDING and starts the rotation that tests and promotes it. The current
key keeps working throughout.

  --expires-at DATE    the expiry date chosen in the admin panel (YYYY-MM-DD or ISO 8601;
                       required for Thinkific)
  --admin-token        Thrive: read a Thrive admin bearer token (valid 60 minutes) from stdin
                       or the prompt instead of a key; keyrotor creates the new API key with
                       it (the token is used once and never stored)
  --correlation-id ID  Thrive: the Correlation-Id copied with the admin token

Examples:
  npx keyrotor submit keyrotor/acme-prod          # prompts for the key
  pbpaste | npx keyrotor submit keyrotor/acme-prod
  npx keyrotor submit keyrotor/thinkific-prod --expires-at 2027-11-30
  npx keyrotor submit keyrotor/thrive-prod --admin-token --correlation-id 6f1c…`;

const COMPROMISED_USAGE = `Usage: npx keyrotor compromised <secret-id> [--reason TEXT] [--revoke-now] [--fingerprint F]
                                   [--json] [--event-bus B] [--ledger-table T] [--region R] [--profile P]

Responds to a leaked key at once (the same response a KeyCompromised event on keyrotor's bus
starts), records it in the ledger and publishes a CRITICAL KeyCompromised event:

  Imburse, Boss Insights   keyrotor starts a rotation now and revokes the leaked key by API the
                           moment its replacement is AWSCURRENT (no grace period).
  Thought Industries,      the platform has no revocation API: remove the key in the admin panel
  Thinkific, Thrive        now, then hand over a new one (npx keyrotor submit); keyrotor prints how.

  --reason TEXT        why the key is believed compromised (recorded, redacted)
  --revoke-now         revoke the AWSCURRENT key by API at once, before a replacement exists.
                       Applications fail until a new key is handed over, and keyrotor can no
                       longer create one by API (it authenticates with that key).
  --fingerprint F      the leaked key's fingerprint (…XXXX#hhhhhhhh, as keyrotor prints it);
                       names an AWSPREVIOUS key still in its grace period (revoked at once).
                       Default: the AWSCURRENT key.
  --event-bus B        keyrotor's bus (default: KEYROTOR_EVENT_BUS or keyrotor)

Exit status: 0 when the response is complete, 1 when something is left for a person (printed).`;

const HISTORY_USAGE = `Usage: npx keyrotor history <secret-id> [--json] [--ledger-table T] [--region R] [--profile P]

Prints the ledger of a secret, oldest first: every rotation's intent, the keys created,
stored, tested, promoted and revoked, with fingerprints (never key material).`;

const VERIFY_USAGE = `Usage:
  npx keyrotor verify <secret-id> [--json] [--region R] [--profile P]
  npx keyrotor verify --provider P --base-url URL --environment production|sandbox [--json]

The first form checks the secret's AWSCURRENT key live. The second checks a credential given
on stdin (a raw key, or the JSON the secret would hold) without touching AWS.
Providers: ${PROVIDER_IDS.join(', ')}. Exit 0 = valid, 1 = not (with the reason).`;


/** Runs the CLI; returns the exit status. Never throws. */
export async function main(argv: readonly string[], io: CliIo, deps: CliDeps = DEFAULT_CLI_DEPS): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout.write(`${MAIN_USAGE}\n`);
        return command === undefined ? EXIT.usage : EXIT.ok;
      case 'submit':
        return await submitCommand(rest, io, deps);
      case 'verify':
        return await verifyCommand(rest, io, deps);
      case 'history':
        return await historyCommand(rest, io, deps);
      case 'compromised':
        return await compromisedCommand(rest, io, deps);
      case 'status':
        return await statusCommand(rest, io, deps);
      case 'rotate':
        return await rotateCommand(rest, io, deps);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    return report(error, io, command);
  }
}

function report(error: unknown, io: CliIo, command: string | undefined): number {
  // parseArgs reports bad options as errors with an ERR_PARSE_ARGS_* code.
  // (Duck-typed: Node's own errors need not share this realm's Error, e.g. under jest.)
  const parseArgsError = typeof error === 'object' && error !== null && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS');
  if (error instanceof UsageError || parseArgsError) {
    const usage: Record<string, string> = { submit: SUBMIT_USAGE, verify: VERIFY_USAGE, history: HISTORY_USAGE, compromised: COMPROMISED_USAGE, status: STATUS_USAGE, rotate: ROTATE_USAGE };
    io.stderr.write(`keyrotor: ${redactText((error as Error).message)}\n${usage[command ?? ''] ?? 'Run npx keyrotor --help for usage.'}\n`);
    return EXIT.usage;
  }
  const name = typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : 'Error';
  const message = typeof error === 'object' && error !== null && 'message' in error ? String(error.message) : String(error);
  const hint = error instanceof KeyrotorError ? '' : ' (check AWS credentials, region and the secret id)';
  io.stderr.write(`keyrotor: ${name}: ${redactText(message)}${hint}\n`);
  return EXIT.failed;
}


async function submitCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parse(args, {
    'expires-at': { type: 'string' },
    'admin-token': { type: 'boolean' },
    'correlation-id': { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(`${SUBMIT_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError('submit takes exactly one <secret-id>; the key itself is read from stdin or a prompt');
  const [secretId] = positionals as [string];
  const adminToken = values['admin-token'] === true;
  const correlationId = values['correlation-id'] as string | undefined;
  if (adminToken && !correlationId) throw new UsageError('--admin-token needs --correlation-id (copied with the token from the browser)');
  if (!adminToken && correlationId) throw new UsageError('--correlation-id goes with --admin-token');
  const submitDeps = {
    store: deps.store(awsOptions(values)),
    ledger: ledgerFor(values, io, deps),
    providers: deps.providers,
    logger: SILENT_LOGGER,
    propagation: deps.propagation,
    now: deps.now,
  };
  const result = adminToken
    ? await submitWithAdminToken(
        secretId,
        stripBearer(await readSecretInput(io, `Thrive admin token for ${secretId} (input hidden): `)),
        correlationId as string,
        submitDeps,
      )
    : await submitKey(secretId, await readSecretInput(io, `New key for ${secretId} (input hidden): `), submitDeps, {
        ...(values['expires-at'] ? { expiresAt: values['expires-at'] as string } : {}),
      });
  printer(io, values.json === true).result(
    `submitted ${result.fingerprint} for ${result.secretName}: verified (${result.checked}), stored as AWSPENDING, rotation ${result.token} started.` +
      (result.previousFingerprint ? `\nOnce the rotation has finished and readers have picked it up, remove the old key ${result.previousFingerprint} in the admin panel.` : ''),
    { ok: true, command: 'submit', ...result },
  );
  return EXIT.ok;
}

async function compromisedCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parse(args, {
    reason: { type: 'string' },
    'revoke-now': { type: 'boolean' },
    fingerprint: { type: 'string' },
    'event-bus': { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(`${COMPROMISED_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError('compromised takes exactly one <secret-id>');
  const [secretId] = positionals as [string];
  const busName = (values['event-bus'] as string | undefined) ?? io.env.KEYROTOR_EVENT_BUS ?? DEFAULT_EVENT_BUS;
  const outcome = await respondToCompromise(
    {
      secretId,
      reportedBy: 'keyrotor compromised',
      ...(values.reason === undefined ? {} : { reason: values.reason as string }),
      ...(values['revoke-now'] === true ? { revokeNow: true } : {}),
      ...(values.fingerprint === undefined ? {} : { fingerprint: values.fingerprint as string }),
    },
    {
      store: deps.store(awsOptions(values)),
      providers: deps.providers,
      ledger: ledgerFor(values, io, deps),
      logger: SILENT_LOGGER,
      now: deps.now,
      newToken: randomUUID,
      events: deps.events({ ...awsOptions(values), busName }),
    },
  );
  printer(io, values.json === true).result(
    `${outcome.secretName}: ${outcome.stage} key ${outcome.fingerprint} reported compromised.\nDone: ${outcome.done}\nStill to do:\n${outcome.action}`,
    { ok: true, command: 'compromised', ...outcome },
  );
  return EXIT.ok;
}

/** People paste the whole header value; the token is what follows "Bearer ". */
function stripBearer(input: string): string {
  return input.trim().replace(/^Bearer\s+/i, '');
}

async function historyCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parse(args);
  if (values.help) {
    io.stdout.write(`${HISTORY_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError('history takes exactly one <secret-id>');
  const [secretId] = positionals as [string];
  // The ledger is keyed by ARN: resolve a name first.
  const metadata = await deps.store(awsOptions(values)).describe(secretId);
  const events = await ledgerFor(values, io, deps).history(metadata.arn);
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ secret: metadata.name, arn: metadata.arn, events })}\n`);
    return EXIT.ok;
  }
  if (events.length === 0) {
    io.stdout.write(`${metadata.name}: no rotations recorded yet\n`);
    return EXIT.ok;
  }
  const rows = events.map((e) => [e.at, e.state, e.fingerprint ?? '', e.providerKeyId ?? '', e.actor ?? '', e.token, e.detail ?? '']);
  const header = ['time', 'state', 'fingerprint', 'provider key', 'actor', 'rotation', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  io.stdout.write(`${metadata.name}\n${line(header)}\n${rows.map(line).join('\n')}\n`);
  return EXIT.ok;
}

async function verifyCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parse(args, {
    provider: { type: 'string' },
    'base-url': { type: 'string' },
    environment: { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(`${VERIFY_USAGE}\n`);
    return EXIT.ok;
  }
  const offline = values.provider !== undefined || values['base-url'] !== undefined || values.environment !== undefined;
  let value: ManagedSecretValue;
  let label: string;
  if (offline) {
    if (positionals.length > 0) throw new UsageError('give either <secret-id> or --provider/--base-url/--environment, not both');
    value = await credentialFromStdin(values, io, deps);
    label = `${value.provider} ${value.environment} credential`;
  } else {
    if (positionals.length !== 1) throw new UsageError('verify takes one <secret-id>, or --provider, --base-url and --environment with the credential on stdin');
    const [secretId] = positionals as [string];
    const store = deps.store(awsOptions(values));
    const metadata = await store.describe(secretId);
    const current = tryParseSecretValue(await store.getValue(metadata.arn, { stage: STAGE.current }));
    if (!current) {
      throw new ValidationError(`current value of ${metadata.name}`, ['holds no managed credential yet; hand one over with npx keyrotor submit']);
    }
    registerSecret(...credentialStrings(current));
    const context = resolveSecretContext(metadata, current);
    value = { ...current, provider: context.provider, environment: context.environment, baseUrl: context.baseUrl } as ManagedSecretValue;
    label = metadata.name;
  }

  const provider = deps.providers.get(value.provider);
  const fingerprint = fingerprintOf(credentialStrings(value)[0] ?? '');
  const out = printer(io, values.json === true);
  try {
    assertFitsSecret(provider, value, value);
    // A one-off check: no propagation wait, the person can rerun it.
    const result = await verifyWithPropagation(provider, value, value, { ...deps.propagation, attempts: 1 }, SILENT_LOGGER);
    out.result(`valid: ${label} key ${fingerprint} (${result.checked})`, { valid: true, subject: label, fingerprint, checked: result.checked });
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof KeyrotorError)) throw error;
    const reason = redactText(error.message);
    out.result(`invalid: ${label} key ${fingerprint}: ${reason}`, {
      valid: false,
      subject: label,
      fingerprint,
      reason,
      errorName: error.name,
      ...(error instanceof ProviderAuthError ? { platformMessage: error.platformMessage } : {}),
    });
    return EXIT.failed;
  }
}

async function credentialFromStdin(values: Record<string, unknown>, io: CliIo, deps: CliDeps): Promise<ManagedSecretValue> {
  const problems: string[] = [];
  const providerId = values.provider as string | undefined;
  const baseUrl = values['base-url'] as string | undefined;
  const environment = values.environment as string | undefined;
  if (!providerId) problems.push('--provider is required');
  else if (!PROVIDER_IDS.includes(providerId as ProviderId)) problems.push(`--provider must be one of ${PROVIDER_IDS.join(', ')}`);
  if (!baseUrl) problems.push('--base-url is required');
  else {
    const problem = baseUrlProblem(baseUrl);
    if (problem) problems.push(`--base-url ${problem}`);
  }
  if (!environment) problems.push('--environment is required');
  else if (!ENVIRONMENTS.includes(environment as Environment)) problems.push('--environment must be production or sandbox');
  if (problems.length > 0) throw new UsageError(problems.join('; '));

  const provider = deps.providers.get(providerId as ProviderId);
  const input = await readSecretInput(io, `${provider.displayName} credential (input hidden): `);
  const credential = provider.parseSubmission(input, { verifyOnly: true });
  const parsed = secretValueSchema.safeParse({ ...credential, provider: providerId, environment, baseUrl: normaliseBaseUrl(baseUrl as string) });
  if (!parsed.success) throw new ValidationError('credential', describeIssues(parsed.error.issues));
  registerSecret(...credentialStrings(parsed.data));
  return parsed.data;
}
