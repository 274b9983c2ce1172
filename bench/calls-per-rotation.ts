/**
 * Counts the Secrets Manager and platform calls of one full Thought Industries rotation
 * (keyrotor submit + the four steps) and of one fully automatic rotation, next to the flow of
 * AWS's rotation template measured the same way in this run. Each keyrotor flow is counted as the
 * deployed rotation Lambda runs it (VersionCachingStore; the four steps on one warm container, as
 * Secrets Manager normally invokes them) and with no memory between steps (each step on a cold
 * container). Prints figures; asserts nothing. Run: npx tsx bench/calls-per-rotation.ts
 */

/** The rotation Lambda's store: warm (versions remembered across steps) or cold (nothing remembered). */
const lambdaStore = (inner: InMemorySecretStore, warm: boolean): SecretStore => (warm ? new VersionCachingStore(inner) : inner);
import { runRotationStep } from '../lambdas/core/rotation';
import { submitKey } from '../lambdas/core/submit';
import { revokeOldKey } from '../lambdas/core/revocation';
import { VersionCachingStore } from '../lambdas/adapters/version-cache';
import type { SecretStore } from '../lambdas/ports/secret-store';
import { FakeApiPlatform } from '../test/support/fakes/fake-api-provider';
import { createProviderRegistry } from '../lambdas/providers/registry';
import { SILENT_LOGGER } from '../lambdas/ports/logger';
import { InMemorySecretStore } from '../test/support/fakes/in-memory-secret-store';
import { stubThoughtIndustries } from '../test/support/fakes/platform-fetch';
import { NO_WAIT, rotationFakes, TI_LIVE_NEW, TI_LIVE_OLD, tiTags, tiValue } from '../test/support/fixtures';

function tally(ops: string[]): string {
  const counts = new Map<string, number>();
  for (const op of ops) counts.set(op, (counts.get(op) ?? 0) + 1);
  return [...counts].map(([op, n]) => `${op}×${n}`).join(', ');
}

async function keyrotorRotation(warm: boolean) {
  const store = new InMemorySecretStore();
  const platform = stubThoughtIndustries([TI_LIVE_OLD, TI_LIVE_NEW]);
  const deps = { store: lambdaStore(store, warm), providers: createProviderRegistry({ fetch: platform.fetch }), logger: SILENT_LOGGER, propagation: NO_WAIT, now: () => new Date(), ...rotationFakes() };
  store.rotationFunction = (event) => runRotationStep(event, deps);
  const arn = store.create('keyrotor/bench', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
  await submitKey(arn, TI_LIVE_NEW, { ...deps, store });
  if (store.rotationFailures.length > 0) throw new Error('rotation failed');
  const rotateAt = store.calls.findIndex((c) => c.op === 'RotateSecret');
  return { cli: store.calls.slice(0, rotateAt + 1).map((c) => c.op), lambda: store.calls.slice(rotateAt + 1).map((c) => c.op), platform: platform.calls.length };
}

/** A fully automatic rotation (API-issued keys, fake platform) including the deferred revocation. */
async function automaticRotation(warm: boolean) {
  const store = new InMemorySecretStore();
  const platform = new FakeApiPlatform();
  const fakes = rotationFakes();
  const deps = { store: lambdaStore(store, warm), providers: platform.registry(), logger: SILENT_LOGGER, propagation: NO_WAIT, now: () => new Date(), ...fakes };
  store.rotationFunction = (event) => runRotationStep(event, deps);
  const key = platform.addKey();
  const arn = store.create('keyrotor/bench-auto', {
    value: JSON.stringify({ provider: 'imburse', environment: 'sandbox', baseUrl: 'https://sandbox-api.imburse.net', tenantId: 't', ...key }),
    tags: {},
  });
  await store.scheduledRotation(arn);
  if (store.rotationFailures.length > 0) throw new Error('rotation failed');
  const lambda = store.calls.map((c) => c.op);
  const revokerFrom = store.calls.length;
  for (const request of fakes.revocations.due(new Date(Date.now() + 48 * 3_600_000))) await revokeOldKey(request, { ...deps, store });
  return { lambda, revoker: store.calls.slice(revokerFrom).map((c) => c.op), platform: [...platform.calls], ledger: fakes.ledger.events.length };
}

/** The call pattern of aws-samples' rotation template (lambda_function.py), replayed against the same fake. */
async function awsTemplateRotation() {
  const store = new InMemorySecretStore();
  const arn = store.create('keyrotor/template', { value: tiValue(TI_LIVE_OLD), tags: tiTags() });
  const token = store.openPendingVersion(arn);
  const calls0 = store.calls.length;
  // lambda_handler: DescribeSecret on every step
  await store.describe(arn);
  // create_secret: get AWSCURRENT, try AWSPENDING (not found), GetRandomPassword (not counted by the fake: +1), PutSecretValue
  await store.getValue(arn, { stage: 'AWSCURRENT' });
  await store.getValue(arn, { versionId: token, stage: 'AWSPENDING' }).catch(() => undefined);
  await store.putPendingValue(arn, token, tiValue(TI_LIVE_NEW));
  await store.describe(arn); // set_secret (template: get current, previous, pending)
  await store.getValue(arn, { stage: 'AWSCURRENT' });
  await store.getValue(arn, { versionId: token, stage: 'AWSPENDING' });
  await store.describe(arn); // test_secret: get pending
  await store.getValue(arn, { versionId: token, stage: 'AWSPENDING' });
  await store.describe(arn); // finish_secret: describe again, then move AWSCURRENT
  await store.describe(arn);
  await store.moveStage(arn, 'AWSCURRENT', token, Object.entries(store.stagesOf(arn)).find(([, s]) => s.includes('AWSCURRENT'))![0]);
  return store.calls.slice(calls0).map((c) => c.op).concat('GetRandomPassword');
}

async function main() {
  const template = await awsTemplateRotation();
  console.log(`AWS rotation template (Lambda): ${template.length} Secrets Manager calls (${tally(template)})`);
  for (const warm of [true, false]) {
    const label = warm ? 'warm: the four steps on one container (as deployed)' : 'cold: every step on a new container';
    const ours = await keyrotorRotation(warm);
    const auto = await automaticRotation(warm);
    console.log(`\n${label}`);
    console.log('  Thought Industries (person-made key: submit + four steps)');
    console.log(`    rotation Lambda   : ${ours.lambda.length} Secrets Manager calls (${tally(ours.lambda)}); ratio to the template ${(ours.lambda.length / template.length).toFixed(2)}`);
    console.log(`    keyrotor submit   : ${ours.cli.length} Secrets Manager calls (${tally(ours.cli)})`);
    console.log(`    platform calls    : ${ours.platform} (1 at submit, 1 in testSecret)`);
    console.log('  Imburse-shaped (API-issued key, no person)');
    console.log(`    rotation Lambda   : ${auto.lambda.length} Secrets Manager calls (${tally(auto.lambda)}); ratio to the template ${(auto.lambda.length / template.length).toFixed(2)}`);
    console.log(`    revoker (after grace): ${auto.revoker.length} Secrets Manager calls (${tally(auto.revoker)})`);
    console.log(`    platform calls    : ${auto.platform.length} (${tally(auto.platform)}); ledger writes ${auto.ledger}`);
  }
}

void main();
