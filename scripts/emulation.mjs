#!/usr/bin/env node
// Running linux-arm64 programs on a Linux x64 machine: qemu-user (Debian's qemu-user-static)
// registered with the kernel's binfmt_misc, so that an arm64 executable runs when started,
// whoever starts it (vitest's workers, a test's child process, npm); the arm64 C library of
// Debian's cross toolchain (libc6-arm64-cross, which g++-aarch64-linux-gnu brings) as the
// emulated programs' root (QEMU_LD_PREFIX); and, for vitest, the arm64 builds of its tools'
// native bindings (rolldown, lightningcss), at package-lock.json's versions and integrity,
// unpacked into node_modules/.cache/asynchat-arm64/node_modules and found through NODE_PATH:
// they are not dependencies of this package, and npm would not install them on x64.
//
//   node scripts/emulation.mjs --setup   (root) registers qemu-aarch64 with binfmt_misc, from
//                                        the definition qemu-user-static ships for systemd
//   node scripts/emulation.mjs           says whether arm64 programs run here, and why not
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchPackage } from './npm-fetch.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BINFMT = '/proc/sys/fs/binfmt_misc';
const QEMU_BINFMT = '/usr/lib/binfmt.d/qemu-aarch64.conf';
const ARM64_ROOT = '/usr/aarch64-linux-gnu';
const testTools = path.join(root, 'node_modules', '.cache', 'asynchat-arm64');

/** Why arm64 programs cannot run here (what to install or do), or null when they can. */
export function whyNoArm64() {
  if (process.platform !== 'linux') return 'emulating arm64 is set up for Linux only';
  if (process.arch === 'arm64') return null;
  if (!existsSync(QEMU_BINFMT)) return 'qemu-user-static is not installed (Debian: apt-get install qemu-user-static)';
  if (!existsSync(path.join(ARM64_ROOT, 'lib', 'ld-linux-aarch64.so.1'))) {
    return `no arm64 C library in ${ARM64_ROOT} (Debian: apt-get install g++-aarch64-linux-gnu, which brings libc6-arm64-cross)`;
  }
  if (!registered()) {
    return 'qemu-aarch64 is not registered with binfmt_misc (as root: node scripts/emulation.mjs --setup)';
  }
  return null;
}

function registered() {
  try {
    return readFileSync(path.join(BINFMT, 'qemu-aarch64'), 'utf8').startsWith('enabled');
  } catch {
    return false;
  }
}

/** Registers qemu-aarch64 with binfmt_misc (mounting it first if needed). Needs root. */
export function registerArm64() {
  if (registered()) return 'qemu-aarch64 was already registered with binfmt_misc';
  if (!existsSync(QEMU_BINFMT)) throw new Error(`${QEMU_BINFMT} is missing (Debian: apt-get install qemu-user-static)`);
  if (!existsSync(path.join(BINFMT, 'register'))) {
    const m = spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`mount -t binfmt_misc failed: ${(m.stderr || m.error?.message || '').trim()}`);
  }
  // The line qemu-user-static ships for systemd-binfmt is the kernel's own format.
  const line = readFileSync(QEMU_BINFMT, 'utf8').split('\n').find((l) => l.startsWith(':qemu-aarch64:'));
  if (!line) throw new Error(`${QEMU_BINFMT} holds no :qemu-aarch64: line`);
  writeFileSync(path.join(BINFMT, 'register'), line);
  if (!registered()) throw new Error('qemu-aarch64 did not register with binfmt_misc');
  return `registered qemu-aarch64 with binfmt_misc (${QEMU_BINFMT})`;
}

/**
 * The environment arm64 programs (and vitest under the arm64 Node) need here: the arm64 root for
 * qemu and NODE_PATH to the arm64 builds of the test tools' native bindings (fetched once).
 */
export function arm64Env(env = process.env) {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages;
  const modules = path.join(testTools, 'node_modules');
  for (const [where, pkg] of Object.entries(lock)) {
    // Installed packages only: the root entry ('') is this package, whose cpu lists arm64 too.
    if (!where.includes('node_modules/')) continue;
    if (!pkg.cpu?.includes('arm64') || !(pkg.os ?? ['linux']).includes('linux') || pkg.libc?.includes('musl')) continue;
    const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    fetchPackage({
      spec: `${name}@${pkg.version}`,
      integrity: pkg.integrity,
      dir: path.join(modules, name),
      scratch: path.join(testTools, 'downloads'),
    });
  }
  return {
    ...env,
    QEMU_LD_PREFIX: ARM64_ROOT,
    NODE_PATH: [modules, env.NODE_PATH].filter(Boolean).join(path.delimiter),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    if (process.argv.includes('--setup')) console.log(`emulation: ${registerArm64()}`);
    const why = whyNoArm64();
    console.log(why ? `emulation: arm64 programs cannot run here: ${why}` : 'emulation: arm64 programs run here');
    process.exit(why ? 1 : 0);
  } catch (err) {
    console.error(`emulation: ${err.message}`);
    process.exit(1);
  }
}
