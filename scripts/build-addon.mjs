// Builds the addon with node-gyp against another Node's headers (scripts/node-dist.mjs) and for
// another CPU, into a folder of its own (build-node24, build-arm64), leaving build/ untouched:
// that is what `npm install` made and what the tests load. node-gyp always writes <dir>/build,
// so the folder is a staging one holding links to what the build reads (binding.gyp, native/,
// scripts/, node_modules/, package.json); the addon lands in <folder>/build/Release.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD_INPUTS = ['binding.gyp', 'native', 'scripts', 'node_modules', 'package.json'];

/** Makes `<root>/<out>` a staging folder for node-gyp or prebuildify; returns its path. */
export function stage(out) {
  const dir = path.join(root, out);
  mkdirSync(dir, { recursive: true });
  for (const name of BUILD_INPUTS) {
    const link = path.join(dir, name);
    const target = path.join('..', name);
    if (isLinkTo(link, target)) continue;
    rmSync(link, { recursive: true, force: true });
    symlinkSync(target, link);
  }
  return dir;
}

function isLinkTo(link, target) {
  try {
    return lstatSync(link).isSymbolicLink() && readlinkSync(link) === target;
  } catch {
    return false;
  }
}

// The cross toolchains Debian packages, by node-gyp's arch name.
const CROSS = {
  arm64: { triplet: 'aarch64-linux-gnu', apt: 'g++-aarch64-linux-gnu' },
};

/**
 * What node-gyp (and prebuildify's strip) need in the environment to build for `arch` on this
 * machine: nothing for the host's own arch; the cross compiler, linker, archiver and strip
 * otherwise. Throws, naming the package to install, where the cross compiler is missing.
 */
export function crossEnv(arch) {
  if (arch === process.arch) return {};
  const cross = CROSS[arch];
  if (!cross || process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`cross-compiling for ${arch} is set up for Linux x64 hosts and ${Object.keys(CROSS).join(', ')} only`);
  }
  const tool = (name) => `${cross.triplet}-${name}`;
  if (!onPath(tool('g++'))) {
    throw new Error(`${tool('g++')} is not installed: the ${arch} build needs it (Debian: apt-get install ${cross.apt})`);
  }
  return {
    CC: tool('gcc'),
    CXX: tool('g++'),
    LINK: tool('g++'),
    AR: tool('ar'),
    PREBUILD_STRIP_BIN: tool('strip'),
  };
}

function onPath(cmd) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, cmd)));
}

/**
 * node-gyp rebuild in the staging folder `out`, against `dist`'s headers, for `dist.arch`.
 * Returns the addon's path. Output goes to this process's stdout and stderr.
 */
export function buildAddon({ out, dist }) {
  const dir = stage(out);
  const nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  const env = { ...process.env, ...crossEnv(dist.arch), npm_config_nodedir: dist.dir };
  // The kqueue emulation is for the kqueue test build only (scripts/test-backends.mjs).
  delete env.ASYNCHAT_KQUEUE_INCLUDE;
  delete env.ASYNCHAT_KQUEUE_LIB;
  const args = [nodeGyp, 'rebuild', '--release', `--arch=${dist.arch}`, `--nodedir=${dist.dir}`, `--target=${dist.version}`];
  console.log(`$ (in ${out}) node-gyp ${args.slice(1).join(' ')}`);
  const r = spawnSync(process.execPath, args, { cwd: dir, env, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`node-gyp in ${out} exited ${r.status ?? r.signal}`);
  return path.join(dir, 'build', 'Release', 'asynchat.node');
}
