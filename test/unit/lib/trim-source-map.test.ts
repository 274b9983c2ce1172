import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { decode } from '@jridgewell/sourcemap-codec';
import { TRIM_SOURCE_MAP_SCRIPT } from '../../../lib/keyrotor-function';
import { bundleAsDeployed } from '../../support/deployed-bundle';

const ENTRY = path.join(__dirname, 'fixtures', 'source-map-entry.ts');

interface RawMap {
  readonly sources: string[];
  readonly names: string[];
  readonly mappings: string;
}

/** Every mapping as text: generated line and column → source, original line and column, name. */
function mappingsOf(map: RawMap): string[] {
  return decode(map.mappings).flatMap((line, generatedLine) =>
    line.filter((segment) => segment.length > 1).map((s) => `${generatedLine}:${s[0]} ${map.sources[s[1] as number]}:${s[2]}:${s[3]} ${s.length === 5 ? map.names[s[4]] : ''}`),
  );
}

describe('Script: lib/bundling/trim-source-map.cjs', () => {
  let dir: string;
  let file: string;
  let full: RawMap;
  let trimmed: RawMap;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'keyrotor-trim-'));
    file = path.join(dir, 'index.js');
    await bundleAsDeployed(ENTRY, file, { trimSourceMap: false });
    full = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as RawMap;
    execFileSync(process.execPath, [TRIM_SOURCE_MAP_SCRIPT, `${file}.map`]);
    trimmed = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as RawMap;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drops every mapping into node_modules, and the sources and names only they used', () => {
    expect(full.sources.some((source) => source.includes('node_modules/zod/'))).toBe(true);
    expect(trimmed.sources).toEqual([expect.stringMatching(/test\/unit\/lib\/fixtures\/source-map-entry\.ts$/)]);
    expect(trimmed.names.length).toBeLessThan(full.names.length);
    expect(trimmed.mappings.length).toBeLessThan(full.mappings.length / 5);
  });

  it('keeps every mapping into keyrotor code exactly as esbuild wrote it', () => {
    const ours = mappingsOf(full).filter((mapping) => !mapping.includes('node_modules/'));
    expect(ours.length).toBeGreaterThan(5);
    expect(mappingsOf(trimmed)).toEqual(ours);
  });

  it('still maps a stack through keyrotor code to the TypeScript line, with --enable-source-maps', () => {
    // Act
    const run = spawnSync(process.execPath, ['--enable-source-maps', '-e', `try { require(${JSON.stringify(file)}).refuse({ name: 'x' }) } catch (e) { process.stdout.write(e.stack) }`], { encoding: 'utf8' });
    // Assess: `throw` is on line 8 of the fixture
    expect(run.stdout).toContain('refused x');
    expect(run.stdout).toMatch(/source-map-entry\.ts:8:\d+/);
  });

  it('refuses to run without a file, saying how to call it', () => {
    const run = spawnSync(process.execPath, [TRIM_SOURCE_MAP_SCRIPT], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('usage: node trim-source-map.cjs <index.js.map>');
  });
});
