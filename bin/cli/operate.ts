import { randomUUID } from 'node:crypto';
import { ENVIRONMENTS, PROVIDER_IDS, TAG, type Environment, type ProviderId } from '../../lambdas/core/contracts';
import { DEFAULT_ROTATIONS_PER_SECOND, MAX_ROTATIONS_PER_SECOND, rotateFleet, selectSecrets, type FleetOutcome } from '../../lambdas/core/fleet-rotation';
import { collectStatus, type StatusRow } from '../../lambdas/core/status';
import { EXIT, UsageError, type CliIo } from './io';
import { awsOptions, ledgerFor, parse, printer, type CliDeps } from './shared';

/** Exit status of `status` when something needs a person (distinct from a failure to run, 1). */
export const EXIT_ATTENTION = 3;

export const STATUS_USAGE = `Usage: npx keyrotor status [--json] [--ledger-table T] [--region R] [--profile P]

One line per managed API key: provider, environment, key fingerprint, age, next rotation,
expiry, last outcome, and what needs attention (overdue, expiring within 14 days, a key to hand
over or remove, a failed or refused step, a compromise not yet resolved). Colours only on a
terminal (NO_COLOR turns them off). Reads the listing, each secret's current value (for the
fingerprint; never printed) and the ledger.

Exit status: 0 all well, ${EXIT_ATTENTION} something needs attention, 1 the status could not be read.`;

export const ROTATE_USAGE = `Usage: npx keyrotor rotate <secret-id> [--json] [--region R] [--profile P]
       npx keyrotor rotate --all [--provider P] [--environment E] [--rate N] [--dry-run] [--yes] [--json]

Starts a rotation now (Secrets Manager's RotateSecret), as the schedule would. For Imburse and
Boss Insights keyrotor creates, verifies and promotes the new key; for platforms where a person
creates keys the rotation waits for \`npx keyrotor submit\`. Follow it with \`npx keyrotor history\`.

Fleet (--all, narrowed by --provider and --environment): starts a rotation of every matching
secret whose keys keyrotor creates by API, paced at --rate rotations per second (default
${DEFAULT_ROTATIONS_PER_SECOND}, at most ${MAX_ROTATIONS_PER_SECOND}: every rotation makes about two writes against Secrets Manager's
50 writes per second per account and region, which applications share). Secrets with a rotation
already open are left to it; secrets whose keys a person creates are listed, not rotated.
Progress goes to stderr. Asks before starting unless --yes (required when stdin is not a
terminal). --dry-run lists what would be rotated.

Exit status: 0 every rotation started, 1 any failed (listed), 2 usage error.`;

/** SGR colours, used only when stdout is a terminal and NO_COLOR is unset. */
const COLOUR = { red: '\u001b[31m', yellow: '\u001b[33m', green: '\u001b[32m', dim: '\u001b[2m', reset: '\u001b[0m' } as const;

function useColour(io: CliIo): boolean {
  return io.stdout.isTTY === true && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
}

export async function statusCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parse(args);
  if (values.help) {
    io.stdout.write(`${STATUS_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError('status takes no arguments (it lists every managed secret)');
  const rows = await collectStatus({
    inventory: deps.inventory(awsOptions(values)),
    ledger: ledgerFor(values, io, deps),
    providers: deps.providers,
    now: deps.now,
  });
  const needsAttention = rows.filter((row) => row.attention.length > 0).length;
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ secrets: rows, needsAttention })}\n`);
  } else {
    io.stdout.write(renderStatus(rows, deps.now(), useColour(io)));
  }
  return needsAttention > 0 ? EXIT_ATTENTION : EXIT.ok;
}

