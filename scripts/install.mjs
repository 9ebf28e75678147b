#!/usr/bin/env node
// npm's install hook. Where a prebuilt binary (prebuilds/) loads, nothing is compiled; otherwise
// node-gyp compiles the addon (node-gyp-build's own install logic, which does both). It always
// compiles, whatever prebuilds/ holds:
//   - in a clone of the repository (the TypeScript sources are there; the package has none),
//     so that the tests run the native code as it is now, not a binary from an earlier pack;
//   - under `npm rebuild` (npm_command=rebuild), so `npm rebuild asynchat` builds from source;
//   - when asked: ASYNCHAT_BUILD_FROM_SOURCE=1 (this package only; npm does not read it, so it
//     draws no warning and outlives npm's unknown-config deprecation), or the prebuild tools'
//     common switch for every such package, npm_config_build_from_source=true (also set by
//     `npm install --build-from-source`; npm 11 warns that it does not know that config).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const reason =
  existsSync(path.join(root, 'src', 'index.ts')) ? 'a clone of the repository'
  : env.npm_command === 'rebuild' ? 'npm rebuild'
  : env.npm_config_build_from_source === 'true' ? 'npm_config_build_from_source=true'
  : /^(1|true)$/i.test(env.ASYNCHAT_BUILD_FROM_SOURCE ?? '') ? 'ASYNCHAT_BUILD_FROM_SOURCE'
  : '';
if (reason) console.log(`asynchat: building the addon from source (${reason})`);

const bin = createRequire(import.meta.url).resolve('node-gyp-build/bin.js');
const result = spawnSync(process.execPath, [bin], {
  cwd: root,
  stdio: 'inherit',
  env: reason ? { ...env, npm_config_build_from_source: 'true' } : env,
});
if (result.error) throw result.error;
process.exit(result.status ?? 1);
