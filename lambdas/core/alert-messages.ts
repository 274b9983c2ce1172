import { ROTATION_STEPS, type ProviderId } from './contracts';
import type { EventType, KeyrotorEvent } from './events';
import { redactText } from './redaction';
import type { Alert, Severity } from '../ports/notifier';

/**
 * Turns keyrotor's events, and Secrets Manager's own rotation events, into alerts a person can
 * act on without opening the code: what happened, what keyrotor already did, what to do next
 * (the admin-panel path and the exact `npx keyrotor` command), the facts that identify the key
 * and a runbook. Pure: no I/O, no clock, and nothing here ever holds a secret value (event
 * details are validated and redacted by `buildEvent`; every text is redacted again on the way out).
 */

/** Where the runbooks live, relative to the repository root. */
export const RUNBOOK_DIRECTORY = 'docs/runbooks';

/** The runbooks an alert links to (`docs/runbooks/<name>.md`). */
export const RUNBOOKS = {
  rotationFailed: 'rotation-failed',
  manualActionRequired: 'manual-action-required',
  keyCompromised: 'key-compromised',
  keyRevokedExternally: 'key-revoked-externally',
  tokenRefreshFailing: 'token-refresh-failing',
} as const;
export type RunbookName = (typeof RUNBOOKS)[keyof typeof RUNBOOKS];

/** How alerts are rendered. */
export interface AlertOptions {
  /**
   * Where the repository's files are browsable, e.g. `https://github.com/acme/keyrotor/blob/main`;
   * an alert then shows `<runbookBaseUrl>/docs/runbooks/<name>.md` beside the repo-relative path.
   * @default undefined (the repo-relative path only)
   */
  readonly runbookBaseUrl?: string;
}

/** SNS's limit for a subject (printable ASCII, one line). */
export const MAX_SUBJECT_LENGTH = 100;

/**
 * Events that only alert when their publisher raised them above INFO; at INFO they go to the bus
 * (security tools, the archive) but would only be noise in a person's inbox.
 */
export const QUIET_EVENT_TYPES: readonly EventType[] = ['RotationStarted', 'RotationSucceeded', 'TokenRefreshed'];

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { INFO: 0, WARNING: 1, CRITICAL: 2 };

/** How to reach each platform's keys by hand: admin-panel paths and hand-over commands (from the providers' own `manual` texts). */
interface PlatformGuide {
  readonly name: string;
  /** keyrotor creates the next key itself by API, authenticated with the current key. */
  readonly issuesByApi: boolean;
  /** keyrotor revokes the old key itself by API after the grace period. */
  readonly revokesByApi: boolean;
  /** Where a person makes a new key and how to hand it over. */
  newKey(secret: string): string;
  /** Where a person removes (revokes) a key. */
  removeKey(fingerprint: string): string;
}

/** Admin-panel paths; test/unit/lambdas/core/alert-messages.test.ts checks them against each provider's `manual` texts. */
export const ADMIN_PATHS: Readonly<Record<ProviderId, string>> = {
  'thought-industries': 'Settings → Security/API Keys',
  thinkific: 'Settings → Code & analytics → API Access Tokens',
  thrive: 'DevTools → Network → the user?AuthorityToken request → its Authorization and Correlation-Id request headers',
  'boss-insights': 'API → API Keys',
  imburse: 'Imburse portal → the tenant → API Keys',
};

const HIDDEN = '(paste it at the hidden prompt or pipe it on stdin, never as an argument)';

