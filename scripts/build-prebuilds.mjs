#!/usr/bin/env node
// npm run build:prebuild (prepack runs it): the prebuilt binaries the package carries,
//   prebuilds/linux-x64/asynchat.glibc.node     compiled here
//   prebuilds/linux-arm64/asynchat.glibc.node   cross-compiled (Debian's g++-aarch64-linux-gnu)
// with prebuildify (--napi --strip --tag-libc), each against the official Node 20 headers of its
// CPU (scripts/node-dist.mjs): the oldest Node in `engines`, so that neither binary calls what an
// older Node lacks, and the same headers whatever Node or npm configuration packs. Node-API
// binaries: one per CPU serves Node 20 and every later Node.
//
// Each builds in a staging folder of its own (build-prebuild-<arch>, scripts/build-addon.mjs):
// build/, what `npm install` made and the tests load, is not touched. prebuilds/ is emptied
// first, so the tarball never carries a binary from an earlier run.
//
// Where the cross compiler is missing, `npm pack` (a test, a look at the tarball) goes on without
// the arm64 binary and says so; `npm publish` stops: a published package always carries both.
// Elsewhere than Linux x64 it builds the host's binary alone, against the headers node-gyp finds.
//   ASYNCHAT_PREBUILD_ARCHS=x64    Linux x64: only these (comma-separated; default x64,arm64)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crossEnv, stage } from './build-addon.mjs';
import { nodeDist } from './node-dist.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
// ELF e_machine by node's arch name: what each binary must be.
const ELF_MACHINE = { x64: 62, arm64: 183 };

function fail(text) {
  console.error(`\n!! build:prebuild: ${text}`);
  process.exit(1);
}

const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
const archs = linuxX64 ? (process.env.ASYNCHAT_PREBUILD_ARCHS || 'x64,arm64').split(',') : [process.arch];
rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });

for (const arch of archs) {
  const t0 = Date.now();
  const env = { ...process.env };
  // The kqueue emulation is for the kqueue test build only (scripts/test-backends.mjs).
  delete env.ASYNCHAT_KQUEUE_INCLUDE;
  delete env.ASYNCHAT_KQUEUE_LIB;
  const args = ['--napi', '--strip', '--tag-libc', '--arch', arch, '--out', root];
  if (linuxX64) {
    if (!ELF_MACHINE[arch]) fail(`no prebuilt binary is set up for ${arch} (ASYNCHAT_PREBUILD_ARCHS)`);
    try {
      Object.assign(env, crossEnv(arch));
    } catch (err) {
      if (process.env.npm_command === 'publish') fail(`${err.message}: a published package carries every binary`);
      console.warn(`\n!! build:prebuild: no linux-${arch} binary in this tarball: ${err.message}`);
      continue;
    }
    const dist = nodeDist(20, arch);
    env.npm_config_nodedir = dist.dir;
    args.push('--target', dist.version);
    console.log(`\n== build:prebuild: linux-${arch}, against Node ${dist.version}'s headers`);
  }
  const dir = stage(`build-prebuild-${arch}`);
  const prebuildify = path.join(root, 'node_modules', 'prebuildify', 'bin.js');
  console.log(`$ (in ${path.relative(root, dir)}) prebuildify ${args.join(' ').replace(root, '.')}`);
  const r = spawnSync(process.execPath, [prebuildify, ...args], { cwd: dir, env, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) fail(`prebuildify for ${arch} exited ${r.status ?? r.signal}`);

  const tuple = `${process.platform}-${arch}`;
  const file = path.join(root, 'prebuilds', tuple, `asynchat.${process.platform === 'linux' ? 'glibc.' : ''}node`);
  if (!existsSync(file)) fail(`prebuildify wrote no ${path.relative(root, file)}`);
  if (linuxX64 && readFileSync(file).readUInt16LE(18) !== ELF_MACHINE[arch]) {
    fail(`${path.relative(root, file)} is not a ${arch} binary`);
  }
  console.log(`build:prebuild: ${path.relative(root, file)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
console.log(`build:prebuild: done (${((Date.now() - started) / 1000).toFixed(1)} s)`);
