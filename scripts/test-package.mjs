#!/usr/bin/env node
// The package as users get it. Packs the tarball (prepack compiles the prebuilt binaries for
// linux-x64 and linux-arm64), checks what is in it, then installs it into empty projects and
// there imports it from ESM and CommonJS, loads it in a worker_thread and serves a line on
// loopback (test/package/ holds those programs):
//   - scripts on: the prebuild fits, nothing is compiled;
//   - --ignore-scripts: the prebuild alone is enough (and the types resolve for both entries),
//     on this Node and on the official x64 Node 22, 24 and 26 (scripts/node-dist.mjs); then
//     `npm rebuild asynchat` compiles, and the build from source is what loads;
//   - linux-arm64, under emulation (scripts/emulation.mjs): npm on the arm64 Node 24 installs the
//     tarball with scripts off, and the arm64 prebuild serves; it loads on the arm64 Node 20 too;
//   - ASYNCHAT_BUILD_FROM_SOURCE=1: compiles although a prebuild fits;
//   - musl, simulated (LIBC=musl, node-gyp-build's and the loader's override): with scripts off
//     the glibc prebuild is refused with ERR_ASYNCHAT_NO_ADDON; the install script compiles, or,
//     where the toolchain is missing, fails with one message naming `apk add python3 make g++`;
//   - no prebuild in the tarball: with scripts off the import fails with ERR_ASYNCHAT_NO_ADDON
//     (naming what it looked for); with scripts on the install script compiles.
//
//   node scripts/test-package.mjs [--json report.json] [--keep]
//
// --json writes the counts in the shape of a vitest JSON report (scripts/ci-summary.mjs sums
// them); --keep leaves the temporary projects in place. Needs the npm registry for the
// package's own dependencies (node-addon-api, node-gyp-build, detect-libc), as any user does,
// and for the official Node binaries. Where the arm64 cross compiler or qemu is missing, the
// arm64 checks are skipped with the reason (and `npm pack` packs the x64 binary alone).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crossEnv } from './build-addon.mjs';
import { arm64Env, whyNoArm64 } from './emulation.mjs';
import { nodeDist } from './node-dist.mjs';
import { childEnv, consumerProject, install, npm, pack, root, run, tsc, typeRoots } from './packed-project.mjs';

const probes = path.join(root, 'test', 'package');
const args = process.argv.slice(2);
const jsonOut = args.includes('--json') ? path.resolve(args[args.indexOf('--json') + 1]) : null;
const keep = args.includes('--keep');
const work = mkdtempSync(path.join(os.tmpdir(), 'asynchat-package-'));
const started = Date.now();

