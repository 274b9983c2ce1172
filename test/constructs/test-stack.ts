import * as path from 'node:path';
import { App, CfnResource, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { acknowledgeNistFindings } from '../../lib/compliance';
import { parseConfig, type KeyrotorConfig } from '../../lib/config';
import { DeferredRevocation } from '../../lib/deferred-revocation';
import { KeyrotorStack } from '../../lib/keyrotor-stack';
import { LedgerTable } from '../../lib/ledger-table';

/** A handler that bundles in milliseconds; see fixtures/rotate-handler.ts. */
export const FIXTURE_ROTATION_HANDLER = path.join(__dirname, 'fixtures', 'rotate-handler.ts');

/** The revoker's stand-in; see fixtures/revoke-handler.ts. */
export const FIXTURE_REVOKE_HANDLER = path.join(__dirname, 'fixtures', 'revoke-handler.ts');

/** The token refresher's stand-in; see fixtures/refresh-tokens-handler.ts. */
export const FIXTURE_REFRESH_TOKENS_HANDLER = path.join(__dirname, 'fixtures', 'refresh-tokens-handler.ts');

/** The notifier's stand-in; see fixtures/notify-handler.ts. */
export const FIXTURE_NOTIFY_HANDLER = path.join(__dirname, 'fixtures', 'notify-handler.ts');

/** The compromise responder's stand-in; see fixtures/compromise-handler.ts. */
export const FIXTURE_COMPROMISE_HANDLER = path.join(__dirname, 'fixtures', 'compromise-handler.ts');

/** The daily sweep's stand-in; see fixtures/sweep-handler.ts. */
export const FIXTURE_SWEEP_HANDLER = path.join(__dirname, 'fixtures', 'sweep-handler.ts');

/** A concrete environment makes region-dependent values (kms:ViaService) plain strings. */
export const TEST_ENV = { account: '111111111111', region: 'eu-west-1' } as const satisfies StackProps['env'];

/** A valid config with one production and one sandbox Thought Industries credential. */
export function testConfig(overrides: Record<string, unknown> = {}): KeyrotorConfig {
  return parseConfig(
    {
      alerts: { emails: ['secops@example.com', 'oncall@example.com'] },
      credentials: [
        {
          id: 'acme-prod',
          provider: 'thought-industries',
          environment: 'production',
          baseUrl: 'https://acme.thoughtindustries.com',
        },
        {
          id: 'acme-sandbox',
          provider: 'thought-industries',
          environment: 'sandbox',
          baseUrl: 'https://acme-sandbox.thoughtindustries.com',
          rotationIntervalDays: 30,
        },
      ],
      ...overrides,
    },
    'test config',
  );
}

/**
 * {@link testConfig} plus an Imburse credential and one token of each kind: a Thrive
 * client-credentials token with a derived token URL, a Thought Industries one with scopes and
 * `body` client authentication, and an Imburse token minted from the Imburse credential.
 */
export function tokenTestConfig(overrides: Record<string, unknown> = {}): KeyrotorConfig {
  return testConfig({
    credentials: [
      ...testConfig().credentials,
      { id: 'payments', provider: 'imburse', environment: 'sandbox', baseUrl: 'https://sandbox-api.imburse.net' },
    ],
    tokens: [
      {
        id: 'learn-token',
        provider: 'thrive',
        environment: 'production',
        grant: 'client-credentials',
        baseUrl: 'https://acme.api.learn.link',
        tenantId: 'eu-west-2_AbcdEfghI',
      },
      {
        id: 'acme-token',
        provider: 'thought-industries',
        environment: 'production',
        grant: 'client-credentials',
        tokenUrl: 'https://acme.thoughtindustries.com/oauth/token',
        scopes: ['users:read', 'courses:read'],
        clientAuth: 'body',
      },
      { id: 'payments-token', provider: 'imburse', environment: 'sandbox', grant: 'imburse-hmac', credential: 'payments' },
    ],
    ...overrides,
  });
}

/**
 * An app without the built-in CloudFormation validator, which costs seconds per synth.
 * keyrotor-stack.test.ts keeps one synth with it on.
 */
export function fastApp(): App {
  return new App({ builtinCloudFormationValidation: false });
}

/** A bare stack in {@link TEST_ENV} for testing one construct. */
export function bareStack(app: App = fastApp()): Stack {
  return new Stack(app, 'Test', { env: TEST_ENV });
}

/** The whole keyrotor stack with the fixture handlers. */
export function buildKeyrotorStack(config: KeyrotorConfig = testConfig(), app: App = fastApp()): KeyrotorStack {
  return new KeyrotorStack(app, 'Keyrotor', {
    config,
    env: TEST_ENV,
    rotationHandlerEntry: FIXTURE_ROTATION_HANDLER,
    revokerHandlerEntry: FIXTURE_REVOKE_HANDLER,
    refreshTokensHandlerEntry: FIXTURE_REFRESH_TOKENS_HANDLER,
    notifyHandlerEntry: FIXTURE_NOTIFY_HANDLER,
    compromiseHandlerEntry: FIXTURE_COMPROMISE_HANDLER,
    sweepHandlerEntry: FIXTURE_SWEEP_HANDLER,
  });
}

/**
 * {@link buildKeyrotorStack} with the NIST 800-53 rev 5 acknowledgements bin/app.ts makes
 * (lib/compliance.ts). The plain one has none, so tests that list its acknowledgements see only
 * the constructs' own.
 */
export function buildAcknowledgedKeyrotorStack(config: KeyrotorConfig = testConfig(), app: App = fastApp()): KeyrotorStack {
  const stack = buildKeyrotorStack(config, app);
  acknowledgeNistFindings(stack);
  return stack;
}

/** The ledger and deferred revocation a RotationFunction needs, in `scope`, with the fixture revoker. */
export function rotationDependencies(scope: Stack, encryptionKey: kms.IKey, alarmTopic?: sns.ITopic) {
  const ledger = new LedgerTable(scope, 'Ledger', { encryptionKey });
  const revocation = new DeferredRevocation(scope, 'Revocation', {
    encryptionKey,
    ledger,
    revokerEntry: FIXTURE_REVOKE_HANDLER,
    ...(alarmTopic === undefined ? {} : { alarmTopic }),
  });
  return { ledger, revocation };
}

/**
 * cdk-nag AWS Solutions findings that are not acknowledged, as `RuleId @ construct path` lines.
 * cdk-nag 3 is a policy-validation plugin; `validateScope` runs it directly on a construct tree.
 */
export function awsSolutionsFindings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.severity} ${violation.ruleName} @ ${resource.constructPath ?? '?'}: ${violation.description}`,
    ),
  );
}

/** cdk-nag NIST 800-53 rev 5 findings that are not acknowledged, in the same form as {@link awsSolutionsFindings}. */
export function nistFindings(scope: IConstruct): string[] {
  const report = new NIST80053R5Checks().validateScope(scope);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.severity} ${violation.ruleName} @ ${resource.constructPath ?? '?'}: ${violation.description}`,
    ),
  );
}

/** The logical id of `construct`'s CloudFormation resource (the construct itself or its default child). */
export function logicalIdOf(construct: IConstruct): string {
  const resource = CfnResource.isCfnResource(construct) ? construct : construct.node.defaultChild;
  if (!resource || !CfnResource.isCfnResource(resource)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(resource).getLogicalId(resource);
}

/** The synthesized `Properties` of `construct`'s CloudFormation resource in `template`. */
export function propertiesOf(template: Template, construct: IConstruct): Record<string, unknown> {
  const resources = (template.toJSON() as { Resources: Record<string, { Properties?: Record<string, unknown> }> }).Resources;
  const resource = resources[logicalIdOf(construct)];
  if (!resource) throw new Error(`${construct.node.path} is not in the template`);
  return resource.Properties ?? {};
}

/** Every `Validations.of(x).acknowledge(...)` made anywhere under `scope`, as `{ id: reason }` records. */
export function acknowledgements(scope: IConstruct): Record<string, string>[] {
  return scope.node
    .findAll()
    .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
    .map((entry) => entry.data as Record<string, string>);
}
