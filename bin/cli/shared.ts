import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseArgs } from 'node:util';
import { EventBridgePublisher } from '../../lambdas/adapters/eventbridge-publisher';
import { DynamoDbLedger } from '../../lambdas/adapters/dynamodb-ledger';
import { SecretsManagerInventory } from '../../lambdas/adapters/secrets-manager-inventory';
import { SecretsManagerStore } from '../../lambdas/adapters/secrets-manager-store';
import type { EventPublisher } from '../../lambdas/core/events';
import { DEFAULT_PROPAGATION, type PropagationPolicy } from '../../lambdas/core/verification';
import type { Ledger } from '../../lambdas/ports/ledger';
import type { SecretInventory } from '../../lambdas/ports/secret-inventory';
import type { SecretStore } from '../../lambdas/ports/secret-store';
import { createProviderRegistry, type ProviderRegistry } from '../../lambdas/providers/registry';
import type { CliIo } from './io';

/** AWS options every command takes, as the AWS CLI's `--region` and `--profile`. */
export interface AwsOptions {
  readonly region?: string;
  readonly profile?: string;
}

/** An SDK client configuration from `--region`/`--profile` (the SDK's own defaults otherwise). */
export function clientConfig({ region, profile }: AwsOptions): { region?: string; profile?: string } {
  return { ...(region ? { region } : {}), ...(profile ? { profile } : {}) };
}

/** What commands are built from; tests replace parts of it. */
export interface CliDeps {
  readonly store: (aws: AwsOptions) => SecretStore;
  /** Lists managed secrets by tag (status, fleet operations). */
  readonly inventory: (aws: AwsOptions) => SecretInventory;
  readonly ledger: (aws: { region?: string; profile?: string; tableName: string }) => Ledger;
  /** Where `compromised` publishes its outcome (keyrotor's bus). */
  readonly events: (aws: { region?: string; profile?: string; busName: string }) => EventPublisher;
  readonly providers: ProviderRegistry;
  readonly propagation: PropagationPolicy;
  readonly now: () => Date;
}

export const DEFAULT_CLI_DEPS: CliDeps = {
  store: (aws) => new SecretsManagerStore(new SecretsManagerClient(clientConfig(aws))),
  inventory: (aws) => new SecretsManagerInventory(new SecretsManagerClient(clientConfig(aws))),
  ledger: ({ tableName, ...aws }) => new DynamoDbLedger(tableName, new DynamoDBClient(clientConfig(aws))),
  events: ({ busName, ...aws }) => new EventBridgePublisher(busName, new EventBridgeClient(clientConfig(aws))),
  providers: createProviderRegistry(),
  propagation: DEFAULT_PROPAGATION,
  now: () => new Date(),
};

/** The ledger table `cdk deploy` creates; `--ledger-table` or KEYROTOR_LEDGER_TABLE override it. */
export const DEFAULT_LEDGER_TABLE = 'keyrotor-ledger';

/** keyrotor's bus as `cdk deploy` creates it; `--event-bus` or KEYROTOR_EVENT_BUS override it. */
export const DEFAULT_EVENT_BUS = 'keyrotor';

export const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  'ledger-table': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  region: { type: 'string' },
  profile: { type: 'string' },
} as const;

export type Printer = { result(human: string, json: Record<string, unknown>): void };

export function printer(io: CliIo, json: boolean): Printer {
  return {
    result(human, data) {
      io.stdout.write(json ? `${JSON.stringify(data)}\n` : `${human}\n`);
    },
  };
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;
export type ParsedValues = Record<string, string | boolean | undefined>;

export function parse(args: readonly string[], extra: OptionSpec = {}): { values: ParsedValues; positionals: string[] } {
  const { values, positionals } = parseArgs({ args: [...args], options: { ...GLOBAL_OPTIONS, ...extra }, allowPositionals: true, strict: true });
  return { values: values as ParsedValues, positionals };
}

export function awsOptions(values: ParsedValues): AwsOptions {
  return { region: values.region as string | undefined, profile: values.profile as string | undefined };
}

export function ledgerFor(values: ParsedValues, io: CliIo, deps: CliDeps): Ledger {
  const tableName = (values['ledger-table'] as string | undefined) ?? io.env.KEYROTOR_LEDGER_TABLE ?? DEFAULT_LEDGER_TABLE;
  return deps.ledger({ ...awsOptions(values), tableName });
}
