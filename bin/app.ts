/**
 * The keyrotor CDK app: validated config in, one stack out, checked by cdk-nag's AWS Solutions and
 * NIST 800-53 rev 5 rules (findings that do not apply are acknowledged, with reasons, in lib/compliance.ts).
 *
 *   npx cdk synth                                  # reads keyrotor.config.json (cdk.json context)
 *   npx cdk synth -c keyrotor:config=prod.json     # another config file
 */
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { ConfigError } from '../lambdas/core/errors';
import { acknowledgeNistFindings } from '../lib/compliance';
import { CONFIG_CONTEXT_KEY, DEFAULT_CONFIG_PATH, loadConfig, type KeyrotorConfig } from '../lib/config';
import { KeyrotorStack } from '../lib/keyrotor-stack';

const app = new App();

const configPath = path.resolve(String(app.node.tryGetContext(CONFIG_CONTEXT_KEY) ?? DEFAULT_CONFIG_PATH));
let config: KeyrotorConfig;
try {
  config = loadConfig(configPath);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // A person fixes a config file from the list of problems; a stack trace would only bury it.
  console.error(error.message);
  process.exit(1);
}

const stack = new KeyrotorStack(app, 'Keyrotor', {
  config,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
acknowledgeNistFindings(stack);

Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
