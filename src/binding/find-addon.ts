// Which compiled addon to load. Order: ASYNCHAT_ADDON (a cmake-js or AddressSanitizer build the
// tests name), then node-gyp-build's search: build/Release and build/Debug (a build from source
// exists only because someone compiled on purpose: a clone, `npm rebuild`, a forced or fallback
// install, so it wins), then prebuilds/<platform>-<arch>/ (the binaries shipped in the package:
// linux-x64 and linux-arm64, both for glibc). ASYNCHAT_PREBUILD (node-gyp-build's
// <NAME>_PREBUILD) moves that search to another folder.
//
// A glibc binary never loads on musl (Alpine): it would fail on a missing symbol or, worse, load
// and misbehave. node-gyp-build tells musl only by /etc/alpine-release; detect-libc (what sharp
// and lightningcss use) asks the running node itself (its ELF interpreter, then ldd), so a prebuild
// node-gyp-build picked is checked against it too. LIBC=glibc|musl overrides both, as it does
// node-gyp-build.
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

/** This system's C library: 'glibc', 'musl' (Linux), or 'n/a' elsewhere. */
function libcFamily(platform: string): string {
  if (platform !== 'linux') return 'n/a';
  if (process.env.LIBC) return process.env.LIBC;
  const { familySync } = requireHere('detect-libc') as { familySync(): string | null };
  // Unknown to detect-libc (no ELF interpreter, ldd or report to tell): node-gyp-build's rule.
  return familySync() ?? (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
}

/** What a prebuilt binary must match here, as node-gyp-build decides it (same overrides). */
export function addonTarget(): { platform: string; arch: string; libc: string; napi: string; abi: string } {
  const platform = process.env.npm_config_platform || process.platform;
  return {
    platform,
    arch: process.env.npm_config_arch || process.arch,
    libc: libcFamily(platform),
    napi: process.versions.napi ?? 'none',
    abi: process.versions.modules,
  };
}

/** The command that installs what compiling the addon needs, on the distributions we can tell. */
export function toolchainHint(libc = addonTarget().libc): string {
  if (libc === 'musl' || existsSync('/etc/alpine-release')) return 'on Alpine: apk add python3 make g++';
  if (existsSync('/etc/debian_version')) return 'on Debian and Ubuntu: apt-get install python3 make g++';
  if (existsSync('/etc/redhat-release')) return 'on Fedora and RHEL: dnf install python3 make gcc-c++';
  return 'a C++17 compiler, make and Python 3';
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
  const why = t.libc === 'musl'
    ? 'This system\'s C library is musl (Alpine Linux, for one) and the prebuilt binaries are built for glibc, ' +
      'so the addon must be compiled here: install the toolchain (apk add python3 make g++ on Alpine) and run ' +
      '`npm rebuild asynchat`, or run on a glibc system (a platform that has a prebuilt binary), such as a ' +
      'Debian-based Node image.'
    : 'Two ways out: install a C++17 toolchain (' + toolchainHint(t.libc) + ') and build from source with ' +
      '`npm rebuild asynchat` (`npm run build:native` in a clone of the repository), ' +
      'or run on a platform that has a prebuilt binary.';
  return asynchatError(
    'ERR_ASYNCHAT_NO_ADDON',
    `asynchat: no native addon fits this system (platform ${t.platform}, arch ${t.arch}, libc ${t.libc}, ` +
      `Node-API ${t.napi}, Node ABI ${t.abi}; the addon needs Node-API 8 or later). ` +
      `Looked for a build from source in ${path.join(root, 'build', 'Release')} and for a prebuilt binary in ` +
      `${path.join(root, 'prebuilds', `${t.platform}-${t.arch}`)} ` +
      `(this package has ${shipped.length ? shipped.join(', ') : 'no prebuilt binaries'}). ${why}`,
  );
}

interface NodeGypBuild {
  resolve(dir: string): string;
  parseTags(file: string): { libc?: string } | undefined;
}

/** The path of the addon to load, or ERR_ASYNCHAT_NO_ADDON saying what was looked for. */
export function findAddon(): string {
  const override = process.env.ASYNCHAT_ADDON;
  if (override) return path.resolve(override);
  // node-gyp-build searched ASYNCHAT_PREBUILD instead of the package, when that is set.
  const searched = process.env.ASYNCHAT_PREBUILD ? path.resolve(process.env.ASYNCHAT_PREBUILD) : packageRoot();
  const nodeGypBuild = requireHere('node-gyp-build') as NodeGypBuild;
  let found: string;
  try {
    found = nodeGypBuild.resolve(packageRoot());
  } catch {
    throw noAddonError(searched);
  }
  // A build from source was compiled here, for this C library; a prebuild names the one it is for.
  const prebuilt = path.relative(path.join(searched, 'prebuilds'), found);
  if (!prebuilt.startsWith('..') && !path.isAbsolute(prebuilt)) {
    const builtFor = nodeGypBuild.parseTags(path.basename(found))?.libc;
    if (builtFor !== undefined && builtFor !== addonTarget().libc) throw noAddonError(searched);
  }
  return found;
}
