// The package as a user gets it: `npm pack` of this repository and empty consumer projects that
// install the tarball. Shared by scripts/test-package.mjs (does it install, load and serve?) and
// scripts/check-docs.mjs (do the docs' code blocks compile and run against it?).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// The child npm must see neither the npm that may be running this script (its npm_* variables
// name this repository as the prefix) nor this repository's addon overrides.
export const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
  !k.startsWith('npm_') && k !== 'INIT_CWD' && !k.startsWith('ASYNCHAT_')));
export const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * Runs a command to completion in `cwd`; its stdout, or an error with the output's tail.
 * `timeout` (ms) bounds it: past it the command is killed and that is the error.
 */
export function run(cmd, argv, cwd, extraEnv = {}, timeout = undefined) {
  const r = spawnSync(cmd, argv, { cwd, env: { ...childEnv, ...extraEnv }, encoding: 'utf8', maxBuffer: 64 << 20, timeout });
  if (r.error?.code === 'ETIMEDOUT') throw new Error(`${cmd} ${argv.join(' ')} (in ${cwd}) ran past ${timeout / 1000} s`);
  if (r.status !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-25).join('\n');
    throw new Error(`${cmd} ${argv.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}:\n${tail}`);
  }
  return r.stdout;
}

/** `npm pack` of `dir` into `dest`: npm's JSON about the tarball, plus its path as `tarball`. */
export function pack(dir, dest, extra = []) {
  mkdirSync(dest, { recursive: true });
  // The lifecycle scripts (prepack, prepare) print to the same stdout: the JSON comes last.
  const out = run(npm, ['pack', '--json', '--pack-destination', dest, ...extra], dir);
  const [info] = JSON.parse(out.slice(out.search(/^\[$(?![\s\S]*^\[$)/m)));
  return { ...info, tarball: path.join(dest, info.filename) };
}

/** An empty consumer project (`private`, CommonJS as `npm init` makes it) in a new folder. */
export function consumerProject(dir, name) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'),
    JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true, type: 'commonjs' }));
  return dir;
}

/** npm install of a tarball into a project. */
export function install(dir, tarball, flags = [], extraEnv = {}) {
  run(npm, ['install', '--no-audit', '--no-fund', ...flags, tarball], dir, extraEnv);
}

/** This repository's tsc (the pinned TypeScript) and @types folder, for consumer projects. */
export const tsc = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc');
export const typeRoots = [path.join(root, 'node_modules', '@types')];
