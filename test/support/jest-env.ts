// Quiet, deterministic defaults for every test process.
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'keyrotor-test';
process.env.POWERTOOLS_SERVICE_NAME ??= 'keyrotor-test';
process.env.AWS_REGION ??= 'eu-west-1';
process.env.AWS_ACCESS_KEY_ID ??= 'testing';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
