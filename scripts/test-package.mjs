#!/usr/bin/env node
// The package as users get it. Packs the tarball (prepack compiles the prebuild), checks what is
// in it, then installs it into empty projects and there imports it from ESM and CommonJS, loads
// it in a worker_thread and serves a line on loopback (test/package/ holds those programs):
//   - scripts on: the prebuild fits, nothing is compiled;
//   - --ignore-scripts: the prebuild alone is enough (and the types resolve for both entries);
//     then `npm rebuild asynchat` compiles, and the build from source is what loads;
//   - ASYNCHAT_BUILD_FROM_SOURCE=1: compiles although a prebuild fits;
//   - no prebuild in the tarball: with scripts off the import fails with ERR_ASYNCHAT_NO_ADDON
//     (naming what it looked for); with scripts on the install script compiles.
//
//   node scripts/test-package.mjs [--json report.json] [--keep]
//
// --json writes the counts in the shape of a vitest JSON report (scripts/ci-summary.mjs sums
// them); --keep leaves the temporary projects in place. Needs the npm registry for the
// package's own dependencies (node-addon-api, node-gyp-build), as any user does.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { consumerProject, install, npm, pack, root, run, tsc, typeRoots } from './packed-project.mjs';

const probes = path.join(root, 'test', 'package');
const args = process.argv.slice(2);
const jsonOut = args.includes('--json') ? path.resolve(args[args.indexOf('--json') + 1]) : null;
const keep = args.includes('--keep');
const work = mkdtempSync(path.join(os.tmpdir(), 'asynchat-package-'));
const started = Date.now();

const results = [];
function check(name, fn) {
  const t0 = Date.now();
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

// -- the tarball ----------------------------------------------------------------------------
const here = `${process.platform}-${process.arch}`;
const prebuild = `prebuilds/${here}/asynchat.glibc.node`;
const allowed = /^(dist\/.+|native\/[^/]+\.(cc|h)|prebuilds\/[^/]+\/asynchat(\.[a-z0-9]+)*\.node|binding\.gyp|CMakeLists\.txt|scripts\/native-config\.js|scripts\/install\.mjs|README\.md|CONTRIBUTING\.md|LICENSE|package\.json|docs\/[^/]+\.md|docs\/typedoc\.json|examples\/.+\.ts|bench\/results\/[^/]+\.(md|svg))$/;

let packed = null;
check('npm pack (prepack compiles the prebuild)', () => {
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
    ...(process.platform === 'linux' && process.arch === 'x64' ? [prebuild] : []),
  ];
  const missing = needed.filter((f) => !files.includes(f));
  expect(missing.length === 0, `missing: ${missing.join(', ')}`);
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

// Runs the CommonJS and the ESM programs (the ESM one also starts a worker), checks every echo
// and that each loaded the addon from `from` ('prebuilds' or 'build').
function serves(dir, from) {
  const want = path.join(installed(dir), from) + path.sep;
  const cjs = JSON.parse(run(process.execPath, ['cjs.cjs'], dir));
  const esm = JSON.parse(run(process.execPath, ['esm.mjs'], dir));
  const answers = [['require', cjs], ['import', esm.main], ['a worker', esm.worker]];
  for (const [who, answer] of answers) {
    expect(answer.reply === `hello from ${who}\n`, `${who}: echoed ${JSON.stringify(answer.reply)}`);
    expect(answer.addonPath.startsWith(want), `${who}: loaded ${answer.addonPath}, not from ${want}`);
  }
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

check('without the prebuild: scripts off, ERR_ASYNCHAT_NO_ADDON says why; scripts on, the install compiles and serves', () => {
  const unpacked = path.join(work, 'no-prebuild');
  mkdirSync(unpacked, { recursive: true });
  execFileSync('tar', ['-xzf', packed.tarball, '-C', unpacked]);
  rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true, force: true });
  const bare = pack(path.join(unpacked, 'package'), path.join(work, 'tarball-no-prebuild'), ['--ignore-scripts']);
  expect(!bare.files.some((f) => f.path.startsWith('prebuilds/')), 'the repacked tarball still has prebuilds');
  const blocked = project('no-prebuild-scripts-off');
  install(blocked, bare.tarball, ['--ignore-scripts']);
  const probe = "try { require('asynchat'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }";
  const failure = JSON.parse(run(process.execPath, ['-e', probe], blocked) || '{}');
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
  const failed = results.filter((r) => !r.ok).length;
  const passed = results.length - failed;
  console.log(`package test: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(0)} s)` +
    (packed ? `; tarball ${(packed.size / 1024).toFixed(1)} kB, ${packed.files.length} files` : ''));
  if (jsonOut) {
    writeFileSync(jsonOut, JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numPendingTests: 0 }));
  }
  if (keep) console.log(`kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
  process.exit(failed > 0 ? 1 : 0);
}
