// Which compiled addon to load. Order: ASYNCHAT_ADDON (a cmake-js or AddressSanitizer build the
// tests name), then node-gyp-build's search: build/Release and build/Debug (a build from source
// exists only because someone compiled on purpose: a clone, `npm rebuild`, a forced or fallback
// install, so it wins), then prebuilds/<platform>-<arch>/ (the binaries shipped in the package).
// ASYNCHAT_PREBUILD (node-gyp-build's <NAME>_PREBUILD) moves that search to another folder.
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { asynchatError } from '../errors';

const requireHere = createRequire(__filename);

/** The package root: this file is src/binding/ (a clone) or dist/cjs/binding/ (the package). */
function packageRoot(): string {
  for (const up of [path.join('..', '..'), path.join('..', '..', '..')]) {
    const dir = path.resolve(__dirname, up);
    if (existsSync(path.join(dir, 'binding.gyp'))) return dir;
  }
  return path.resolve(__dirname, '..', '..', '..');
}

/** What a prebuilt binary must match here, as node-gyp-build decides it (same overrides). */
export function addonTarget(): { platform: string; arch: string; libc: string; napi: string; abi: string } {
  const platform = process.env.npm_config_platform || process.platform;
  const libc = platform !== 'linux' ? 'n/a'
    : process.env.LIBC || (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  return {
    platform,
    arch: process.env.npm_config_arch || process.arch,
    libc,
    napi: process.versions.napi ?? 'none',
    abi: process.versions.modules,
  };
}

/** The prebuilt binaries the package carries, as "linux-x64/asynchat.glibc.node". */
function shippedPrebuilds(root: string): string[] {
  const dir = path.join(root, 'prebuilds');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((tuple) => {
    try {
      return readdirSync(path.join(dir, tuple)).filter((f) => f.endsWith('.node')).map((f) => `${tuple}/${f}`);
    } catch {
      return [];
    }
  });
}

function noAddonError(root: string): Error {
  const t = addonTarget();
  const shipped = shippedPrebuilds(root);
  return asynchatError(
    'ERR_ASYNCHAT_NO_ADDON',
    `asynchat: no native addon fits this system (platform ${t.platform}, arch ${t.arch}, libc ${t.libc}, ` +
      `Node-API ${t.napi}, Node ABI ${t.abi}; the addon needs Node-API 8 or later). ` +
      `Looked for a build from source in ${path.join(root, 'build', 'Release')} and for a prebuilt binary in ` +
      `${path.join(root, 'prebuilds', `${t.platform}-${t.arch}`)} ` +
      `(this package has ${shipped.length ? shipped.join(', ') : 'no prebuilt binaries'}). Two ways out: ` +
      'install a C++17 toolchain (a C++ compiler, make, Python 3) and build from source with ' +
      '`npm rebuild asynchat` (`npm run build:native` in a clone of the repository), ' +
      'or run on a platform that has a prebuilt binary.',
  );
}

/** The path of the addon to load, or ERR_ASYNCHAT_NO_ADDON saying what was looked for. */
export function findAddon(): string {
  const override = process.env.ASYNCHAT_ADDON;
  if (override) return path.resolve(override);
  const root = packageRoot();
  const nodeGypBuild = requireHere('node-gyp-build') as { resolve(dir: string): string };
  try {
    return nodeGypBuild.resolve(root);
  } catch {
    // node-gyp-build searched ASYNCHAT_PREBUILD instead of the package, when that is set.
    throw noAddonError(process.env.ASYNCHAT_PREBUILD ? path.resolve(process.env.ASYNCHAT_PREBUILD) : root);
  }
}