/** The status table, then one line per reason for attention. */
export function renderStatus(rows: readonly StatusRow[], now: Date, colour: boolean): string {
  if (rows.length === 0) return 'no managed secrets found (keyrotor:kind=api-key) in this account and region\n';
  const paint = (code: string, text: string) => (colour ? `${code}${text}${COLOUR.reset}` : text);
  const header = ['secret', 'provider', 'env', 'fingerprint', 'age', 'next rotation', 'expires', 'last outcome', 'state'];
  const cells = rows.map((row) => [
    row.secret,
    row.provider,
    row.environment === 'production' ? 'prod' : row.environment,
    row.fingerprint ?? '-',
    row.ageDays === undefined ? '-' : `${row.ageDays}d`,
    row.nextRotation ? relativeDay(row.nextRotation, now) : '-',
    row.expiresAt ? relativeDay(row.expiresAt, now) : '-',
    row.lastOutcome ? `${row.lastOutcome.state} ${row.lastOutcome.at.slice(0, 10)}` : '-',
    row.attention.length > 0 ? 'ATTENTION' : row.rotationInProgress ? 'rotating' : 'ok',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const body = cells.map((c, index) => {
    const text = line(c);
    const row = rows[index] as StatusRow;
    if (row.attention.length === 0) return row.rotationInProgress ? paint(COLOUR.yellow, text) : text;
    return paint(COLOUR.red, text);
  });
  const reasons = rows.flatMap((row) => row.attention.map((reason) => `  ${paint(COLOUR.red, '!')} ${row.secret}: ${reason}`));
  const summary = reasons.length === 0 ? paint(COLOUR.green, `all ${rows.length} managed keys are fine`) : `${rows.filter((r) => r.attention.length > 0).length} of ${rows.length} need attention:`;
  return `${paint(COLOUR.dim, line(header))}\n${body.join('\n')}\n\n${summary}\n${reasons.join('\n')}${reasons.length > 0 ? '\n' : ''}`;
}

/** `2026-12-01 (in 8d)`, `2026-11-20 (3d ago)`. */
function relativeDay(iso: string, now: Date): string {
  const days = Math.round((Date.parse(iso) - now.getTime()) / 86_400_000);
  return `${iso.slice(0, 10)} (${days >= 0 ? `in ${days}d` : `${-days}d ago`})`;
}

export async function rotateCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parse(args, {
    all: { type: 'boolean' },
    provider: { type: 'string' },
    environment: { type: 'string' },
    rate: { type: 'string' },
    'dry-run': { type: 'boolean' },
    yes: { type: 'boolean', short: 'y' },
  });
  if (values.help) {
    io.stdout.write(`${ROTATE_USAGE}\n`);
    return EXIT.ok;
  }
  const out = printer(io, values.json === true);
  if (values.all !== true) {
    if (values.provider !== undefined || values.environment !== undefined || values.rate !== undefined || values['dry-run'] !== undefined) {
      throw new UsageError('--provider, --environment, --rate and --dry-run go with --all');
    }
    if (positionals.length !== 1) throw new UsageError('rotate takes one <secret-id>, or --all for a fleet');
    const [secretId] = positionals as [string];
    const store = deps.store(awsOptions(values));
    const metadata = await store.describe(secretId);
    const token = randomUUID();
    await store.startRotation(metadata.arn, token);
    const providerId = metadata.tags[TAG.provider] as ProviderId | undefined;
    const byPerson = providerId !== undefined && PROVIDER_IDS.includes(providerId) && !deps.providers.get(providerId).capabilities.issueByApi;
    out.result(
      `rotation ${token} of ${metadata.name} started.` +
        (byPerson ? `\nA person creates these keys: the rotation waits for one (npx keyrotor submit ${metadata.name}).` : '') +
        `\nFollow it: npx keyrotor history ${metadata.name}`,
      { ok: true, command: 'rotate', secret: metadata.name, token, waitsForPerson: byPerson },
    );
    return EXIT.ok;
  }

  if (positionals.length > 0) throw new UsageError('--all takes no <secret-id>');
  const problems: string[] = [];
  const provider = values.provider as string | undefined;
  const environment = values.environment as string | undefined;
  if (provider !== undefined && !PROVIDER_IDS.includes(provider as ProviderId)) problems.push(`--provider must be one of ${PROVIDER_IDS.join(', ')}`);
  if (environment !== undefined && !ENVIRONMENTS.includes(environment as Environment)) problems.push('--environment must be production or sandbox');
  const rate = values.rate === undefined ? DEFAULT_ROTATIONS_PER_SECOND : Number(values.rate);
  if (!(rate > 0 && rate <= MAX_ROTATIONS_PER_SECOND)) problems.push(`--rate must be a number above 0 and at most ${MAX_ROTATIONS_PER_SECOND}`);
  if (problems.length > 0) throw new UsageError(problems.join('; '));

  const inventory = deps.inventory(awsOptions(values));
  const selected = await selectSecrets(inventory, { ...(provider ? { provider: provider as ProviderId } : {}), ...(environment ? { environment: environment as Environment } : {}) });
  const scope = [provider, environment].filter(Boolean).join(' ') || 'all';
  if (selected.length === 0) {
    out.result(`no managed secrets match (${scope})`, { ok: true, command: 'rotate', selected: 0, outcomes: [] });
    return EXIT.ok;
  }
  if (values['dry-run'] === true) {
    out.result(`would start a rotation of ${selected.length} secrets (${scope}), at ${rate}/s:\n${selected.map((s) => `  ${s.name}`).join('\n')}`, {
      ok: true,
      command: 'rotate',
      dryRun: true,
      secrets: selected.map((s) => s.name),
    });
    return EXIT.ok;
  }
  if (values.yes !== true) {
    if (!io.stdin.isTTY) throw new UsageError(`--all would rotate ${selected.length} secrets; add --yes to confirm (stdin is not a terminal)`);
    io.stderr.write(`Start a rotation of ${selected.length} secrets (${scope}) at ${rate}/s? [y/N] `);
    const answer = await readLine(io);
    if (!/^y(es)?$/i.test(answer.trim())) {
      io.stderr.write('nothing started\n');
      return EXIT.ok;
    }
  }

  const started = Date.now();
  const outcomes = await rotateFleet(selected, rate, {
    inventory,
    store: deps.store(awsOptions(values)),
    providers: deps.providers,
    newToken: randomUUID,
    onProgress: ({ done, total, last }) => {
      const line = `[${done}/${total}] ${last.secret}: ${last.outcome}${'reason' in last ? ` (${last.reason})` : ''}`;
      io.stderr.write(io.stderr.isTTY ? `\r\u001b[2K${line}` : `${line}\n`);
    },
  });
  if (io.stderr.isTTY) io.stderr.write('\n');
  const count = (kind: FleetOutcome['outcome']) => outcomes.filter((o) => o.outcome === kind);
  const failed = count('failed');
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  out.result(
    `started ${count('started').length}, already rotating ${count('in-progress').length}, need a person ${count('needs-a-person').length}, failed ${failed.length} (${seconds} s)` +
      failed.map((f) => `\n  failed: ${f.secret}${'reason' in f ? ` (${f.reason})` : ''}`).join('') +
      count('needs-a-person').map((f) => `\n  needs a person: ${f.secret} (npx keyrotor submit ${f.secret})`).join(''),
    { ok: failed.length === 0, command: 'rotate', selected: selected.length, outcomes },
  );
  return failed.length === 0 ? EXIT.ok : EXIT.failed;
}

async function readLine(io: CliIo): Promise<string> {
  return new Promise((resolve) => {
    io.stdin.setEncoding?.('utf8');
    io.stdin.once('data', (chunk: string | Buffer) => resolve(String(chunk)));
    io.stdin.resume();
  });
}
