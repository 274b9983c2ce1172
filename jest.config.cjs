/** One jest run covers unit, construct and integration tests (see README: `npm test`). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.[cm]?[tj]sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // @middy/core 7 is ESM-only: map it to its file and let swc transform it.
  moduleNameMapper: { '^@middy/(core|util)$': '<rootDir>/node_modules/@middy/$1/index.js' },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  setupFiles: ['<rootDir>/test/support/jest-env.ts'],
  // The suite-wide secret scan (test/support/secret-scan.ts): each test file flushes what its helpers captured,
  // the teardown scans it all for every recorded secret and fails the run on a find.
  setupFilesAfterEnv: ['<rootDir>/test/support/secret-scan-setup.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
};
