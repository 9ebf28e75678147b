#!/usr/bin/env node
// Builds the kqueue emulation into build-kqueue-shim/libkqueue-shim.a (Linux only).
//
//   node test/kqueue-shim/build.mjs [--check]
//
// --check also builds and runs the shim's own test (selftest.c). Prints the two values to
// give the native build: ASYNCHAT_KQUEUE_INCLUDE and ASYNCHAT_KQUEUE_LIB.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
export const shimInclude = path.join(here, 'include');
export const shimOut = path.join(root, 'build-kqueue-shim');
export const shimLib = path.join(shimOut, 'libkqueue-shim.a');

const cc = process.env.CC || 'cc';
// Hidden symbols: linked into the addon, kqueue() and kevent() are not exported from it.
const cflags = ['-std=c11', '-O2', '-fPIC', '-fvisibility=hidden', '-Wall', '-Wextra', '-Werror'];

function run(cmd, args) {
  execFileSync(cmd, args, { stdio: 'inherit' });
}

/** Builds the library (and with check: true, builds and runs the self-test). */
export function buildShim({ check = false } = {}) {
  mkdirSync(shimOut, { recursive: true });
  const obj = path.join(shimOut, 'kqueue.o');
  run(cc, [...cflags, '-I', shimInclude, '-c', path.join(here, 'kqueue.c'), '-o', obj]);
  run('ar', ['rcs', shimLib, obj]);
  if (check) {
    const exe = path.join(shimOut, 'selftest');
    run(cc, [...cflags, '-I', shimInclude, path.join(here, 'selftest.c'), shimLib, '-o', exe]);
    run(exe, []);
  }
  return { include: shimInclude, lib: shimLib };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.platform !== 'linux') {
    console.error('the kqueue shim is for Linux (elsewhere kqueue is native or absent)');
    process.exit(2);
  }
  try {
    const { include, lib } = buildShim({ check: process.argv.includes('--check') });
    console.log(`ASYNCHAT_KQUEUE_INCLUDE=${path.relative(root, include)}`);
    console.log(`ASYNCHAT_KQUEUE_LIB=${path.relative(root, lib)}`);
  } catch (e) {
    process.exit(typeof e.status === 'number' && e.status !== 0 ? e.status : 1);
  }
}