const PLATFORMS: Readonly<Record<ProviderId, PlatformGuide>> = {
  'thought-industries': {
    name: 'Thought Industries',
    issuesByApi: false,
    revokesByApi: false,
    newKey: (secret) =>
      `Create a new API key in the Thought Industries admin panel (${ADMIN_PATHS['thought-industries']}) with the same role as the current key ` +
      `(production keys start with ti_live_, sandbox keys with ti_test_), then hand it over: npx keyrotor submit ${secret}   ${HIDDEN}.`,
    removeKey: (fingerprint) => `Remove the API key ${fingerprint} in the Thought Industries admin panel (${ADMIN_PATHS['thought-industries']}).`,
  },
  thinkific: {
    name: 'Thinkific',
    issuesByApi: false,
    revokesByApi: false,
    newKey: (secret) =>
      `In the Thinkific Admin Dashboard open ${ADMIN_PATHS.thinkific} → Add API access token (a unique name and an expiry date); ` +
      `the token is shown only once, so hand it over straight away: npx keyrotor submit ${secret} --expires-at YYYY-MM-DD   ${HIDDEN}.`,
    removeKey: (fingerprint) => `Click Remove next to the token ${fingerprint} in the Thinkific Admin Dashboard (${ADMIN_PATHS.thinkific}); removal cuts its access at once.`,
  },
  thrive: {
    name: 'Thrive',
    issuesByApi: false,
    revokesByApi: false,
    newKey: (secret) =>
      `Signed in to Thrive as an admin, copy your admin token and Correlation-Id (your Thrive Learn page → ${ADMIN_PATHS.thrive}; the token lasts 60 minutes), ` +
      `then run straight away: npx keyrotor submit ${secret} --admin-token --correlation-id <Correlation-Id>   (paste the admin token at the hidden prompt); ` +
      `keyrotor creates the new key itself. A key made elsewhere is handed over with npx keyrotor submit ${secret}.`,
    removeKey: (fingerprint) => `Thrive keys cannot be revoked by keyrotor (Thrive offers no API for it): ask Thrive support or your Thrive admin to revoke the key ${fingerprint}.`,
  },
  'boss-insights': {
    name: 'Boss Insights',
    issuesByApi: true,
    revokesByApi: true,
    newKey: (secret) =>
      `In the Boss Insights Administration Portal open ${ADMIN_PATHS['boss-insights']} → Add API Key with the same scopes as the current key (admin included) and Active = Yes, ` +
      `copy the key from the green banner (it is shown once), then hand it over: npx keyrotor submit ${secret}   ` +
      `(paste {"apiKey":"…","accountKey":"…","providerKeyId":"…"} at the hidden prompt or pipe it on stdin).`,
    removeKey: (fingerprint) => `In the Boss Insights Administration Portal open ${ADMIN_PATHS['boss-insights']}, select the key ${fingerprint}, set Active = No and Save Changes.`,
  },
  imburse: {
    name: 'Imburse',
    issuesByApi: true,
    revokesByApi: true,
    newKey: (secret) =>
      `In the ${ADMIN_PATHS.imburse} create a Tenant API key with the same roles as the current one (tenant-admin, so keyrotor can rotate it by API next time); ` +
      `copy the private key at once, it is shown only once. Then hand it over: npx keyrotor submit ${secret}   ` +
      `(paste {"tenantId":"…","publicKey":"…","privateKey":"…"} at the hidden prompt or pipe it on stdin).`,
    removeKey: (fingerprint) => `In the ${ADMIN_PATHS.imburse} delete the key ${fingerprint}.`,
  },
};

/** The platform's display name, e.g. `Thought Industries`. */
export function platformName(provider: ProviderId): string {
  return PLATFORMS[provider].name;
}

/** `docs/runbooks/<name>.md`. */
export function runbookPath(name: RunbookName): string {
  return `${RUNBOOK_DIRECTORY}/${name}.md`;
}

/** The runbook's URL under `runbookBaseUrl`, or undefined without one. */
export function runbookUrl(name: RunbookName, runbookBaseUrl: string | undefined): string | undefined {
  if (!runbookBaseUrl) return undefined;
  return `${runbookBaseUrl.replace(/\/+$/, '')}/${runbookPath(name)}`;
}

/**
 * A secret's name from its ARN (`arn:…:secret:keyrotor/acme-prod-AbCdEf` → `keyrotor/acme-prod`):
 * Secrets Manager's own events carry ARNs, keyrotor's carry names, and people read names.
 * Anything that is not a Secrets Manager ARN is returned as it is.
 */
