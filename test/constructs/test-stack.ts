import * as path from 'node:path';
import { App, Stack, type StackProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { parseConfig, type KeyrotorConfig } from '../../lib/config';
import { KeyrotorStack } from '../../lib/keyrotor-stack';

/** A handler that bundles in milliseconds; see fixtures/rotate-handler.ts. */
export const FIXTURE_ROTATION_HANDLER = path.join(__dirname, 'fixtures', 'rotate-handler.ts');

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

/** The whole keyrotor stack with the fixture handler. */
export function buildKeyrotorStack(config: KeyrotorConfig = testConfig(), app: App = fastApp()): KeyrotorStack {
  return new KeyrotorStack(app, 'Keyrotor', { config, env: TEST_ENV, rotationHandlerEntry: FIXTURE_ROTATION_HANDLER });
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