const results = [];
const skip = new Map();  // check name -> why it cannot run here
function check(name, fn) {
  const t0 = Date.now();
  if (skip.has(name)) {
    results.push({ name, skipped: true });
    console.log(`  skip  ${name}: ${skip.get(name)}`);
    return;
  }
  try {
    fn();
    results.push({ name, ok: true });
    console.log(`  ok    ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`  FAIL  ${name}: ${err.message}`);
  }
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}

// -- what this machine can test -------------------------------------------------------------
// The arm64 prebuild is cross-compiled at prepack, and run under qemu: either can be missing.
const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
let noArm64 = linuxX64 ? null : 'the arm64 binary is cross-compiled on Linux x64 only';
try {
  if (!noArm64) crossEnv('arm64');
} catch (err) {
  noArm64 = err.message;
}
const noEmulation = noArm64 ?? whyNoArm64();
const ARM64_CHECKS = [
  'linux-arm64 under emulation: npm on the arm64 Node 24 installs with scripts off, the arm64 prebuild serves',
  'the arm64 prebuild loads on the arm64 Node 20',
];
for (const name of ARM64_CHECKS) if (noEmulation) skip.set(name, noEmulation);
if (noArm64) console.log(`note: the tarball will lack the linux-arm64 binary: ${noArm64}`);

// -- the tarball ----------------------------------------------------------------------------
const PREBUILDS = { x64: 'prebuilds/linux-x64/asynchat.glibc.node', arm64: 'prebuilds/linux-arm64/asynchat.glibc.node' };
// ELF e_machine of each.
const ELF_MACHINE = { x64: 62, arm64: 183 };
const allowed = /^(dist\/.+|native\/[^/]+\.(cc|h)|prebuilds\/[^/]+\/asynchat(\.[a-z0-9]+)*\.node|binding\.gyp|CMakeLists\.txt|scripts\/native-config\.js|scripts\/install\.mjs|README\.md|CONTRIBUTING\.md|LICENSE|package\.json|docs\/[^/]+\.md|docs\/typedoc\.json|examples\/.+\.ts|bench\/results\/[^/]+\.(md|svg))$/;

let packed = null;
check('npm pack (prepack compiles the prebuilt binaries)', () => {
  packed = pack(root, path.join(work, 'tarball'));
});
if (!packed) finish();
const files = packed.files.map((f) => f.path);
console.log(`package: ${packed.filename}, ${files.length} files, ${(packed.size / 1024).toFixed(1)} kB packed, ` +
  `${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked`);
for (const f of packed.files) console.log(`    ${String(f.size).padStart(8)}  ${f.path}`);

check('the tarball holds only dist, native sources, build files, prebuilds, the docs, LICENSE', () => {
  const stray = files.filter((f) => !allowed.test(f));
  expect(stray.length === 0, `unexpected files: ${stray.join(', ')}`);
  const nativeSources = readdirSync(path.join(root, 'native')).map((f) => `native/${f}`);
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const exported = Object.values(pkg.exports['.']).flatMap((e) => Object.values(e)).map((p) => p.replace(/^\.\//, ''));
  const needed = [
    ...nativeSources, ...exported, pkg.main.replace(/^\.\//, ''), pkg.types.replace(/^\.\//, ''),
    'binding.gyp', 'CMakeLists.txt', 'scripts/native-config.js', 'scripts/install.mjs', 'README.md', 'LICENSE',
    ...(linuxX64 ? [PREBUILDS.x64] : []),
    ...(linuxX64 && !noArm64 ? [PREBUILDS.arm64] : []),
  ];
  const missing = needed.filter((f) => !files.includes(f));
  expect(missing.length === 0, `missing: ${missing.join(', ')}`);
});

// npm refuses to install where os or cpu do not match (EBADPLATFORM; --force overrides): they
// say what is tested, which is where a prebuilt binary is shipped and run.
const platformCheck = "package.json's os and cpu are exactly the platforms with a prebuilt binary in the tarball";
if (noArm64) skip.set(platformCheck, `packed without the linux-arm64 binary: ${noArm64}`);
check(platformCheck, () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const shipped = files.map((f) => /^prebuilds\/([^-/]+)-([^/]+)\//.exec(f)).filter(Boolean);
  const unique = (list) => [...new Set(list)].sort().join(',');
  expect(unique(pkg.os) === unique(shipped.map((m) => m[1])), `os ${pkg.os} but prebuilds for ${unique(shipped.map((m) => m[1]))}`);
  expect(unique(pkg.cpu) === unique(shipped.map((m) => m[2])), `cpu ${pkg.cpu} but prebuilds for ${unique(shipped.map((m) => m[2]))}`);
});

check('each prebuilt binary is for its CPU (ELF machine)', () => {
  const inside = path.join(work, 'binaries');
  mkdirSync(inside, { recursive: true });
  execFileSync('tar', ['-xzf', packed.tarball, '-C', inside]);
  for (const [arch, file] of Object.entries(PREBUILDS)) {
    if (!files.includes(file)) continue;
    const machine = readFileSync(path.join(inside, 'package', file)).readUInt16LE(18);
    expect(machine === ELF_MACHINE[arch], `${file}: ELF machine ${machine}, not ${arch}'s ${ELF_MACHINE[arch]}`);
    console.log(`    ${file}: ${arch}`);
  }
});

// A debugger or a stack trace mapper follows each .js's sourceMappingURL to its map, and each
// of the map's sources to its text: inside the map (sourcesContent) or a shipped file. The maps
// carry their sources (tsconfig's inlineSources: 74 kB more packed, 185 -> 258 kB without the
// prebuild). Shipping src/ instead would cost 47 kB, but its absence is how scripts/install.mjs
// tells the package from a clone.
check('every shipped source map resolves (its .js names a shipped map; each source is inlined or shipped)', () => {
  const inside = path.join(work, 'maps');
  mkdirSync(inside, { recursive: true });
  execFileSync('tar', ['-xzf', packed.tarball, '-C', inside]);
  const pkgDir = path.join(inside, 'package');
  const shipped = new Set(files);
  const problems = [];
  let maps = 0;
  for (const f of files) {
    if (/\.([cm]?js|d\.[cm]?ts)$/.test(f)) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(path.join(pkgDir, f), 'utf8'))?.[1];
      if (url !== undefined && !url.startsWith('data:') && !shipped.has(path.posix.join(path.posix.dirname(f), url))) {
        problems.push(`${f} names ${url}, not in the tarball`);
      }
    }
    if (!f.endsWith('.map')) continue;
    maps++;
    const map = JSON.parse(readFileSync(path.join(pkgDir, f), 'utf8'));
    map.sources.forEach((source, i) => {
      if (typeof map.sourcesContent?.[i] === 'string') return;
      const at = path.posix.normalize(path.posix.join(path.posix.dirname(f), map.sourceRoot ?? '', source));
      if (!shipped.has(at)) problems.push(`${f}: ${source} (${at}) is neither inlined nor in the tarball`);
    });
  }
  expect(maps > 0, 'no source map in the tarball');
  expect(problems.length === 0, `${problems.length} unresolved: ${problems.slice(0, 5).join('; ')}`);
  console.log(`    ${maps} source maps, every source resolved`);
});

