/**
 * The keyrotor CDK app: validated config in, one stack out, checked by cdk-nag's AWS Solutions rules.
 *
 *   npx cdk synth                                  # reads keyrotor.config.json (cdk.json context)
 *   npx cdk synth -c keyrotor:config=prod.json     # another config file
 */
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../lambdas/core/errors';
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

new KeyrotorStack(app, 'Keyrotor', {
  config,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
