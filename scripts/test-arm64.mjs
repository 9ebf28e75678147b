#!/usr/bin/env node
// npm run test:arm64: the addon for linux-arm64, cross-compiled here and tested under emulation
// (qemu-user, scripts/emulation.mjs) with the official arm64 Node:
//
//   1. Cross-compiles it (Debian's g++-aarch64-linux-gnu; node-gyp --arch=arm64) against the
//      pinned arm64 Node 20's headers, as the prebuilt binary is, into build-arm64/.
//   2. Checks that it is an arm64 binary and that it loads on the arm64 Node 20 and 24.
//   3. Runs a subset of the suite with the arm64 Node 24 running vitest (its workers, and every
//      `node` a test starts, are arm64 too), on the epoll and poll backends. The whole suite
//      takes over 15 minutes under emulation; the subset covers what differs by CPU (below),
//      and the run is bounded in time: past the bound it is stopped and fails.
//
// The package built for arm64 (the prebuilt binary in the tarball, installed with scripts off,
// serving a line) is tested by scripts/test-package.mjs.
//
//   --no-build           reuse build-arm64 as it is
//   --minutes <n>        the bound (default 15)
//   -- <args>            passed on to vitest (a file list there replaces the subset)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAddon } from './build-addon.mjs';
import { arm64Env, whyNoArm64 } from './emulation.mjs';
import { nodeDist } from './node-dist.mjs';
import { splitArgs } from './script-args.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { ours, vitestArgs } = splitArgs();
const minutesAt = ours.indexOf('--minutes');
const minutes = minutesAt >= 0 ? Number(ours[minutesAt + 1]) : 15;
const started = Date.now();

// What depends on the CPU, the C library's arm64 build and the arm64 Node: the reactor and its
// backends (epoll's event layout, poll), attached to Node's own loop or not, non-blocking
// sockets and addresses, the addon in worker_threads, asyncore's dispatch and asynchat's
// terminator scanning (memchr/memmem), TLS through the arm64 Node's OpenSSL, and serveThreads'
// SO_REUSEPORT listeners. About 6 minutes on 2 busy cores (the whole suite: over 15).
const SUBSET = [
  'test/binding/reactor.test.ts',
  'test/binding/attach.test.ts',
  'test/binding/socket.test.ts',
  'test/binding/workers.test.ts',
  'test/asyncore/loop-async.test.ts',
  'test/asyncore/cpython-port.test.ts',
  'test/asynchat/cpython-port.test.ts',
  'test/asynchat/receive.test.ts',
  'test/tls/server-clients.test.ts',
  'test/tls/client-starttls.test.ts',
  'test/threads/serve-threads.test.ts',
];

const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
function say(text) {
  console.log(`\n== test:arm64: ${text}`);
}
function fail(text) {
  console.error(`\n!! test:arm64: ${text} (${seconds()} s)`);
  process.exit(1);
}

if (!(minutes > 0)) fail('--minutes needs a positive number');
const why = whyNoArm64();
if (why) fail(`arm64 programs cannot run here: ${why}`);

const out = 'build-arm64';
const addon = path.join(root, out, 'build', 'Release', 'asynchat.node');
if (!ours.includes('--no-build')) {
  say(`cross-compile for arm64 against Node ${nodeDist(20, 'arm64').version}'s arm64 headers into ${out}`);
  try {
    buildAddon({ out, dist: nodeDist(20, 'arm64') });
  } catch (err) {
    fail(err.message);
  }
}
if (!existsSync(addon)) fail(`${path.relative(root, addon)} is missing (run without --no-build)`);
// ELF header: e_machine 183 (0xb7) is AArch64.
if (readFileSync(addon).readUInt16LE(18) !== 0xb7) fail(`${path.relative(root, addon)} is not an arm64 binary`);

const node24 = nodeDist(24, 'arm64');
const env = arm64Env({ ...process.env, PATH: [path.dirname(node24.node), process.env.PATH].join(path.delimiter) });
delete env.ASYNCHAT_ADDON;

say('it loads on the arm64 Node 20 and 24');
for (const dist of [nodeDist(20, 'arm64'), node24]) {
  const probe = spawnSync(dist.node, ['-e', `
    const a = require(${JSON.stringify(addon)});
    console.log(JSON.stringify({ node: process.version, arch: process.arch, backends: a.backends, tls: a.tlsVersion }));
  `], { env, encoding: 'utf8' });
  if (probe.status !== 0) fail(`it does not load on the arm64 Node ${dist.version}:\n${probe.stdout}${probe.stderr}`);
  console.log(probe.stdout.trim());
}

const files = vitestArgs.some((a) => a.startsWith('test/')) ? [] : SUBSET;
say(`vitest under emulation, arm64 Node ${node24.version}: ${files.length ? `${files.length} files` : 'the files given'}, bounded to ${minutes} min`);
const cmd = [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...files, ...vitestArgs];
console.log(`$ ASYNCHAT_ADDON=${path.relative(root, addon)} node24-arm64 ${path.relative(root, cmd[0])} ${cmd.slice(1).join(' ')}`);
// In a process group of its own, so that the bound stops vitest's workers (and what they
// started) too, not vitest alone.
const child = spawn(node24.node, cmd, { cwd: root, env: { ...env, ASYNCHAT_ADDON: addon }, stdio: 'inherit', detached: true });
let timedOut = false;
const bound = setTimeout(() => {
  timedOut = true;
  process.kill(-child.pid, 'SIGKILL');
}, minutes * 60_000);
const [status, signal] = await new Promise((resolve, reject) => {
  child.on('error', reject);
  child.on('exit', (code, sig) => resolve([code, sig]));
});
clearTimeout(bound);
if (timedOut) fail(`stopped: vitest ran past the ${minutes}-minute bound`);
if (status !== 0) fail(`vitest failed (exit status ${status ?? signal})`);
say(`passed (${seconds()} s)`);
