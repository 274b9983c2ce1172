import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { loadConfig, type KeyrotorConfig } from '../../lib/config';
import { asArray, identityPolicyStatements, type PolicyStatementJson } from './iam-policy-statements';
import { bareStack, buildKeyrotorStack, tokenTestConfig } from './test-stack';

/*
 * An IAM walker: every policy in a synthesized keyrotor template — identity policies
 * (AWS::IAM::Policy, AWS::IAM::ManagedPolicy, inline role/user/group policies), trust policies,
 * and resource policies (SQS queue, SNS topic, KMS key, Secrets Manager secret policies and
 * Lambda permissions) — checked statement by statement against keyrotor's least-privilege rules.
 * Each rule is one small pure predicate; the last describe block feeds the walker bad policies
 * to show that each rule can fail.
 */

const EXAMPLE_CONFIG = path.join(__dirname, '..', '..', 'keyrotor.config.json');

/** Where a statement lives, which decides what `*` means in it. */
type PolicyKind = 'identity' | 'trust' | 'key' | 'queue' | 'topic' | 'secret' | 'lambda-permission';

/** A statement as the walker sees it (a Lambda permission is turned into one). */
interface StatementJson extends Omit<PolicyStatementJson, 'Action'> {
  readonly Action?: string | string[];
  readonly NotAction?: unknown;
  readonly NotResource?: unknown;
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
}

interface WalkedStatement {
  /** `<logical id> (<type>)`. */
  readonly source: string;
  readonly kind: PolicyKind;
  readonly statement: StatementJson;
}

/** The parts of a template the rules compare against. */
interface StackFacts {
  /** Logical ids of the stack's AWS::SecretsManager::Secret resources. */
  readonly secretIds: ReadonlySet<string>;
  /** Logical ids of the stack's AWS::KMS::Key resources. */
  readonly keyIds: ReadonlySet<string>;
}

