import * as fc from 'fast-check';
import { PROVIDER_IDS } from '../../../lambdas/core/contracts';
import { ConfigError } from '../../../lambdas/core/errors';
import { parseConfig } from '../../../lib/config';

/**
 * Property tests of parseConfig on arbitrary JSON-ish objects, as a config file can hold them: keys
 * known and unknown (misspelt, `__proto__`, dotted, empty), values of every type, nested entries with
 * fields of every type. config.test.ts covers type-level fuzzing of known fields; these check that
 * every issue names a field path that exists in the input (or a documented field a rule talks about).
 */

const TOP_LEVEL = ['alerts', 'defaults', 'reader', 'credentials', 'tokens', 'tokenRefresh', 'events', 'sweep'] as const;
const ENTRY_FIELDS = ['id', 'provider', 'environment', 'baseUrl', 'rotationIntervalDays', 'description', 'grant', 'tokenUrl', 'tenantId', 'scopes', 'clientAuth', 'credential'] as const;
const ODD_KEYS = ['__proto__', 'constructor', 'toString', '', 'a.b', 'a b', '["x"]', 'credentials ', 'Credentials', 'ids[0]', '0', 'emails\n', 'é'] as const;

/** A JSON object built the way JSON.parse builds one from a file: own properties only, `__proto__` included. */
function jsonObject(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const text = `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`).join(',')}}`;
  return JSON.parse(text) as Record<string, unknown>;
}

const keyFrom = (known: readonly string[]) => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });

/** Values a field may hold, near-valid ones among them. */
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(...PROVIDER_IDS, 'production', 'sandbox', 'client-credentials', 'imburse-hmac', 'https://acme.example.com', 'http://127.0.0.1:8080', 'acme', 'payments', 30, 0, -1, 1e9),
);

const entry = fc.array(fc.tuple(keyFrom(ENTRY_FIELDS), fieldValue), { maxLength: 8 }).map(jsonObject);
const section = fc.array(fc.tuple(fc.string({ maxLength: 20 }), fieldValue), { maxLength: 4 }).map(jsonObject);

const topLevelValue = fc.oneof(fc.array(fc.oneof({ weight: 4, arbitrary: entry }, { weight: 1, arbitrary: fieldValue }), { maxLength: 4 }), section, fieldValue, fc.record({ emails: fc.array(fc.oneof(fc.emailAddress(), fc.string()), { maxLength: 3 }) }));

const config = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.tuple(keyFrom(TOP_LEVEL), topLevelValue), { maxLength: 8 }).map(jsonObject) },
  { weight: 1, arbitrary: fc.jsonValue() },
  { weight: 1, arbitrary: fc.anything() },
);

type Segment = string | number;

/** Parses the field path an issue starts with (`tokens[0].grant`, `["a b"].x`, `(top level)`), and the rest after `: `. */
function parseIssue(issue: string): { path: Segment[]; message: string } | undefined {
  if (issue.startsWith('(top level): ')) return { path: [], message: issue.slice('(top level): '.length) };
  const path: Segment[] = [];
  let rest = issue;
  for (;;) {
    const token = (path.length === 0 ? /^([A-Za-z_$][\w$-]*)/ : /^\.([A-Za-z_$][\w$-]*)/).exec(rest) ?? /^\[(\d+)\]/.exec(rest) ?? /^\[("(?:[^"\\]|\\.)*")\]/.exec(rest);
    if (!token) break;
    const [whole, raw = ''] = token;
    path.push(whole.startsWith('[') ? (raw.startsWith('"') ? (JSON.parse(raw) as string) : Number(raw)) : raw);
    rest = rest.slice(whole.length);
  }
  if (path.length === 0 || !rest.startsWith(': ')) return undefined;
  return { path, message: rest.slice(2) };
}

/**
 * Why `path` does not name a field of `input`, or `undefined` when it does: its first segment is a
 * key of the input or a documented top-level field (a rule may name a field left out, e.g. a
 * defaulted `defaults.gracePeriodHours`), and every array index in it exists in the input.
 */
function pathProblem(input: unknown, path: readonly Segment[]): string | undefined {
  const [first] = path;
  if (first === undefined) return undefined;
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
  if (typeof first !== 'string' || !((isObject(input) && Object.hasOwn(input, first)) || (TOP_LEVEL as readonly string[]).includes(first))) return `first segment ${JSON.stringify(first)} is neither an input key nor a config field`;
  let node: unknown = input;
  for (const segment of path) {
    if (typeof segment === 'number') {
      if (!Array.isArray(node) || segment >= node.length) return `index [${segment}] is not in the input`;
      node = node[segment];
    } else {
      node = isObject(node) && Object.hasOwn(node, segment) ? node[segment] : undefined;
    }
  }
  return undefined;
}

describe('Function: parseConfig (properties)', () => {
  it('never crashes: it returns a config or throws a ConfigError whose issues each name a field path of the input', () => {
    fc.assert(
      fc.property(config, (input) => {
        // Act
        let error: unknown;
        try {
          parseConfig(input);
          return;
        } catch (caught) {
          error = caught;
        }

        // Assess
        expect(error).toBeInstanceOf(ConfigError);
        const { issues, message } = error as ConfigError;
        expect(issues.length).toBeGreaterThan(0);
        for (const issue of issues) {
          expect({ issue, oneLine: !issue.includes('\n') }).toEqual({ issue, oneLine: true });
          const parsed = parseIssue(issue);
          expect({ issue, parsed: parsed !== undefined && parsed.message.trim().length > 0 }).toEqual({ issue, parsed: true });
          expect({ issue, problem: pathProblem(input, parsed!.path) }).toEqual({ issue, problem: undefined });
          expect(message).toContain(`  - ${issue}`);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('reports every unknown key by its own path, however it is spelt', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ODD_KEYS), fc.jsonValue({ maxDepth: 1 }), (key, value) => {
        // Prepare
        const input = jsonObject([
          ['credentials', [{ id: 'acme', provider: 'thought-industries', environment: 'production', baseUrl: 'https://acme.thoughtindustries.com' }]],
          [key, value],
        ]);

        // Act
        let issues: readonly string[] = [];
        try {
          parseConfig(input);
        } catch (error) {
          issues = (error as ConfigError).issues;
        }

        // Assess
        const unknown = issues.map(parseIssue).filter((parsed) => parsed?.message.startsWith('is not a known field'));
        expect(unknown.map((parsed) => parsed!.path)).toEqual([[key]]);
      }),
    );
  });
});

describe('Function: parseIssue (the checker itself)', () => {
  it.each([
    ['tokens[0].grant: must be …', ['tokens', 0, 'grant']],
    ['["a b"].x: is not a known field', ['a b', 'x']],
    ['credentials[2]["__proto__"]: is not a known field', ['credentials', 2, '__proto__']],
    ['(top level): must be an object', []],
  ])('reads the path of %s', (issue, path) => {
    // Act & Assess
    expect(parseIssue(issue)?.path).toEqual(path);
  });

  it('finds a path with an index the input does not have', () => {
    // Assess
    expect(pathProblem({ tokens: [{}] }, ['tokens', 3, 'grant'])).toBe('index [3] is not in the input');
    expect(pathProblem({}, ['nonsense'])).toBe('first segment "nonsense" is neither an input key nor a config field');
    expect(parseIssue('no path here')).toBeUndefined();
  });
});
