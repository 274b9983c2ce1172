/**
 * Defence in depth against a secret reaching a log line, an alert or an exception message.
 * Code is written never to log secrets; this catches the mistakes: values registered as
 * secret during an invocation, credential-looking strings, and fields whose name says "secret".
 */
export const REDACTED = '[REDACTED]';

/** Field names whose values are always secret, whatever they contain. */
const SECRET_FIELD = /^(api[-_]?key|account[-_]?key|private[-_]?key|client[-_]?secret|access[-_]?token|admin[-_]?token|refresh[-_]?token|secret[-_]?string|secret[-_]?binary|password|authorization|credential|token)$/i;

/** Shapes that are credentials wherever they appear. Public, documented prefixes are kept for readability. */
const CREDENTIAL_PATTERNS: readonly [RegExp, string][] = [
  [/\b(ti_(?:live|test)_)[A-Za-z0-9]{4,}/g, `$1${REDACTED}`],
  [/\b(Bearer|Basic|Hmac)\s+[A-Za-z0-9._~+/:=-]{8,}/gi, `$1 ${REDACTED}`],
];

/** Secret values seen in this process; any occurrence is replaced. Bounded so a long-lived process cannot grow it forever. */
const knownSecrets = new Set<string>();
/** `knownSecrets` longest first, so a secret that contains another is replaced whole; rebuilt after a change. */
let longestFirst: string[] | undefined;
const MAX_KNOWN_SECRETS = 1000;
/** Shorter strings are too likely to collide with ordinary text to be worth scrubbing. */
const MIN_SECRET_LENGTH = 8;

/** Registers values that must never be printed (a key, a private key, a token). */
export function registerSecret(...values: (string | undefined)[]): void {
  for (const value of values) {
    if (value === undefined || value.length < MIN_SECRET_LENGTH) continue;
    // A value registered again moves to the newest end instead of pushing another secret out.
    const known = knownSecrets.delete(value);
    if (!known && knownSecrets.size >= MAX_KNOWN_SECRETS) knownSecrets.delete(knownSecrets.values().next().value as string);
    knownSecrets.add(value);
    if (!known) longestFirst = undefined;
  }
}

/** Forgets registered values (tests; a new invocation does not need to). */
export function clearRegisteredSecrets(): void {
  knownSecrets.clear();
  longestFirst = undefined;
}

/** Returns `text` with every registered secret and credential-shaped substring replaced. */
export function redactText(text: string): string {
  let out = text;
  longestFirst ??= [...knownSecrets].sort((a, b) => b.length - a.length);
  for (const secret of longestFirst) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of CREDENTIAL_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** True when a field of this name holds a secret. */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/**
 * A `JSON.stringify` replacer that redacts secret fields and scrubs strings.
 * Used by the Lambda logger; safe to use for any structured output.
 */
export function redactingReplacer(key: string, value: unknown): unknown {
  if (key !== '' && isSecretField(key) && value !== undefined && value !== null && value !== '') return REDACTED;
  if (typeof value === 'string') return redactText(value);
  return value;
}