// -- consumer projects ----------------------------------------------------------------------
function project(name) {
  const dir = consumerProject(path.join(work, name), name);
  for (const f of readdirSync(probes)) copyFileSync(path.join(probes, f), path.join(dir, f));
  return dir;
}

const installed = (dir) => path.join(dir, 'node_modules', 'asynchat');
const builtFromSource = (dir) => existsSync(path.join(installed(dir), 'build', 'Release', 'asynchat.node'));

// Runs the CommonJS and the ESM programs (the ESM one also starts a worker) with `node`, checks
// every echo and that each loaded the addon from `from` ('prebuilds', 'build', or a file's path
// inside the package). Bounded: 2 minutes each (under emulation a program takes seconds).
function serves(dir, from, node = { path: process.execPath, env: {} }) {
  const want = path.join(installed(dir), from);
  const cjs = JSON.parse(run(node.path, ['cjs.cjs'], dir, node.env, 120_000));
  const esm = JSON.parse(run(node.path, ['esm.mjs'], dir, node.env, 120_000));
  const answers = [['require', cjs], ['import', esm.main], ['a worker', esm.worker]];
  for (const [who, answer] of answers) {
    expect(answer.reply === `hello from ${who}\n`, `${who}: echoed ${JSON.stringify(answer.reply)}`);
    const fits = from.endsWith('.node') ? answer.addonPath === want : answer.addonPath.startsWith(want + path.sep);
    expect(fits, `${who}: loaded ${answer.addonPath}, not ${from.endsWith('.node') ? want : `from ${want}`}`);
  }
}

/** The official Node `major` for `arch`, as serves() takes it (arm64 runs under emulation). */
function officialNode(major, arch = 'x64') {
  const dist = nodeDist(major, arch);
  const pathEnv = { PATH: [path.dirname(dist.node), childEnv.PATH].join(path.delimiter) };
  return { path: dist.node, version: dist.version, env: arch === 'x64' ? pathEnv : arm64Env({ ...childEnv, ...pathEnv }) };
}

