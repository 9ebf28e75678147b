#!/usr/bin/env node
// npm's install hook. Where a prebuilt binary (prebuilds/) fits and loads, nothing is compiled:
// the loader (dist/cjs/binding/find-addon.js) picks it as it will at run time, and a child
// process loads it (a binary that crashes on load must not take npm down with it). Otherwise
// node-gyp compiles the addon (node-gyp-build's install logic). It always compiles:
//   - in a clone of the repository (the TypeScript sources are there; the package has none),
//     so that the tests run the native code as it is now, not a binary from an earlier pack;
//   - under `npm rebuild` (npm_command=rebuild), so `npm rebuild asynchat` builds from source;
//   - on musl (Alpine): the prebuilt binaries are built for glibc (the loader tells the C
//     library with detect-libc; LIBC=musl|glibc overrides it, as it does node-gyp-build);
//   - when asked: ASYNCHAT_BUILD_FROM_SOURCE=1 (this package only; npm does not read it, so it
//     draws no warning and outlives npm's unknown-config deprecation), or the prebuild tools'
//     common switch for every such package, npm_config_build_from_source=true (also set by
//     `npm install --build-from-source`; npm 11 warns that it does not know that config).
// Before compiling it checks for what node-gyp runs (Python 3, make, a C++ compiler): where one
// is missing it fails with one message naming them and the command that installs them, instead
// of node-gyp's pages of output.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const env = process.env;
const loader = path.join(root, 'dist', 'cjs', 'binding', 'find-addon.js');
const clone = existsSync(path.join(root, 'src', 'index.ts'));

let reason =
  clone ? 'a clone of the repository'
  : env.npm_command === 'rebuild' ? 'npm rebuild'
  : env.npm_config_build_from_source === 'true' ? 'npm_config_build_from_source=true'
  : /^(1|true)$/i.test(env.ASYNCHAT_BUILD_FROM_SOURCE ?? '') ? 'ASYNCHAT_BUILD_FROM_SOURCE'
  : '';
const target = clone ? null : require(loader).addonTarget();
if (!reason && target.libc === 'musl') reason = 'the C library is musl, and the prebuilt binaries are built for glibc';
if (!reason) reason = prebuiltDoesNotLoad();
if (!reason) process.exit(0);
console.log(`asynchat: building the addon from source (${reason})`);

const missing = missingTools();
if (missing.length > 0) {
  const hint = clone ? 'a C++17 compiler, make and Python 3' : require(loader).toolchainHint(target.libc);
  console.error(
    `asynchat: cannot build the native addon: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not installed ` +
    `(building from source because ${reason}). Install them (${hint}), then run \`npm rebuild asynchat\`.`,
  );
  process.exit(1);
}

const bin = require.resolve('node-gyp-build/bin.js');
const result = spawnSync(process.execPath, [bin], {
  cwd: root,
  stdio: 'inherit',
  env: { ...env, npm_config_build_from_source: 'true' },
});
if (result.error) throw result.error;
process.exit(result.status ?? 1);

/** Why the prebuilt binary the loader picks cannot serve here, or '' when it loads. */
function prebuiltDoesNotLoad() {
  const probeEnv = { ...env };
  delete probeEnv.ASYNCHAT_ADDON;
  const probe = spawnSync(process.execPath, ['-e', `
    try {
      require(require(process.argv[1]).findAddon());
    } catch (err) {
      console.error(String(err.message).split('\\n')[0].slice(0, 400));
      process.exit(1);
    }`, loader], { env: probeEnv, encoding: 'utf8' });
  if (probe.status === 0) return '';
  return `no prebuilt binary loads here: ${probe.stderr.trim() || `the probe ended by ${probe.signal ?? `exit status ${probe.status}`}`}`;
}

/** What node-gyp needs and this system lacks: Python 3, make (gmake on the BSDs), a C++ compiler. */
function missingTools() {
  const onPath = (cmd) => path.isAbsolute(cmd) ? existsSync(cmd)
    : (env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, cmd)));
  const firstWord = (s) => s.trim().split(/\s+/)[0];
  const missing = [];
  const python = env.npm_config_python || env.PYTHON;
  if (python ? !onPath(python) : !onPath('python3')) missing.push(python ?? 'python3');
  const make = /bsd$/.test(process.platform) ? 'gmake' : 'make';
  if (!onPath(make)) missing.push(make);
  const cxx = env.CXX ? firstWord(env.CXX) : process.platform === 'darwin' ? 'clang++' : 'g++';
  if (!onPath(cxx)) missing.push(cxx);
  return missing;
}