interface ResourceJson {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

type Rule = (walked: WalkedStatement, facts: StackFacts) => string | undefined;

/** Verbs that only read. Anything else — and any verb that a wildcard could extend beyond one of these — can change something. */
const READ_VERBS = ['Get', 'List', 'Describe', 'BatchGet', 'Query', 'Scan'] as const;

/**
 * Actions whose `*` resource is documented and accepted, each with why. (A KMS key policy's `*`
 * is accepted by {@link KEY_POLICY_WILDCARD} instead, for every action.)
 */
const ALLOWED_WILDCARD_ACTIONS: Readonly<Record<string, string>> = {
  'secretsmanager:ListSecrets':
    'ListSecrets has no resource-level permissions, so IAM accepts only "*"; it returns names, ARNs, dates and tags, never a value. The sweep and the refresher find their secrets by tag with it.',
};

/** Why `*` in a KMS key policy is not a wildcard. */
const KEY_POLICY_WILDCARD = 'In a key policy, the resource "*" means the key the policy is attached to, and nothing else.';

const resourcesOf = (template: Template): Record<string, ResourceJson> =>
  (template.toJSON() as { Resources?: Record<string, ResourceJson> }).Resources ?? {};

function statementsOf(document: unknown): StatementJson[] {
  const parsed = typeof document === 'string' ? (JSON.parse(document) as unknown) : document;
  return asArray((parsed as { Statement?: StatementJson | StatementJson[] } | undefined)?.Statement);
}

/** Every statement of every policy in `template`, identity, trust and resource policies alike. */
function walkPolicies(template: Template): WalkedStatement[] {
  const walked: WalkedStatement[] = identityPolicyStatements(template).map(({ source, statement }) => ({ source, kind: 'identity' as const, statement }));
  for (const [logicalId, resource] of Object.entries(resourcesOf(template))) {
    const source = `${logicalId} (${resource.Type})`;
    const properties = resource.Properties ?? {};
    const add = (kind: PolicyKind, document: unknown) => {
      for (const statement of statementsOf(document)) walked.push({ source, kind, statement });
    };
    switch (resource.Type) {
      case 'AWS::IAM::Role':
        add('trust', properties.AssumeRolePolicyDocument);
        break;
      case 'AWS::KMS::Key':
        add('key', properties.KeyPolicy);
        break;
      case 'AWS::SQS::QueuePolicy':
        add('queue', properties.PolicyDocument);
        break;
      case 'AWS::SNS::TopicPolicy':
        add('topic', properties.PolicyDocument);
        break;
      case 'AWS::SecretsManager::ResourcePolicy':
        add('secret', properties.ResourcePolicy);
        break;
      case 'AWS::Lambda::Permission': {
        // A permission is one Allow statement on the function; its source conditions are its Condition.
        const condition = Object.fromEntries(['SourceArn', 'SourceAccount', 'PrincipalOrgID'].filter((key) => properties[key] !== undefined).map((key) => [key, properties[key]]));
        walked.push({
          source,
          kind: 'lambda-permission',
          statement: {
            Effect: 'Allow',
            Principal: properties.Principal,
            Action: properties.Action as string,
            Resource: properties.FunctionName,
            ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
          },
        });
        break;
      }
      default:
        break;
    }
  }
  return walked;
}

function factsOf(template: Template): StackFacts {
  const idsOf = (type: string) =>
    new Set(
      Object.entries(resourcesOf(template))
        .filter(([, resource]) => resource.Type === type)
        .map(([logicalId]) => logicalId),
    );
  return { secretIds: idsOf('AWS::SecretsManager::Secret'), keyIds: idsOf('AWS::KMS::Key') };
}

/** A resource as one string: `Fn::Join` joined, `Ref` as `<Id>`, `Fn::GetAtt` as `<Id.Attr>`; anything else as JSON. */
function flatten(node: unknown): string {
  if (typeof node === 'string') return node;
  if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
    const record = node as Record<string, unknown>;
    const join = record['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) return (join[1] as unknown[]).map(flatten).join(join[0]);
    if (typeof record.Ref === 'string') return `<${record.Ref}>`;
    const getAtt = record['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.map(String).join('.')}>`;
  }
  return JSON.stringify(node);
}

/** IAM's action wildcards (`*`, `?`), case-insensitive. */
function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return regex.test(action);
}

/**
 * Whether `action` can do more than read: its verb starts with one of {@link READ_VERBS} (in
 * full, before any wildcard) or it can change something. `*`, `s3:*` and `s3:G*` are writes.
 */
function isWriteAction(action: string): boolean {
  const [service, verb = ''] = action.split(':');
  if (service === '*' || verb === '') return true;
  const fixed = verb.split(/[*?]/)[0] ?? '';
  return !READ_VERBS.some((read) => fixed.startsWith(read));
}

/** Whether `resource` is every resource: `*`, or every resource of a service (`arn:…:…:…:…:*`). */
function isWildcardResource(resource: unknown): boolean {
  const flat = flatten(resource);
  return flat === '*' || /^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$/.test(flat);
}

const actionsOf = (statement: StatementJson): string[] => asArray(statement.Action);
const isAllow = (statement: StatementJson): boolean => statement.Effect === 'Allow';
const located = (walked: WalkedStatement): string => `${walked.source} [${walked.kind}${walked.statement.Sid ? ` ${walked.statement.Sid}` : ''}]`;

/** No write action on a `*` resource, but for the documented exceptions. */
const noWriteOnWildcard: Rule = (walked) => {
  const { statement, kind } = walked;
  // A key policy's "*" is the key itself (KEY_POLICY_WILDCARD).
  if (!isAllow(statement) || kind === 'key') return undefined;
  if (!asArray(statement.Resource).some(isWildcardResource)) return undefined;
  const writes = actionsOf(statement).filter((action) => isWriteAction(action) && ALLOWED_WILDCARD_ACTIONS[action] === undefined);
  return writes.length > 0 ? `${located(walked)}: write actions ${writes.join(', ')} on a wildcard resource` : undefined;
};

/** A managed secret: a Ref to one of the stack's secrets, or the ARN of a `keyrotor/<name>` secret. */
function isManagedSecret(resource: unknown, facts: StackFacts): boolean {
  if (typeof resource === 'object' && resource !== null && typeof (resource as { Ref?: unknown }).Ref === 'string') {
    return facts.secretIds.has((resource as { Ref: string }).Ref);
  }
  // A name under keyrotor/ that names something: `keyrotor/*` alone would be every keyrotor secret, present or future.
  return /^arn:[^:]+:secretsmanager:[^:]+:[^:]+:secret:keyrotor\/[^*?]/.test(flatten(resource).replace(/<AWS::\w+>/g, 'pseudo'));
}

/** Every Secrets Manager action but ListSecrets is on the stack's own secrets (or `keyrotor/…` ones). */
const secretsOnlyManaged: Rule = (walked, facts) => {
  const { statement } = walked;
  if (!isAllow(statement)) return undefined;
  const scoped = actionsOf(statement).filter(
    (action) => ALLOWED_WILDCARD_ACTIONS[action] === undefined && (action === '*' || actionMatches(action.split(':')[0] ?? '', 'secretsmanager')),
  );
  if (scoped.length === 0) return undefined;
  // In a secret's own resource policy the resource is that secret; the policy's SecretId is checked where it is walked.
  const outside = asArray(statement.Resource).filter((resource) => !isManagedSecret(resource, facts));
  return outside.length > 0 ? `${located(walked)}: ${scoped.join(', ')} on secrets keyrotor does not manage: ${outside.map(flatten).join(', ')}` : undefined;
};

/** Every identity grant of kms:Decrypt or kms:GenerateDataKey is on keyrotor's key, through a named service. */
const keyUseOnlyOwnKeyViaService: Rule = (walked, facts) => {
  const { statement, kind } = walked;
  if (kind !== 'identity' || !isAllow(statement)) return undefined;
  const grants = actionsOf(statement).filter((action) => actionMatches(action, 'kms:Decrypt') || actionMatches(action, 'kms:GenerateDataKey'));
  if (grants.length === 0) return undefined;
  const problems: string[] = [];
  const ownKey = (resource: unknown) => {
    const getAtt = (resource as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
    return Array.isArray(getAtt) && getAtt[1] === 'Arn' && facts.keyIds.has(String(getAtt[0]));
  };
  const resources = asArray(statement.Resource);
  if (resources.length === 0 || !resources.every(ownKey)) problems.push(`on ${resources.map(flatten).join(', ') || 'nothing'}, not keyrotor's key`);
  const conditions = Object.values((statement.Condition ?? {}) as Record<string, Record<string, unknown>>);
  if (!conditions.some((operator) => Object.keys(operator).some((key) => key.toLowerCase() === 'kms:viaservice'))) problems.push('without a kms:ViaService condition');
  return problems.length > 0 ? `${located(walked)}: ${grants.join(', ')} ${problems.join(' and ')}` : undefined;
};

/** No Allow with NotAction, NotResource or NotPrincipal: each grants everything but a list. */
const noAllowWithNot: Rule = (walked) => {
  const { statement } = walked;
  if (!isAllow(statement)) return undefined;
  const nots = (['NotAction', 'NotResource', 'NotPrincipal'] as const).filter((key) => statement[key] !== undefined);
  return nots.length > 0 ? `${located(walked)}: Allow with ${nots.join(', ')}` : undefined;
};

/** No Allow to everyone (`*`, `{ AWS: '*' }`) without a condition that narrows it. */
const noUnconditionalPublicPrincipal: Rule = (walked) => {
  const { statement } = walked;
  if (!isAllow(statement) || statement.Principal === undefined) return undefined;
  const principal = statement.Principal;
  const principals = typeof principal === 'object' && principal !== null ? Object.values(principal as Record<string, unknown>).flatMap((value) => asArray(value)) : [principal];
  if (!principals.some((value) => value === '*')) return undefined;
  const condition = statement.Condition as Record<string, unknown> | undefined;
  return condition === undefined || Object.keys(condition).length === 0 ? `${located(walked)}: Allow to Principal "*" without a condition` : undefined;
};

const RULES = { noWriteOnWildcard, secretsOnlyManaged, keyUseOnlyOwnKeyViaService, noAllowWithNot, noUnconditionalPublicPrincipal } as const;
type RuleName = keyof typeof RULES;

/** The problems `rule` finds in `template` (every rule when none is named). */
function violations(template: Template, rule?: RuleName): string[] {
  const facts = factsOf(template);
  const rules = rule === undefined ? Object.values(RULES) : [RULES[rule]];
  const found = walkPolicies(template).flatMap((walked) => rules.map((check) => check(walked, facts)));
  // A secret's resource policy must be attached to a managed secret.
  const foreignSecretPolicies = Object.entries(resourcesOf(template))
    .filter(([, resource]) => resource.Type === 'AWS::SecretsManager::ResourcePolicy')
    .filter(([, resource]) => !isManagedSecret(resource.Properties?.SecretId, facts))
    .map(([logicalId]) => `${logicalId} (AWS::SecretsManager::ResourcePolicy): on a secret keyrotor does not manage`);
  const secretRules = rule === undefined || rule === 'secretsOnlyManaged' ? foreignSecretPolicies : [];
  return [...found.filter((problem): problem is string => problem !== undefined), ...secretRules];
}

describe('IAM walker: every policy in the synthesized stack', () => {
  describe.each<[string, () => KeyrotorConfig]>([
    ['with tokens', () => tokenTestConfig()],
    ['with the example config (keyrotor.config.json)', () => loadConfig(EXAMPLE_CONFIG)],
  ])('%s', (_name, config) => {
    let template: Template;
    let walked: WalkedStatement[];

    beforeAll(() => {
      template = Template.fromStack(buildKeyrotorStack(config()));
      walked = walkPolicies(template);
    });

    it('walks every policy-bearing resource of the template, and every kind of policy keyrotor has', () => {
      // Prepare
      const policyTypes = ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::Role', 'AWS::SQS::QueuePolicy', 'AWS::SNS::TopicPolicy', 'AWS::KMS::Key', 'AWS::SecretsManager::ResourcePolicy', 'AWS::Lambda::Permission'];
      const expected = Object.entries(resourcesOf(template))
        .filter(([, resource]) => policyTypes.includes(resource.Type))
        .map(([logicalId, resource]) => `${logicalId} (${resource.Type})`);

      // Act
      const sources = new Set(walked.map((statement) => statement.source));

      // Assess
      expect(expected.filter((source) => !sources.has(source))).toEqual([]);
      expect(new Set(walked.map((statement) => statement.kind))).toEqual(new Set(['identity', 'trust', 'key', 'queue', 'topic', 'lambda-permission']));
      expect(walked.length).toBeGreaterThan(50);
    });

    it('grants no write action on a "*" resource (key policies\' "*" is the key; ListSecrets has no resource-level permissions)', () => {
      // Assess
      expect(violations(template, 'noWriteOnWildcard')).toEqual([]);
    });

    it('grants every Secrets Manager action but ListSecrets on the stack\'s own secrets only', () => {
      // Assess
      expect(violations(template, 'secretsOnlyManaged')).toEqual([]);
      expect(walked.some(({ statement }) => actionsOf(statement).some((action) => action.startsWith('secretsmanager:') && action !== 'secretsmanager:ListSecrets'))).toBe(true);
    });

    it('grants kms:Decrypt and kms:GenerateDataKey in identity policies on keyrotor\'s key only, each through a named service', () => {
      // Assess
      expect(violations(template, 'keyUseOnlyOwnKeyViaService')).toEqual([]);
      expect(walked.filter(({ kind, statement }) => kind === 'identity' && actionsOf(statement).includes('kms:Decrypt')).length).toBeGreaterThan(5);
    });

    it('has no Allow with NotAction, NotResource or NotPrincipal', () => {
      // Assess
      expect(violations(template, 'noAllowWithNot')).toEqual([]);
    });

    it('allows nothing to Principal "*" without a condition', () => {
      // Assess
      expect(violations(template, 'noUnconditionalPublicPrincipal')).toEqual([]);
    });

    it('uses the ListSecrets exception only for ListSecrets statements, and nothing else on "*" outside the key policy', () => {
      // Act
      const onWildcard = walked.filter(({ kind, statement }) => kind !== 'key' && isAllow(statement) && asArray(statement.Resource).some(isWildcardResource));

      // Assess
      expect(onWildcard.length).toBeGreaterThan(0);
      expect(onWildcard.flatMap(({ statement }) => actionsOf(statement))).toEqual(onWildcard.map(() => 'secretsmanager:ListSecrets'));
    });
  });

  describe('rules, fed bad policies', () => {
    const KEY = { 'Fn::GetAtt': ['Key', 'Arn'] };
    const VIA_SECRETS_MANAGER = { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } };

    /** A template with keyrotor's key and one managed secret, plus `resources`. */
    function templateWith(resources: Record<string, ResourceJson>): Template {
      return Template.fromJSON({
        Resources: {
          Key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:root' }, Action: 'kms:*', Resource: '*' }] } } },
          Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'keyrotor/acme-prod' } },
          ...resources,
        },
      });
    }

    const policy = (...statements: unknown[]): ResourceJson => ({ Type: 'AWS::IAM::Policy', Properties: { PolicyDocument: { Statement: statements }, Roles: [{ Ref: 'Role' }] } });

    it('accepts a least-privilege template, with the key policy\'s "*" and ListSecrets on "*"', () => {
      // Prepare
      const template = templateWith({
        Good: policy(
          { Effect: 'Allow', Action: 'secretsmanager:ListSecrets', Resource: '*' },
          { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'], Resource: [{ Ref: 'Secret' }, 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:keyrotor/imported-??????'] },
          { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: KEY, Condition: VIA_SECRETS_MANAGER },
          { Effect: 'Allow', Action: ['ec2:DescribeInstances', 's3:List*'], Resource: '*' },
          { Effect: 'Deny', NotAction: 's3:GetObject', Resource: '*' },
        ),
        TopicPolicy: {
          Type: 'AWS::SNS::TopicPolicy',
          Properties: { PolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sns:Publish', Resource: { Ref: 'Topic' }, Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } } }] } },
        },
        Permission: { Type: 'AWS::Lambda::Permission', Properties: { Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': ['Fn', 'Arn'] }, Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': ['Rule', 'Arn'] } } },
      });

      // Act & Assess
      expect(violations(template)).toEqual([]);
    });

    it('flags a write action on "*" in an identity policy, an inline role policy and a queue policy', () => {
      // Prepare
      const template = templateWith({
        Wide: policy({ Sid: 'SendAnywhere', Effect: 'Allow', Action: ['sqs:SendMessage', 'sqs:GetQueueUrl'], Resource: '*' }),
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: {
            AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
            Policies: [{ PolicyName: 'Inline', PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 's3:G*', Resource: 'arn:aws:s3:::*' }] } }],
          },
        },
        Queue: { Type: 'AWS::SQS::QueuePolicy', Properties: { PolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:*', Resource: '*', Condition: { ArnEquals: { 'aws:SourceArn': 'x' } } }] } } },
      });

      // Act
      const found = violations(template, 'noWriteOnWildcard');

      // Assess
      expect(found).toEqual([
        'Wide (AWS::IAM::Policy) [identity SendAnywhere]: write actions sqs:SendMessage on a wildcard resource',
        'Role (AWS::IAM::Role) [identity]: write actions s3:G* on a wildcard resource',
        'Queue (AWS::SQS::QueuePolicy) [queue]: write actions sqs:* on a wildcard resource',
      ]);
    });

    it('flags Secrets Manager actions on secrets the stack does not manage, on "*", through a wildcard action, and a foreign secret\'s resource policy', () => {
      // Prepare
      const template = templateWith({
        Foreign: policy(
          { Sid: 'Other', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:payroll/db-AbCdEf' },
          { Sid: 'Everything', Effect: 'Allow', Action: 'secretsmanager:DescribeSecret', Resource: '*' },
          { Sid: 'AllOfThem', Effect: 'Allow', Action: 'secretsmanager:*', Resource: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:keyrotor/*' },
          { Sid: 'Star', Effect: 'Allow', Action: '*', Resource: { Ref: 'OtherSecret' } },
        ),
        SecretPolicy: {
          Type: 'AWS::SecretsManager::ResourcePolicy',
          Properties: { SecretId: { Ref: 'OtherSecret' }, ResourcePolicy: { Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:role/app' }, Action: 'secretsmanager:GetSecretValue', Resource: { Ref: 'OtherSecret' } }] } },
        },
      });

      // Act
      const found = violations(template, 'secretsOnlyManaged');

      // Assess
      expect(found).toEqual([
        'Foreign (AWS::IAM::Policy) [identity Other]: secretsmanager:GetSecretValue on secrets keyrotor does not manage: arn:aws:secretsmanager:eu-west-1:111111111111:secret:payroll/db-AbCdEf',
        'Foreign (AWS::IAM::Policy) [identity Everything]: secretsmanager:DescribeSecret on secrets keyrotor does not manage: *',
        'Foreign (AWS::IAM::Policy) [identity AllOfThem]: secretsmanager:* on secrets keyrotor does not manage: arn:aws:secretsmanager:eu-west-1:111111111111:secret:keyrotor/*',
        'Foreign (AWS::IAM::Policy) [identity Star]: * on secrets keyrotor does not manage: <OtherSecret>',
        'SecretPolicy (AWS::SecretsManager::ResourcePolicy) [secret]: secretsmanager:GetSecretValue on secrets keyrotor does not manage: <OtherSecret>',
        'SecretPolicy (AWS::SecretsManager::ResourcePolicy): on a secret keyrotor does not manage',
      ]);
    });

    it('flags kms:Decrypt or kms:GenerateDataKey in an identity policy on another key, on "*", or without kms:ViaService', () => {
      // Prepare
      const template = templateWith({
        Keys: policy(
          { Sid: 'NoVia', Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY },
          { Sid: 'OtherKey', Effect: 'Allow', Action: 'kms:GenerateDataKey*', Resource: 'arn:aws:kms:eu-west-1:111111111111:key/1234', Condition: VIA_SECRETS_MANAGER },
          { Sid: 'AnyKey', Effect: 'Allow', Action: 'kms:*', Resource: '*', Condition: VIA_SECRETS_MANAGER },
          { Sid: 'ReadOnly', Effect: 'Allow', Action: 'kms:DescribeKey', Resource: '*' },
        ),
      });

      // Act
      const found = violations(template, 'keyUseOnlyOwnKeyViaService');

      // Assess
      expect(found).toEqual([
        'Keys (AWS::IAM::Policy) [identity NoVia]: kms:Decrypt without a kms:ViaService condition',
        'Keys (AWS::IAM::Policy) [identity OtherKey]: kms:GenerateDataKey* on arn:aws:kms:eu-west-1:111111111111:key/1234, not keyrotor\'s key',
        'Keys (AWS::IAM::Policy) [identity AnyKey]: kms:* on *, not keyrotor\'s key',
      ]);
    });

    it('flags an Allow with NotAction, NotResource or NotPrincipal, in any kind of policy', () => {
      // Prepare
      const template = templateWith({
        Nots: policy({ Sid: 'AllButIam', Effect: 'Allow', NotAction: 'iam:*', Resource: { Ref: 'Secret' } }, { Sid: 'AllButOne', Effect: 'Allow', Action: 'sqs:SendMessage', NotResource: 'arn:aws:sqs:eu-west-1:111111111111:q' }),
        Topic: { Type: 'AWS::SNS::TopicPolicy', Properties: { PolicyDocument: { Statement: [{ Effect: 'Allow', NotPrincipal: { AWS: 'arn:aws:iam::111111111111:root' }, Action: 'sns:Publish', Resource: { Ref: 'T' } }] } } },
      });

      // Act
      const found = violations(template, 'noAllowWithNot');

      // Assess
      expect(found).toEqual([
        'Nots (AWS::IAM::Policy) [identity AllButIam]: Allow with NotAction',
        'Nots (AWS::IAM::Policy) [identity AllButOne]: Allow with NotResource',
        'Topic (AWS::SNS::TopicPolicy) [topic]: Allow with NotPrincipal',
      ]);
    });

    it('flags Principal "*" without a condition in a queue policy, a key policy, a trust policy and a Lambda permission', () => {
      // Prepare
      const template = templateWith({
        Queue: { Type: 'AWS::SQS::QueuePolicy', Properties: { PolicyDocument: { Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['Q', 'Arn'] } }] } } },
        OpenKey: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Statement: [{ Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::111111111111:root', '*'] }, Action: 'kms:Decrypt', Resource: '*' }] } } },
        OpenRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }] } } },
        Public: { Type: 'AWS::Lambda::Permission', Properties: { Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': ['Fn', 'Arn'] }, Principal: '*' } },
      });

      // Act
      const found = violations(template, 'noUnconditionalPublicPrincipal');

      // Assess
      expect(found).toEqual([
        'Queue (AWS::SQS::QueuePolicy) [queue]: Allow to Principal "*" without a condition',
        'OpenKey (AWS::KMS::Key) [key]: Allow to Principal "*" without a condition',
        'OpenRole (AWS::IAM::Role) [trust]: Allow to Principal "*" without a condition',
        'Public (AWS::Lambda::Permission) [lambda-permission]: Allow to Principal "*" without a condition',
      ]);
    });

    it('flags a bad grant a construct makes, in a synthesized stack', () => {
      // Prepare
      const stack = bareStack();
      const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      role.addToPolicy(new iam.PolicyStatement({ sid: 'TooWide', actions: ['secretsmanager:PutSecretValue'], resources: ['*'] }));

      // Act
      const found = violations(Template.fromStack(stack));

      // Assess
      expect(found).toEqual([
        expect.stringMatching(/^RoleDefaultPolicy\w+ \(AWS::IAM::Policy\) \[identity TooWide\]: write actions secretsmanager:PutSecretValue on a wildcard resource$/),
        expect.stringMatching(/^RoleDefaultPolicy\w+ \(AWS::IAM::Policy\) \[identity TooWide\]: secretsmanager:PutSecretValue on secrets keyrotor does not manage: \*$/),
      ]);
    });
  });

  describe('Function: isWriteAction', () => {
    it.each(['dynamodb:PutItem', 'kms:Decrypt', 'kms:GenerateDataKey', 'iam:PassRole', 'sqs:SendMessage', 'secretsmanager:TagResource', 's3:*', 's3:G*', 's3:Ge?Object', '*', 'logs:CreateLogStream', 'lambda:InvokeFunction'])(
      'counts %s as a write action',
      (action) => {
        // Act & Assess
        expect(isWriteAction(action)).toBe(true);
      },
    );

    it.each(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:BatchGetItem', 'secretsmanager:DescribeSecret', 'secretsmanager:ListSecrets', 's3:List*', 'kms:DescribeKey', 's3:Get*'])(
      'counts %s as read-only',
      (action) => {
        // Act & Assess
        expect(isWriteAction(action)).toBe(false);
      },
    );
  });

  it('documents why each allowed wildcard is allowed', () => {
    // Assess
    for (const reason of [...Object.values(ALLOWED_WILDCARD_ACTIONS), KEY_POLICY_WILDCARD]) expect(reason.length).toBeGreaterThanOrEqual(40);
  });
});