/** What require('asynchat') throws in `dir` (its code and message), or {} when it loads. */
function noAddonFailure(dir, extraEnv = {}) {
  const probe = "try { require('asynchat'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }";
  return JSON.parse(run(process.execPath, ['-e', probe], dir, extraEnv) || '{}');
}

/** npm's own CLI script, to run it with a chosen Node or PATH. */
function npmCli() {
  const found = (childEnv.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, npm)).find((f) => existsSync(f));
  if (!found) throw new Error('npm is not on PATH');
  return realpathSync(found);
}

function typesResolve(dir) {
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'node16', moduleResolution: 'node16', target: 'ES2022', strict: true, noEmit: true,
      types: ['node'], typeRoots,
    },
    files: ['types.mts', 'types.cts'],
  }));
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
}

check('scripts on: installs without compiling, serves from ESM, CommonJS and a worker', () => {
  const dir = project('scripts-on');
  install(dir, packed.tarball);
  expect(!builtFromSource(dir), 'the install compiled although the prebuild fits');
  serves(dir, 'prebuilds');
});

const scriptsOff = project('scripts-off');
check('--ignore-scripts: the prebuild alone serves from ESM, CommonJS and a worker', () => {
  install(scriptsOff, packed.tarball, ['--ignore-scripts']);
  expect(!builtFromSource(scriptsOff), 'a build appeared with scripts off');
  serves(scriptsOff, 'prebuilds');
});

check('types resolve for both entry points (node16 resolution, .mts and .cts)', () => typesResolve(scriptsOff));

for (const major of [22, 24, 26]) {
  const name = `--ignore-scripts: the prebuild serves on the official Node ${major} (x64)`;
  if (!linuxX64) skip.set(name, 'the official binaries run here are the Linux x64 ones');
  check(name, () => {
    const node = officialNode(major);
    serves(scriptsOff, PREBUILDS.x64, node);
    console.log(`    Node ${node.version}: served from ESM, CommonJS and a worker`);
  });
}

check(ARM64_CHECKS[0], () => {
  const node = officialNode(24, 'arm64');
  const dir = project('arm64-scripts-off');
  // npm itself runs on the arm64 Node, so it checks the package's os and cpu against arm64.
  run(node.path, [npmCli(), 'install', '--no-audit', '--no-fund', '--ignore-scripts', packed.tarball], dir, node.env, 600_000);
  expect(!builtFromSource(dir), 'a build appeared with scripts off');
  serves(dir, PREBUILDS.arm64, node);
  console.log(`    arm64 Node ${node.version} (qemu-user): served from ESM, CommonJS and a worker`);
});

check(ARM64_CHECKS[1], () => {
  const node = officialNode(20, 'arm64');
  const file = path.join(installed(path.join(work, 'arm64-scripts-off')), PREBUILDS.arm64);
  const out = run(node.path, ['-e', `const a = require(${JSON.stringify(file)}); console.log(process.arch, process.version, a.backends)`], work, node.env, 120_000);
  expect(out.startsWith(`arm64 v${node.version} `), `the probe said ${out}`);
  console.log(`    ${out.trim()}`);
});

check('musl (LIBC=musl), scripts off: the glibc prebuild is refused with ERR_ASYNCHAT_NO_ADDON naming apk add', () => {
  const failure = noAddonFailure(scriptsOff, { LIBC: 'musl' });
  for (const fact of ['libc musl', 'built for glibc', 'apk add python3 make g++', 'npm rebuild asynchat']) {
    expect(failure.message?.includes(fact), `the error does not say "${fact}": ${JSON.stringify(failure)}`);
  }
});

check('npm rebuild asynchat compiles, and the build from source is what loads', () => {
  run(npm, ['rebuild', 'asynchat'], scriptsOff);
  expect(builtFromSource(scriptsOff), 'npm rebuild did not compile');
  serves(scriptsOff, 'build');
});

