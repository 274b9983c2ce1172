#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Trims a Lambda bundle's source map to keyrotor's own code: every mapping into a file under
 * node_modules (the AWS SDK, Powertools, middy, zod) is dropped, with the sources and names only
 * they used. Frames in keyrotor's code still map to their TypeScript file and line; frames inside
 * a dependency show their place in the bundle. With the SDK bundled, its mappings are about nine
 * tenths of the map, and `--enable-source-maps` reads the whole map at cold start and searches it
 * for every stack it formats (bench/cold-start.ts measures the difference).
 *
 * Run by NodejsFunction after esbuild (KEYROTOR_BUNDLING's afterBundling hook), and by the tests'
 * bundleAsDeployed, as `node trim-source-map.cjs <index.js.map>`: rewrites the file in place. Plain
 * CommonJS, so the hook needs nothing but node.
 */
const { readFileSync, writeFileSync } = require('node:fs');
const { decode, encode } = require('@jridgewell/sourcemap-codec');

/** True for a source keyrotor does not own. */
const isDependency = (/** @type {string} */ source) => /(^|\/)node_modules\//.test(source);

/**
 * @param {{ version: number, sources: string[], names?: string[], mappings: string, [key: string]: unknown }} map
 * @returns {{ version: number, sources: string[], names: string[], mappings: string }}
 */
function trimSourceMap(map) {
  /** @type {Map<number, number>} */ const sourceIndex = new Map();
  /** @type {Map<number, number>} */ const nameIndex = new Map();
  /** @type {string[]} */ const sources = [];
  /** @type {string[]} */ const names = [];
  const lines = decode(map.mappings).map((line) =>
    line.flatMap((segment) => {
      if (segment.length === 1) return [];
      const source = map.sources[segment[1]];
      if (source === undefined || isDependency(source)) return [];
      if (!sourceIndex.has(segment[1])) {
        sourceIndex.set(segment[1], sources.length);
        sources.push(source);
      }
      const kept = /** @type {number[]} */ ([segment[0], /** @type {number} */ (sourceIndex.get(segment[1])), segment[2], segment[3]]);
      if (segment.length === 5) {
        const name = map.names?.[segment[4]];
        if (name !== undefined) {
          if (!nameIndex.has(segment[4])) {
            nameIndex.set(segment[4], names.length);
            names.push(name);
          }
          kept.push(/** @type {number} */ (nameIndex.get(segment[4])));
        }
      }
      return [/** @type {[number, number, number, number] | [number, number, number, number, number]} */ (kept)];
    }),
  );
  return { version: map.version, sources, names, mappings: encode(lines) };
}

/** Rewrites the source map at `file` in place, trimmed. */
function trimSourceMapFile(/** @type {string} */ file) {
  writeFileSync(file, JSON.stringify(trimSourceMap(JSON.parse(readFileSync(file, 'utf8')))));
}

module.exports = { trimSourceMap, trimSourceMapFile };

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node trim-source-map.cjs <index.js.map>\n');
    process.exit(2);
  }
  trimSourceMapFile(file);
}
