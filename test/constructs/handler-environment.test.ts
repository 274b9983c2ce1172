import { Template } from 'aws-cdk-lib/assertions';
import { readLedgerEnvironment, readRefreshEnvironment, readRotationEnvironment, readSweepEnvironment } from '../../lambdas/handlers/config';
import { readNotifyEnvironment } from '../../lambdas/handlers/notify';
import { recordCapture } from '../support/secret-scan';
import { buildKeyrotorStack, tokenTestConfig } from './test-stack';

/**
 * The contract between the stack and the Lambdas: each function's environment, as the template
 * sets it, must satisfy the reader its handler runs at cold start. A name added on one side
 * only fails here, not at the first invocation in an account.
 */
describe('Contract: Lambda environments in the template satisfy the handlers\' readers', () => {
  const template = Template.fromStack(buildKeyrotorStack(tokenTestConfig()));
  const functions = template.findResources('AWS::Lambda::Function');

  /** The environment a function would see, with CloudFormation references standing in as ARNs. */
  function environmentOf(service: string): NodeJS.ProcessEnv {
    const entry = Object.values(functions).find(
      (resource) => (resource.Properties?.Environment?.Variables as Record<string, unknown> | undefined)?.POWERTOOLS_SERVICE_NAME === service,
    );
    if (!entry) throw new Error(`no function with POWERTOOLS_SERVICE_NAME ${service} in the template`);
    const variables = entry.Properties.Environment.Variables as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : `arn:aws:resolved-at-deploy:${name}`]),
    );
  }

  it.each([
    ['keyrotor-rotate', readRotationEnvironment],
    ['keyrotor-revoke', readLedgerEnvironment],
    ['keyrotor-compromise', readLedgerEnvironment],
    ['keyrotor-refresh-tokens', readRefreshEnvironment],
    ['keyrotor-notify', readNotifyEnvironment],
    ['keyrotor-sweep', readSweepEnvironment],
  ] as const)('%s', (service, read) => {
    expect(() => read(environmentOf(service))).not.toThrow();
  });

  it('no function receives a secret value in its environment (names and ARNs only)', () => {
    for (const resource of Object.values(functions)) {
      const variables = (resource.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
      // The names are checked here; the values go to the suite-wide secret scan, which knows every key the run made.
      recordCapture('lambda-environment', JSON.stringify(variables));
      for (const [name] of Object.entries(variables)) expect(name).toMatch(/^(POWERTOOLS_[A-Z_]+|NODE_OPTIONS|KEYROTOR_[A-Z_]+)$/);
      expect(Object.keys(variables).some((name) => /SECRET_VALUE|API_KEY|PRIVATE_KEY|PASSWORD|CLIENT_SECRET|TOKEN$/.test(name))).toBe(false);
    }
  });
});
