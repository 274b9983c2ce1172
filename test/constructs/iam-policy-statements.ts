import type { Template } from 'aws-cdk-lib/assertions';

/** One statement of an identity policy, as synthesized. */
export interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: unknown;
}

/** Where a statement came from: `<logical id> (<type>)`, for readable failures. */
export interface LocatedStatement {
  readonly source: string;
  readonly statement: PolicyStatementJson;
}

interface PolicyDocumentJson {
  readonly Statement?: PolicyStatementJson[];
}

interface ResourceJson {
  readonly Type: string;
  readonly Properties?: {
    readonly PolicyDocument?: PolicyDocumentJson;
    readonly Policies?: { readonly PolicyDocument?: PolicyDocumentJson }[];
  };
}

export const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * Every statement of every identity policy in `template`: `AWS::IAM::Policy` and
 * `AWS::IAM::ManagedPolicy` documents, and inline `Policies` of roles, users and groups.
 * Resource policies (key, topic, queue policies) and trust policies are not identity policies.
 */
export function identityPolicyStatements(template: Template): LocatedStatement[] {
  const resources = (template.toJSON() as { Resources?: Record<string, ResourceJson> }).Resources ?? {};
  const located: LocatedStatement[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    const source = `${logicalId} (${resource.Type})`;
    const documents: (PolicyDocumentJson | undefined)[] = [];
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      documents.push(resource.Properties?.PolicyDocument);
    } else if (['AWS::IAM::Role', 'AWS::IAM::User', 'AWS::IAM::Group'].includes(resource.Type)) {
      documents.push(...(resource.Properties?.Policies ?? []).map((policy) => policy.PolicyDocument));
    }
    for (const document of documents) {
      for (const statement of document?.Statement ?? []) located.push({ source, statement });
    }
  }
  return located;
}

/** The statements of the one identity policy attached to the role with `roleLogicalId`. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatementJson[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
    asArray((policy as { Properties: { Roles?: unknown[] } }).Properties.Roles).some(
      (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }),
    ),
  );
  expect(policies).toHaveLength(1);
  return (policies[0] as { Properties: { PolicyDocument: PolicyDocumentJson } }).Properties.PolicyDocument.Statement ?? [];
}

/** Verbs of actions that only read. Everything else (and any `*` action) can change something. */
const READ_ONLY_VERB = /^(Get|List|Describe|BatchGet|Query|Scan|Head)/;

/** Whether `action` (e.g. `dynamodb:PutItem`, `kms:Decrypt`, `s3:*`) can do more than read. */
export function isWriteAction(action: string): boolean {
  const [, verb = ''] = action.split(':');
  return action === '*' || verb === '*' || !READ_ONLY_VERB.test(verb);
}

/**
 * Allow statements in identity policies that grant a write action on the resource `*`, each as
 * `<source>: <actions> on *`. A least-privilege template has none.
 */
export function wildcardWriteGrants(template: Template): string[] {
  return identityPolicyStatements(template)
    .filter(({ statement }) => statement.Effect === 'Allow')
    .filter(({ statement }) => asArray(statement.Resource).includes('*'))
    .filter(({ statement }) => asArray(statement.Action).some(isWriteAction))
    .map(({ source, statement }) => `${source}: ${asArray(statement.Action).filter(isWriteAction).join(', ')} on *`);
}
