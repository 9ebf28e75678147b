#!/usr/bin/env node
// npm run test:all-backends: the vitest suite on every backend this machine can run.
//
//   1. The normal build (build/, node-gyp; or ASYNCHAT_ADDON if set): `vitest run`, which
//      runs every test file once per backend it has (epoll and poll on Linux; kqueue and
//      poll on macOS and the BSDs).
//   2. Linux only: kqueue, against the emulation in test/kqueue-shim. Builds the shim and
//      runs its self-test, builds the addon with cmake-js into build-kqueue, and runs
//      `vitest run` on it with ASYNCHAT_TEST_BACKENDS=kqueue.
//
// Every step runs even when an earlier one failed; the exit status is 1 if any failed.
//   --no-build     reuse build-kqueue as it is
//   --kqueue-only  step 2 alone (on Linux)
//   -- <args>      passed on to vitest (e.g. a file filter)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildShim } from '../test/kqueue-shim/build.mjs';
import { splitArgs } from './script-args.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const { ours, vitestArgs } = splitArgs();
const noBuild = ours.includes('--no-build');
const kqueueOnly = ours.includes('--kqueue-only');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'asynchat-backends-'));
const results = [];

function banner(text) {
  console.log(`\n${'='.repeat(78)}\n== ${text}\n${'='.repeat(78)}`);
}

function run(cmd, args, env = process.env) {
  console.log(`$ ${cmd === process.execPath ? 'node' : path.relative(root, cmd) || cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} exited with ${r.status ?? r.signal}`);
}

// Runs vitest; returns "N passed, M failed" from its JSON report.
function vitest(env, label) {
  const report = path.join(tmp, `${label}.json`);
  const shown = Object.entries(env)
    .filter(([k]) => k.startsWith('ASYNCHAT_') && env[k] !== process.env[k])
    .map(([k, v]) => `${k}=${v}`);
  if (shown.length) console.log(shown.join(' '));
  let error = null;
  try {
    run(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs], env);
  } catch (e) {
    error = e;
  }
  let counts = '';
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    counts = `${r.numPassedTests} passed, ${r.numFailedTests} failed` +
      (r.numPendingTests + r.numTodoTests ? `, ${r.numPendingTests + r.numTodoTests} skipped` : '') +
      `, ${r.testResults.length} file runs`;
    if (r.numTotalTests === 0 && !error) error = new Error('no tests ran');
  }
  if (error) throw Object.assign(error, { counts });
  return counts;
}

function step(title, fn) {
  banner(title);
  const start = Date.now();
  let ok = true;
  let detail = '';
  try {
    detail = fn() ?? '';
  } catch (e) {
    ok = false;
    detail = [e.counts, e.message].filter(Boolean).join('; ');
    console.error(`\n!! ${title}: ${e.message}`);
  }
  results.push({ title, ok, detail, seconds: (Date.now() - start) / 1000 });
}

// The backends vitest.config.ts picks for an addon (an emulated kqueue only when named).
function backendsOf(addon) {
  const all = createRequire(import.meta.url)(addon).backends.split(',');
  return process.platform === 'linux' ? all.filter((b) => b !== 'kqueue') : all;
}

const total = Date.now();

// 1. The normal build.
const normalAddon = process.env.ASYNCHAT_ADDON
  ? path.resolve(root, process.env.ASYNCHAT_ADDON)
  : path.join(root, 'build', 'Release', 'asynchat.node');
let normalBackends = [];
try {
  normalBackends = backendsOf(normalAddon);
} catch (e) {
  // step() below reports it.
}
// (With --kqueue-only too where kqueue is native: this is where it runs.)
const normalTitle = `${normalBackends.join(' + ') || 'native backends'}: ${path.relative(root, normalAddon)}`;
if (!kqueueOnly || process.platform !== 'linux') step(normalTitle, () => {
  if (!existsSync(normalAddon)) {
    throw new Error(`${path.relative(root, normalAddon)} is missing: run \`npm run build:native\` first`);
  }
  if (normalBackends.length === 0) throw new Error(`cannot load ${normalAddon}`);
  const env = { ...process.env };
  delete env.ASYNCHAT_TEST_BACKENDS;  // all of them
  return vitest(env, 'native');
});

// 2. kqueue on Linux, against the emulation library.
if (process.platform === 'linux') {
  const kqueueAddon = path.join(root, 'build-kqueue', 'Release', 'asynchat.node');
  step('kqueue (emulated over epoll: test/kqueue-shim): build-kqueue', () => {
    if (!noBuild) {
      console.log('-- kqueue shim: build and self-test');
      const shim = buildShim({ check: true });
      console.log('-- addon: cmake-js into build-kqueue');
      run(bin('cmake-js'), ['rebuild', '--out', 'build-kqueue'], {
        ...process.env,
        ASYNCHAT_KQUEUE_INCLUDE: path.relative(root, shim.include),
        ASYNCHAT_KQUEUE_LIB: path.relative(root, shim.lib),
      });
    }
    if (!existsSync(kqueueAddon)) throw new Error('build-kqueue has no addon (run without --no-build)');
    const built = createRequire(import.meta.url)(kqueueAddon).backends.split(',');
    if (!built.includes('kqueue')) throw new Error(`build-kqueue has no kqueue backend (it has ${built})`);
    console.log('-- vitest');
    return vitest(
      { ...process.env, ASYNCHAT_ADDON: kqueueAddon, ASYNCHAT_TEST_BACKENDS: 'kqueue' },
      'kqueue',
    );
  });
} else if (normalBackends.includes('kqueue')) {
  console.log('\n(kqueue is native here: step 1 covered it)');
}

rmSync(tmp, { recursive: true, force: true });
banner('summary');
for (const r of results) {
  console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.title}  (${r.seconds.toFixed(1)} s)${r.detail ? `\n      ${r.detail}` : ''}`);
}
console.log(`total ${((Date.now() - total) / 1000).toFixed(1)} s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
