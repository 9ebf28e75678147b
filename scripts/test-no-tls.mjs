#!/usr/bin/env node
// npm run test:no-tls: the addon as it is built where no OpenSSL is found (a Node without its
// OpenSSL headers), forced here with ASYNCHAT_NO_TLS=1 (scripts/native-config.js):
//
//   1. Builds it with cmake-js into build-no-tls (build/ and the other builds are not touched).
//   2. Checks that it loads and has no TLS (tlsVersion null, no OpenSSL call compiled in).
//   3. Runs a focused set of test files against it (ASYNCHAT_ADDON): test/tls/no-tls.test.ts
//      (tlsAvailable false, ERR_ASYNCHAT_NO_TLS from createTlsContext/startTls/stopTls, a
//      cleartext server and client), every TLS test file (each must skip itself with a note,
//      not fail), and a few cleartext files (servers, clients, the examples).
//
//   --no-build     reuse build-no-tls as it is
//   -- <args>      passed on to vitest
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitArgs } from './script-args.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = 'build-no-tls';
const addon = path.join(root, out, 'Release', 'asynchat.node');
const { ours, vitestArgs } = splitArgs();
const started = Date.now();

const FILES = [
  'test/tls/',                          // no-tls.test.ts runs; the others skip with a note
  'test/examples/tls.test.ts',          // skips with a note
  'test/asynchat/cpython-port.test.ts', // cleartext: CPython's asynchat tests, ported
  'test/asyncore/cpython-port.test.ts', // cleartext: CPython's asyncore tests, ported
  'test/examples/chat.test.ts',         // cleartext servers with real clients
  'test/examples/smtp.test.ts',         // smtp without --tls-cert offers no STARTTLS
];

function say(text) {
  console.log(`\n== test:no-tls: ${text}`);
}

function fail(text) {
  console.error(`\n!! test:no-tls: ${text}`);
  process.exit(1);
}

function run(cmd, args, env) {
  console.log(`$ ${path.relative(root, cmd) || cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

const buildEnv = { ...process.env, ASYNCHAT_NO_TLS: '1' };
delete buildEnv.ASYNCHAT_KQUEUE_INCLUDE;
delete buildEnv.ASYNCHAT_KQUEUE_LIB;
if (!ours.includes('--no-build')) {
  say(`build (cmake-js, ASYNCHAT_NO_TLS=1) into ${out}`);
  if (run(path.join(root, 'node_modules', '.bin', 'cmake-js'), ['rebuild', '--out', out], buildEnv) !== 0) {
    fail('the build failed');
  }
}
if (!existsSync(addon)) fail(`${path.relative(root, addon)} is missing (run without --no-build)`);

say('check that the addon loads without TLS');
const probe = spawnSync(process.execPath, ['-e', `
  const a = require(${JSON.stringify(addon)});
  console.log(JSON.stringify({ tlsVersion: a.tlsVersion, backends: a.backends }));
`], { encoding: 'utf8' });
let loaded = null;
try {
  loaded = JSON.parse(probe.stdout);
} catch {
  // reported below
}
if (probe.status !== 0 || loaded === null) fail(`the addon does not load:\n${probe.stdout}${probe.stderr}`);
if (loaded.tlsVersion !== null) fail(`the addon has TLS (${loaded.tlsVersion}): ASYNCHAT_NO_TLS=1 did not reach the build`);
// No OpenSSL call may be compiled in (the build would then need a runtime that exports them).
if (readFileSync(addon).includes('SSL_new')) fail(`${out} references SSL_new: TLS code was compiled in`);
console.log(`addon: ${path.relative(root, addon)} (no TLS; backends ${loaded.backends})`);

say('vitest');
const env = { ...process.env, ASYNCHAT_ADDON: addon };
const status = run(path.join(root, 'node_modules', '.bin', 'vitest'), ['run', ...FILES, ...vitestArgs], env);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (status !== 0) fail(`vitest failed (exit status ${status}) (${seconds} s)`);
say(`passed (${seconds} s)`);