export function secretNameOf(secret: string): string {
  const match = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+)$/.exec(secret);
  if (!match?.[1]) return secret;
  // Secrets Manager appends a hyphen and six random characters to the name in the ARN.
  return match[1].replace(/-[A-Za-z0-9]{6}$/, '');
}

/** Makes text printable on one line (SNS subjects, chat previews): no control characters. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
}

/** SNS accepts printable ASCII only; ellipses become three dots, anything else a question mark. */
function ascii(text: string): string {
  return text.replace(/…/g, '...').replace(/[^\x20-\x7e]/g, '?');
}

/**
 * `[SEVERITY] keyrotor: <what> - <secret>`, printable ASCII and at most 100 characters, so SNS
 * passes it unchanged. A long secret name is shortened from the left: its end names the credential.
 */
export function alertSubject(severity: Severity, what: string, secret: string): string {
  // Redact before measuring: a replacement changes the length.
  const head = `[${severity}] keyrotor: ${ascii(oneLine(redactText(what)))} - `;
  const name = ascii(oneLine(redactText(secretNameOf(secret)))) || '(unknown secret)';
  const room = MAX_SUBJECT_LENGTH - head.length;
  if (room < 8) return `${head}${name}`.slice(0, MAX_SUBJECT_LENGTH);
  return `${head}${name.length > room ? `...${name.slice(-(room - 3))}` : name}`;
}

