#!/usr/bin/env node
// npm run test:asan: the vitest suite against an AddressSanitizer build of the addon (Linux).
//
//   1. Builds it: cmake-js into build-asan with -DASYNCHAT_ASAN=ON (what npm run build:asan does).
//   2. Checks that the build is instrumented and that libasan loads: Node itself is not built
//      with ASan, so the runtime is preloaded (LD_PRELOAD) into every process of the run.
//   3. Runs `vitest run` with ASYNCHAT_ADDON=build-asan/Release/asynchat.node. Its workers are
//      child processes and inherit LD_PRELOAD and ASAN_OPTIONS.
//
// ASan stops a process at its first error (exit status 1, which fails vitest) and writes the
// report to build-asan/asan-logs/; the reports are printed at the end and fail the run even
// when the process that hit the error was not a test worker.
//   --no-build     reuse build-asan as it is
//   --kqueue       also compile the kqueue backend against test/kqueue-shim and test it too
//   -- <args>      passed on to vitest
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitArgs } from './script-args.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build-asan');
const addon = path.join(out, 'Release', 'asynchat.node');
const logs = path.join(out, 'asan-logs');
const { ours, vitestArgs } = splitArgs();
const started = Date.now();

// Detect leaks no (Node does not free everything at exit); stop at the first error.
const asanOptions = [
  'detect_leaks=0',
  'halt_on_error=1',
  'abort_on_error=0',
  'exitcode=1',
  `log_path=${path.join(logs, 'asan')}`,
];

function say(text) {
  console.log(`\n== test:asan: ${text}`);
}

function fail(text) {
  console.error(`\n!! test:asan: ${text}`);
  process.exit(1);
}

function run(cmd, args, env = process.env) {
  console.log(`$ ${path.relative(root, cmd) || cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

if (process.platform !== 'linux') fail('runs on Linux only (it preloads libasan with LD_PRELOAD)');

const buildEnv = { ...process.env };
delete buildEnv.ASYNCHAT_KQUEUE_INCLUDE;
delete buildEnv.ASYNCHAT_KQUEUE_LIB;
let backends = null;  // vitest.config.mts's choice
if (ours.includes('--kqueue')) {
  const { buildShim } = await import('../test/kqueue-shim/build.mjs');
  const shim = buildShim();
  buildEnv.ASYNCHAT_KQUEUE_INCLUDE = path.relative(root, shim.include);
  buildEnv.ASYNCHAT_KQUEUE_LIB = path.relative(root, shim.lib);
  backends = 'epoll,poll,kqueue';
}

if (!ours.includes('--no-build')) {
  say('build (cmake-js, -DASYNCHAT_ASAN=ON) into build-asan');
  const cmakeJs = path.join(root, 'node_modules', '.bin', 'cmake-js');
  if (run(cmakeJs, ['rebuild', '--out', 'build-asan', '--CDASYNCHAT_ASAN=ON'], buildEnv) !== 0) {
    fail('the build failed');
  }
}
if (!existsSync(addon)) fail(`${path.relative(root, addon)} is missing (run without --no-build)`);

say('check that ASan is active');
// The runtime of the compiler that built the addon.
const cache = readFileSync(path.join(out, 'CMakeCache.txt'), 'utf8');
if (!/^ASYNCHAT_ASAN:BOOL=ON$/m.test(cache)) fail('build-asan was not configured with ASYNCHAT_ASAN=ON');
const cxx = /^CMAKE_CXX_COMPILER:\w+=(.+)$/m.exec(cache)?.[1] ?? 'c++';
const libasan = execFileSync(cxx, ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
if (!path.isAbsolute(libasan) || !existsSync(libasan)) fail(`${cxx} has no libasan.so (got "${libasan}")`);
if (!readFileSync(addon).includes('__asan_report_')) fail(`${path.relative(root, addon)} is not instrumented`);
const env = {
  ...process.env,
  ASYNCHAT_ADDON: addon,
  LD_PRELOAD: [libasan, process.env.LD_PRELOAD].filter(Boolean).join(' '),
  // The caller's own options come last, so they win.
  ASAN_OPTIONS: [...asanOptions, process.env.ASAN_OPTIONS].filter(Boolean).join(':'),
};
if (backends) env.ASYNCHAT_TEST_BACKENDS = backends;
// Loads the addon the way the workers will, and asks the process which runtime it has.
const probe = spawnSync(process.execPath, ['-e', `
  const addon = require(${JSON.stringify(addon)});
  const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
  console.log(JSON.stringify({ backends: addon.backends, asan: /libasan\\.so/.test(maps) }));
`], { env, encoding: 'utf8' });
let loaded = null;
try {
  loaded = JSON.parse(probe.stdout);
} catch {
  // reported below
}
if (probe.status !== 0 || !loaded?.asan) {
  fail(`the addon does not load with libasan preloaded:\n${probe.stdout}${probe.stderr}`);
}
console.log(`libasan: ${libasan} (preloaded, and mapped in a test process)`);
console.log(`addon: ${path.relative(root, addon)} (instrumented; backends ${loaded.backends})`);
console.log(`ASAN_OPTIONS=${env.ASAN_OPTIONS}`);
if (backends) console.log(`ASYNCHAT_TEST_BACKENDS=${backends}`);

say('vitest');
rmSync(logs, { recursive: true, force: true });
mkdirSync(logs, { recursive: true });
const status = run(path.join(root, 'node_modules', '.bin', 'vitest'), ['run', ...vitestArgs], env);

const reports = readdirSync(logs).map((f) => path.join(logs, f));
for (const file of reports) {
  console.error(`\n---- ${path.relative(root, file)}\n${readFileSync(file, 'utf8')}`);
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (reports.length > 0) fail(`AddressSanitizer reported ${reports.length} error(s), above (${seconds} s)`);
if (status !== 0) fail(`vitest failed (exit status ${status}; no ASan report) (${seconds} s)`);
say(`passed, no ASan report (${seconds} s)`);
