// Quiet, deterministic defaults for every test process.
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'keyrotor-test';
process.env.POWERTOOLS_SERVICE_NAME ??= 'keyrotor-test';
process.env.AWS_REGION ??= 'eu-west-1';
process.env.AWS_ACCESS_KEY_ID ??= 'testing';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';

// Property tests explore new inputs on every local run; CI replays one fixed seed so a run is
// reproducible (a failure found locally is fixed, not left to fail someone's CI at random).
import * as fc from 'fast-check';
if (process.env.CI && !['', '0', 'false'].includes(process.env.CI)) fc.configureGlobal({ seed: 20261123 });