/** One labelled line of the details block. */
function fact(label: string, value: string | number | undefined): string[] {
  return value === undefined || value === '' ? [] : [`${`${label}:`.padEnd(14)}${value}`];
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

/** The alert's body: fixed sections so a person (and a chat bot) always finds the same things in the same place. */
function renderBody(parts: {
  headline: string;
  happened: string;
  done: string;
  next: string;
  facts: string[];
  runbook: RunbookName | undefined;
  options: AlertOptions;
}): string {
  const url = parts.runbook ? runbookUrl(parts.runbook, parts.options.runbookBaseUrl) : undefined;
  const runbook = parts.runbook ? ['', 'Runbook', `  ${runbookPath(parts.runbook)}`, ...(url ? [`  ${url}`] : [])] : [];
  const lines = [
    parts.headline,
    '',
    'What happened',
    indent(parts.happened),
    '',
    'What keyrotor already did',
    indent(parts.done),
    '',
    'What you must do next',
    indent(parts.next),
    '',
    'Details',
    ...parts.facts.map((line) => `  ${line}`),
    ...runbook,
    '',
    'This message never contains a key or token: keys are identified by fingerprint (last four characters and a hash prefix).',
  ];
  return redactText(lines.join('\n'));
}

function cli(secret: string): { verify: string; history: string; rotate: string } {
  return {
    verify: `npx keyrotor verify ${secret}`,
    history: `npx keyrotor history ${secret}`,
    rotate: `aws secretsmanager rotate-secret --secret-id ${secret}`,
  };
}

/** What a person does to get a fresh key into the secret, for this platform. */
function newKeyInstructions(provider: ProviderId, secret: string): string {
  const platform = PLATFORMS[provider];
  const { rotate } = cli(secret);
  return platform.issuesByApi
    ? `Start a rotation: ${rotate} (keyrotor creates the new ${platform.name} key by API with the current key). ` +
        `If the current key no longer works, keyrotor cannot create one: make it by hand instead. ${platform.newKey(secret)}`
    : platform.newKey(secret);
}

const RUNBOOK_OF: Readonly<Record<EventType, RunbookName | undefined>> = {
  RotationStarted: undefined,
  RotationSucceeded: undefined,
  RotationFailed: RUNBOOKS.rotationFailed,
  ManualActionRequired: RUNBOOKS.manualActionRequired,
  KeyExpiringSoon: RUNBOOKS.manualActionRequired,
  KeyRevoked: undefined,
  KeyRevokedExternally: RUNBOOKS.keyRevokedExternally,
  KeyCompromised: RUNBOOKS.keyCompromised,
  TokenRefreshed: RUNBOOKS.tokenRefreshFailing,
  TokenRefreshFailed: RUNBOOKS.tokenRefreshFailing,
};

/** The short "what" of the subject line. */
function headlineOf(event: KeyrotorEvent): string {
  const { detail } = event;
  switch (event.type) {
    case 'RotationStarted':
      return 'rotation started';
    case 'RotationSucceeded':
      return 'rotation succeeded';
    case 'RotationFailed':
      return detail.step ? `rotation failed at ${detail.step}` : 'rotation failed';
    case 'ManualActionRequired':
      if (detail.step === 'createSecret') return 'action required: create a new key';
      if (detail.step === 'finishSecret') return 'action required: remove the old key';
      return 'action required';
    case 'KeyExpiringSoon':
      return detail.expiresAt ? `key expires ${detail.expiresAt.slice(0, 10)}` : 'key expires soon';
    case 'KeyRevoked':
      return 'old key revoked';
    case 'KeyRevokedExternally':
      return 'key revoked outside keyrotor';
    case 'KeyCompromised':
      return 'key compromised';
    case 'TokenRefreshed':
      return 'token renewed';
    case 'TokenRefreshFailed':
      return 'token renewal failing';
  }
}

/** What keyrotor did, when the event does not say (`detail.done`): only what is always true for the type. */
function defaultDone(event: KeyrotorEvent): string {
  switch (event.type) {
    case 'RotationStarted':
      return 'Started a rotation; the current key keeps working until a new one is verified and promoted.';
    case 'RotationSucceeded':
      return 'Verified the new key and promoted it to AWSCURRENT; the previous key is AWSPREVIOUS.';
    case 'RotationFailed':
      return 'Stopped this step. A failed step never moves AWSCURRENT, so applications keep using the current key; Secrets Manager retries rotation steps.';
    case 'ManualActionRequired':
      return 'Paused the rotation until a person acts. The current key keeps working meanwhile.';
    case 'KeyExpiringSoon':
      return 'Nothing beyond this warning: the key is still current.';
    case 'KeyRevoked':
      return 'Revoked the old key after its grace period and recorded it in the ledger.';
    case 'KeyRevokedExternally':
      return 'Detected that the platform now rejects the current key (HTTP 401). The secret is unchanged.';
    case 'KeyCompromised':
      return 'Raised this alert. The event does not report any automatic revocation or rotation, so assume none happened.';
    case 'TokenRefreshed':
      return 'Renewed the access token and wrote it to its token secret.';
    case 'TokenRefreshFailed':
      return 'Kept the stored token (a failed renewal never overwrites it); the refresher retries on every run.';
  }
}

/** Numbered steps, one per line. */
function steps(...items: string[]): string {
  return items.map((item, index) => `${index + 1}. ${item}`).join('\n');
}

/** What a person must do, when the event does not say (`detail.action`). */
function defaultAction(event: KeyrotorEvent): string {
  const { detail } = event;
  const secret = detail.secret;
  const platform = PLATFORMS[detail.provider];
  const commands = cli(secret);
  const key = detail.fingerprint ? `the key ${detail.fingerprint}` : 'the current key';
  switch (event.type) {
    case 'RotationStarted':
    case 'RotationSucceeded':
    case 'TokenRefreshed':
      return `Nothing, unless the summary above says otherwise. The record is in: ${commands.history}`;
    case 'RotationFailed':
      return steps(
        `Find the cause in the rotation Lambda's logs (search for ${secretNameOf(secret)}${detail.errorName ? ` and ${detail.errorName}` : ''}) and fix it.`,
        `Check the current key still works: ${commands.verify}`,
        platform.issuesByApi
          ? `Secrets Manager retries the rotation; to retry now: ${commands.rotate}`
          : `Secrets Manager retries the rotation; to retry now: ${commands.rotate}, or hand over a new key yourself: ${platform.newKey(secret)}`,
        `Follow it: ${commands.history}`,
      );
    case 'ManualActionRequired':
      if (detail.step === 'finishSecret' && detail.fingerprint) {
        return steps(
          `Wait until every application has picked up the new key (its cache TTL).`,
          platform.removeKey(detail.fingerprint),
          `Check the new key still works: ${commands.verify}`,
        );
      }
      return steps(newKeyInstructions(detail.provider, secret), `Confirm: ${commands.verify}`);
    case 'KeyExpiringSoon':
      return steps(`Rotate before ${detail.expiresAt ?? 'the key expires'}: ${newKeyInstructions(detail.provider, secret)}`, `Confirm: ${commands.verify}`);
    case 'KeyRevoked':
      return `Nothing. Confirm in the ledger: ${commands.history}`;
    case 'KeyRevokedExternally':
      return steps(
        `Applications using ${secretNameOf(secret)} are failing now. Confirm: ${commands.verify}`,
        `Find out who revoked ${key} (the ${platform.name} audit log); if nobody meant to, treat it as compromised (runbook ${RUNBOOKS.keyCompromised}).`,
        `Put a working key in: ${platform.newKey(secret)}`,
        `Confirm: ${commands.verify}`,
      );
    case 'KeyCompromised':
      return steps(
        `Act now. Replace the key: ${newKeyInstructions(detail.provider, secret)}`,
        `Confirm the new key is current: ${commands.verify}`,
        `Revoke ${key} at once, without waiting for the grace period: ${detail.fingerprint ? platform.removeKey(detail.fingerprint) : `remove it in the ${platform.name} admin panel.`}` +
          (platform.revokesByApi ? ' (keyrotor also revokes it by API when the grace period ends; revoking it earlier is safe.)' : ''),
        `Review the ${platform.name} audit log for use of the key and tell your security team.`,
      );
    case 'TokenRefreshFailed':
      return steps(
        `Check the token's source secret (the OAuth client or API key it is minted from) and the platform's status${detail.expiresAt ? `; the stored token is valid until ${detail.expiresAt}` : ''}.`,
        `Fix a revoked or changed client; the refresher recovers on its next run.`,
      );
  }
}

/**
 * The alert for one of keyrotor's events, or undefined when it needs none (RotationStarted,
 * RotationSucceeded and TokenRefreshed at INFO). The event must come from `buildEvent`, which
 * validates and redacts it.
 * @example alertFor(buildEvent('KeyCompromised', detail), { runbookBaseUrl: 'https://github.com/acme/keyrotor/blob/main' })
 */
export function alertFor(event: KeyrotorEvent, options: AlertOptions = {}): Alert | undefined {
  const { detail } = event;
  if (QUIET_EVENT_TYPES.includes(event.type) && SEVERITY_RANK[detail.severity] <= SEVERITY_RANK.INFO) return undefined;
  const platform = PLATFORMS[detail.provider];
  const headline = headlineOf(event);
  const body = renderBody({
    headline: `${detail.severity}: ${headline} - ${detail.secret}`,
    happened: detail.summary,
    done: detail.done ?? defaultDone(event),
    next: detail.action ?? defaultAction(event),
    facts: [
      ...fact('Secret', detail.secret),
      ...fact('Provider', `${platform.name} (${detail.provider})`),
      ...fact('Environment', detail.environment),
      ...fact('Fingerprint', detail.fingerprint),
      ...fact('Rotation', detail.rotation),
      ...fact('Step', detail.step),
      ...fact('Attempt', detail.attempt),
      ...fact('Error', detail.errorName),
      ...fact('Expires at', detail.expiresAt),
      ...fact('Event', `${event.type} (severity ${detail.severity})`),
    ],
    runbook: RUNBOOK_OF[event.type],
    options,
  });
  return { severity: detail.severity, subject: alertSubject(detail.severity, headline, detail.secret), body };
}

/** What keyrotor reads from one of Secrets Manager's service events (source `aws.secretsmanager`). */
export interface SecretsManagerEventFacts {
  /** `detail.eventName`, e.g. `RotationFailed`; undefined when the event has none. */
  readonly eventName: string | undefined;
  /** The secret's ARN or name as the event gives it; undefined when it names none. */
  readonly secret: string | undefined;
  /** The rotation step the failure happened in, when the error message names one. */
  readonly step: string | undefined;
  /** Secrets Manager's error message, redacted and shortened. */
  readonly errorMessage: string | undefined;
  /** When it happened, ISO 8601, if the event says. */
  readonly time: string | undefined;
  readonly region: string | undefined;
  /** CloudTrail's event id, to find the raw record. */
  readonly eventId: string | undefined;
}

/** Secrets Manager events that need a person. */
export const SECRETS_MANAGER_FAILURE_EVENTS = ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'] as const;
/** Secrets Manager events that are routine: they never alert. */
export const SECRETS_MANAGER_ROUTINE_EVENTS = [
  'RotationStarted',
  'RotationSucceeded',
  'StartSecretVersionDelete',
  'CancelSecretVersionDelete',
  'EndSecretVersionDelete',
] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string field, made safe to print: redacted, on one line, bounded. */
function printable(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = oneLine(redactText(value));
  if (text === '') return undefined;
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function firstString(...values: unknown[]): unknown {
  return values.find((value) => typeof value === 'string' && value !== '');
}

const STEP_ALIASES: Readonly<Record<string, string>> = {
  create_secret: 'createSecret',
  set_secret: 'setSecret',
  test_secret: 'testSecret',
  finish_secret: 'finishSecret',
};

/**
 * Reads the facts out of a Secrets Manager service event (`AWS Service Event via CloudTrail`):
 * the secret is in `detail.additionalEventData.SecretId` (an ARN); `detail.errorMessage` says
 * which step failed ("… during createSecret step"). Never throws: any field may be missing.
 * Accepts the EventBridge envelope or its `detail`.
 */
export function parseSecretsManagerEvent(event: unknown): SecretsManagerEventFacts {
  const envelope = isRecord(event) ? event : {};
  const detail = isRecord(envelope.detail) ? envelope.detail : envelope;
  const extra = isRecord(detail.additionalEventData) ? detail.additionalEventData : {};
  const request = isRecord(detail.requestParameters) ? detail.requestParameters : {};
  const response = isRecord(detail.responseElements) ? detail.responseElements : {};
  const resources = Array.isArray(envelope.resources) ? envelope.resources : [];
  const errorMessage = printable(detail.errorMessage, 500);
  const stepMatch = errorMessage ? /\b(createSecret|setSecret|testSecret|finishSecret|create_secret|set_secret|test_secret|finish_secret)\b/.exec(errorMessage) : null;
  const step = stepMatch?.[1] ? (STEP_ALIASES[stepMatch[1]] ?? stepMatch[1]) : undefined;
  return {
    eventName: printable(detail.eventName, 64),
    secret: printable(firstString(extra.SecretId, extra.secretId, request.secretId, request.SecretId, response.arn, response.aRN, response.ARN, resources[0]), 2048),
    step: step && (ROTATION_STEPS as readonly string[]).includes(step) ? step : undefined,
    errorMessage,
    time: printable(firstString(detail.eventTime, envelope.time), 64),
    region: printable(firstString(detail.awsRegion, envelope.region), 32),
    eventId: printable(firstString(detail.eventID, envelope.id), 128),
  };
}

/**
 * The alert for a Secrets Manager service event routed to keyrotor (`RotationFailed`,
 * `RotationAbandoned`), or undefined for a routine one (`RotationStarted`, `RotationSucceeded`,
 * version deletions). An event keyrotor does not recognise still alerts, generically, with
 * whatever it names: an unknown shape is a reason to look, never a crash.
 */
export function alertForSecretsManagerEvent(event: unknown, options: AlertOptions = {}): Alert | undefined {
  const facts = parseSecretsManagerEvent(event);
  if ((SECRETS_MANAGER_ROUTINE_EVENTS as readonly (string | undefined)[]).includes(facts.eventName)) return undefined;
  const secret = facts.secret ?? '(not named in the event)';
  const name = facts.secret ? secretNameOf(facts.secret) : undefined;
  const commands = cli(name ?? '<secret>');
  const lines = [
    ...fact('Secret', secret),
    ...fact('Provider', 'not in the event (see the secret\'s keyrotor:provider tag)'),
    ...fact('Step', facts.step),
    ...fact('Error', facts.errorMessage),
    ...fact('Time', facts.time),
    ...fact('Region', facts.region),
    ...fact('Event', `${facts.eventName ?? 'unknown'} from Secrets Manager${facts.eventId ? ` (CloudTrail event ${facts.eventId})` : ''}`),
  ];
  const severity: Severity = 'WARNING';
  const render = (what: string, happened: string, done: string, next: string): Alert => ({
    severity,
    subject: alertSubject(severity, what, secret),
    body: renderBody({ headline: `${severity}: ${what} - ${secret}`, happened, done, next, facts: lines, runbook: RUNBOOKS.rotationFailed, options }),
  });
  switch (facts.eventName) {
    case 'RotationFailed':
    case 'TestRotationFailed':
      return render(
        facts.step ? `Secrets Manager rotation failed at ${facts.step}` : 'Secrets Manager rotation failed',
        `Secrets Manager reports that a rotation of ${secret} failed${facts.step ? ` in its ${facts.step} step` : ''}${facts.errorMessage ? `: ${facts.errorMessage}` : '.'}`,
        'Nothing beyond this alert. A failed rotation never moves AWSCURRENT, so applications keep using the current key. If keyrotor\'s rotation Lambda ran, it reported the cause in its own alert (rotation failed / action required) and its logs.',
        steps(
          `Look for keyrotor's own alert about ${name ?? 'this secret'}: it names the cause and what to do.`,
          `If there is none, the rotation Lambda did not get to report (timeout, throttling, a missing permission): check its errors and logs in CloudWatch ` +
            `and the secret's rotation settings (aws secretsmanager describe-secret --secret-id ${name ?? '<secret>'}).`,
          `Check the current key still works: ${commands.verify}`,
          `When the cause is fixed, retry: ${commands.rotate}; follow it with ${commands.history}`,
        ),
      );
    case 'RotationAbandoned':
      return render(
        'Secrets Manager abandoned a rotation',
        `Secrets Manager abandoned a rotation of ${secret}: a new version was written to the secret while a rotation was pending, so Secrets Manager removed the AWSPENDING label.`,
        'Nothing. Secrets Manager removed AWSPENDING so that later rotations can run; AWSCURRENT is whatever was written last.',
        steps(
          `Find who wrote the secret (CloudTrail PutSecretValue / UpdateSecret events for it).`,
          `If it was not npx keyrotor submit, check the current value is a working keyrotor secret: ${commands.verify}`,
          `A key the abandoned rotation created at the platform may be left over: look in ${commands.history} for a rotation with a key created but never promoted, and remove that key in the platform's admin panel.`,
        ),
      );
    default:
      return render(
        'unrecognised Secrets Manager event',
        `keyrotor received a Secrets Manager event it does not recognise (${facts.eventName ? `eventName ${facts.eventName}` : 'no eventName'}) about ${secret}.`,
        'Nothing: keyrotor does not know what this event means.',
        steps(
          `Read the raw event in CloudTrail${facts.eventId ? ` (event id ${facts.eventId})` : ''}.`,
          `Check the secret: ${commands.verify}`,
          `If the event is routine, narrow the EventBridge rule that routes Secrets Manager events to keyrotor's notifier.`,
        ),
      );
  }
}
