import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { ENVIRONMENTS, type Environment, type ProviderId } from './contracts';
import { baseUrlProblem } from './base-url';
import { ValidationError } from './errors';

/**
 * The JSON a managed secret holds (README "Secret schema"). Fields keyrotor adds itself are
 * optional on input, so a secret a person created by hand with just the required fields is
 * managed too. Unknown fields are kept (applications may store their own extras).
 */
// zod/mini loads no messages of its own: load the English ones classic zod loads on import, which describeIssues passes on.
z.config(en());

const isoDate = z.iso.datetime({ offset: true });
const baseUrl = z.string().check(
  z.superRefine((value, ctx) => {
    const problem = baseUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);
const nonEmpty = z.string().check(z.trim(), z.minLength(1, 'must not be empty'));

const common = {
  environment: z.enum(ENVIRONMENTS),
  baseUrl,
  issuedAt: z.optional(isoDate),
  expiresAt: z.optional(isoDate),
  fingerprint: z.optional(z.string()),
  providerKeyId: z.optional(z.string()),
};

export const secretValueSchema = z.discriminatedUnion('provider', [
  z.looseObject({ provider: z.literal('thought-industries'), ...common, apiKey: nonEmpty }),
  z.looseObject({ provider: z.literal('thinkific'), ...common, apiKey: nonEmpty }),
  // tenantsUrl: where Thrive's GraphQL tenants endpoint is, when not the environment's default (local sandboxes).
  z.looseObject({ provider: z.literal('thrive'), ...common, tenantId: nonEmpty, apiKey: nonEmpty, tenantsUrl: z.optional(baseUrl) }),
  z.looseObject({ provider: z.literal('boss-insights'), ...common, apiKey: nonEmpty, accountKey: nonEmpty }),
  z.looseObject({ provider: z.literal('imburse'), ...common, tenantId: nonEmpty, publicKey: nonEmpty, privateKey: nonEmpty }),
]);

export type ManagedSecretValue = z.infer<typeof secretValueSchema>;

/** Metadata of a secret, known without its credential: from tags or from the current value. */
export interface SecretContext {
  readonly provider: ProviderId;
  readonly environment: Environment;
  readonly baseUrl: string;
}

/** Turns zod issues into `path: message` lines. zod's messages name types and options, never the input value. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}

/**
 * Parses a secret's string value.
 * @throws ValidationError naming each wrong field. The message never echoes the value: JSON.parse's
 *   own message quotes the input, so it is neither used nor kept as `cause`.
 */
export function parseSecretValue(secretString: string, what = 'secret value'): ManagedSecretValue {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new ValidationError(what, ['is not valid JSON']);
  }
  const result = secretValueSchema.safeParse(json);
  if (!result.success) throw new ValidationError(what, describeIssues(result.error.issues));
  return result.data;
}

/** Like {@link parseSecretValue} but returns `undefined` for a value that is not a managed credential (e.g. the bootstrap value CDK creates). */
export function tryParseSecretValue(secretString: string | undefined): ManagedSecretValue | undefined {
  if (secretString === undefined) return undefined;
  try {
    return parseSecretValue(secretString);
  } catch {
    return undefined;
  }
}

/** The strings in a value that are secret (for redaction and comparisons). */
export function credentialStrings(value: ManagedSecretValue): string[] {
  switch (value.provider) {
    case 'imburse':
      return [value.privateKey];
    case 'boss-insights':
      return [value.apiKey, value.accountKey];
    default:
      return [value.apiKey];
  }
}
