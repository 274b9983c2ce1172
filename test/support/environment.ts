/**
 * Sets `variables` in `process.env` for the enclosing describe block (beforeAll) and puts back
 * what was there before (afterAll), so a composition-root test reads the environment a deployed
 * handler would, without leaking it into other tests of the worker.
 */
export function useEnvironment(variables: Readonly<Record<string, string>>): void {
  const saved: NodeJS.ProcessEnv = {};
  beforeAll(() => {
    for (const [name, value] of Object.entries(variables)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });
  afterAll(() => {
    for (const name of Object.keys(variables)) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
}
