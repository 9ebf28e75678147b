// Compiles src/ to CommonJS (dist/cjs, with types) and writes the ES module entry
// (dist/esm), a thin wrapper over the same CommonJS build: ESM and CommonJS users then share
// one socketMap and one set of classes, instead of two copies that do not know each other.
// Then the examples, compiled into dist/examples (scripts/build-examples.mjs).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });

const esm = path.join(root, 'dist', 'esm');
mkdirSync(esm, { recursive: true });
writeFileSync(path.join(root, 'dist', 'cjs', 'package.json'), '{ "type": "commonjs" }\n');
writeFileSync(
  path.join(esm, 'index.mjs'),
  "export * from '../cjs/index.js';\nimport cjs from '../cjs/index.js';\nexport default cjs;\n",
);
writeFileSync(
  path.join(esm, 'index.d.mts'),
  "export * from '../cjs/index.js';\nimport * as cjs from '../cjs/index.js';\nexport default cjs;\n",
);

await import('./build-examples.mjs');