check('ASYNCHAT_BUILD_FROM_SOURCE=1 npm install compiles although a prebuild fits', () => {
  const dir = project('from-source');
  install(dir, packed.tarball, [], { ASYNCHAT_BUILD_FROM_SOURCE: '1' });
  expect(builtFromSource(dir), 'no build from source');
  serves(dir, 'build');
});

check('musl (LIBC=musl), scripts on: the install compiles although a prebuild is there, and that build serves', () => {
  const dir = project('musl');
  install(dir, packed.tarball, [], { LIBC: 'musl' });
  expect(builtFromSource(dir), 'no build from source on musl');
  serves(dir, 'build', { path: process.execPath, env: { LIBC: 'musl' } });
});

check('musl (LIBC=musl) without a toolchain: the install fails with one message naming apk add python3 make g++', () => {
  const dir = project('musl-no-toolchain');
  // A PATH with node and sh alone: no python3, make or g++.
  const bare = path.join(work, 'bare-bin');
  mkdirSync(bare, { recursive: true });
  symlinkSync(process.execPath, path.join(bare, 'node'));
  symlinkSync('/bin/sh', path.join(bare, 'sh'));
  const r = spawnSync(process.execPath, [npmCli(), 'install', '--no-audit', '--no-fund', packed.tarball], {
    cwd: dir, env: { ...childEnv, LIBC: 'musl', PATH: bare }, encoding: 'utf8', timeout: 600_000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  expect(r.status !== 0, 'the install succeeded without a toolchain');
  const said = out.match(/asynchat: cannot build the native addon: [^\n]*/g) ?? [];
  expect(said.length === 1, `expected the message once, got it ${said.length} times:\n${out.split('\n').slice(-25).join('\n')}`);
  for (const fact of ['python3', 'make', 'g++', 'apk add python3 make g++', 'musl', 'npm rebuild asynchat']) {
    expect(said[0].includes(fact), `the message does not name "${fact}": ${said[0]}`);
  }
  expect(!/gyp (ERR|info)/.test(out), 'node-gyp ran although the toolchain is missing');
  console.log(`    ${said[0]}`);
});

check('without the prebuild: scripts off, ERR_ASYNCHAT_NO_ADDON says why; scripts on, the install compiles and serves', () => {
  const unpacked = path.join(work, 'no-prebuild');
  mkdirSync(unpacked, { recursive: true });
  execFileSync('tar', ['-xzf', packed.tarball, '-C', unpacked]);
  rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true, force: true });
  const bare = pack(path.join(unpacked, 'package'), path.join(work, 'tarball-no-prebuild'), ['--ignore-scripts']);
  expect(!bare.files.some((f) => f.path.startsWith('prebuilds/')), 'the repacked tarball still has prebuilds');
  const blocked = project('no-prebuild-scripts-off');
  install(blocked, bare.tarball, ['--ignore-scripts']);
  const failure = noAddonFailure(blocked);
  expect(failure.code === 'ERR_ASYNCHAT_NO_ADDON', `with scripts off and no prebuild, require gave ${JSON.stringify(failure)}`);
  for (const fact of [`platform ${process.platform}`, `arch ${process.arch}`, 'libc', 'Node-API', 'npm rebuild asynchat']) {
    expect(failure.message.includes(fact), `the error does not say "${fact}": ${failure.message}`);
  }
  const dir = project('compiles');
  install(dir, bare.tarball);
  expect(builtFromSource(dir), 'the install did not compile');
  serves(dir, 'build');
});

finish();

function finish() {
  const failed = results.filter((r) => !r.ok && !r.skipped).length;
  const skipped = results.filter((r) => r.skipped).length;
  const passed = results.length - failed - skipped;
  console.log(`package test: ${passed} passed, ${failed} failed, ${skipped} skipped (${((Date.now() - started) / 1000).toFixed(0)} s)` +
    (packed ? `; tarball ${(packed.size / 1024).toFixed(1)} kB, ${packed.files.length} files` : ''));
  if (jsonOut) {
    writeFileSync(jsonOut, JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped }));
  }
  if (keep) console.log(`kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
  process.exit(failed > 0 ? 1 : 0);
}
