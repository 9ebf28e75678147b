// Where does native.scan pay, and how fast is the InputSplitter? Not a test: run it by hand.
//
//   node bench/scan-threshold.mjs            # primitives, splitter variants, 1 MiB of 2-byte lines
//   node bench/scan-threshold.mjs --python   # also time CPython's asynchat on the same input
//
// src/asynchat/input-splitter.ts is compiled to a temporary directory; variants of the scan
// policy's tuning constants (src/asynchat/scan-cache.ts) are made by rewriting them in a copy of
// the compiled asynchat/ folder, so the source carries no test hooks.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
process.env.ASYNCHAT_ADDON ??= path.join(root, 'build', 'Release', 'asynchat.node');

const out = mkdtempSync(path.join(os.tmpdir(), 'asynchat-bench-'));
process.on('exit', () => rmSync(out, { recursive: true, force: true }));
execFileSync(process.execPath, [
  require.resolve('typescript/bin/tsc'), '--outDir', out, '--rootDir', path.join(root, 'src'),
  '--strict', '--module', 'commonjs', '--target', 'ES2022', '--esModuleInterop', '--skipLibCheck', '--types', 'node',
  path.join(root, 'src', 'asynchat', 'input-splitter.ts'),
], { stdio: 'inherit' });
const compiled = readFileSync(path.join(out, 'asynchat', 'scan-cache.js'), 'utf8');
const { native } = require(path.join(out, 'binding', 'native.js'));

/** The module with some constants replaced. */
function variant(name, constants) {
  let src = compiled;
  for (const [k, v] of Object.entries(constants)) {
    const re = new RegExp(`const ${k} = [^;]+;`);
    if (!re.test(src)) throw new Error(`no constant ${k}`);
    src = src.replace(re, `const ${k} = ${v};`);
  }
  const dir = path.join(out, `asynchat-${name}`);
  cpSync(path.join(out, 'asynchat'), dir, { recursive: true });
  writeFileSync(path.join(dir, 'scan-cache.js'), src);
  return require(path.join(dir, 'input-splitter.js'));
}

/** ns per call: the best of 7 trials (the machine may be shared). */
function time(fn, trialMs = 20) {
  fn();
  let best = Infinity;
  for (let trial = 0; trial < 7; trial++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let el = 0;
    do {
      fn();
      n++;
      el = Number(process.hrtime.bigint() - t0);
    } while (el < trialMs * 1e6);
    best = Math.min(best, el / n);
  }
  return best;
}

const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} us` : `${ns.toFixed(0)} ns`);

// --- 1. One search: a native call against Buffer#indexOf -------------------------------------
console.log('\n1. Finding one terminator at the end of a buffer (per call)');
const res = new Int32Array(1025);
for (const term of ['\n', '\r\n']) {
  const t = Buffer.from(term);
  for (const size of [8, 64, 512, 4096]) {
    const buf = Buffer.alloc(size, 'x');
    t.copy(buf, size - t.length);
    const a = time(() => native.scan(buf, 0, size, t, res, 1));
    const b = time(() => (t.length === 1 ? buf.indexOf(t[0], 0) : buf.indexOf(t, 0)));
    console.log(`  ${JSON.stringify(term).padEnd(6)} ${String(size).padStart(5)} B   scan ${fmt(a).padStart(9)}   indexOf ${fmt(b).padStart(9)}`);
  }
}

// --- 2. All records of a buffer: one batched scan against an indexOf loop ----------------------
console.log('\n2. All records of 64 KiB (per record)');
for (const term of ['\n', '\r\n', '\r\n.\r\n']) {
  const t = Buffer.from(term);
  for (const rec of [0, 8, 64, 1000]) {
    const line = Buffer.concat([Buffer.alloc(rec, 'x'), t]);
    const n = Math.max(1, Math.floor(65536 / line.length));
    const buf = Buffer.concat(Array(n).fill(line));
    const a = time(() => {
      let pos = 0, c;
      do {
        c = native.scan(buf, pos, buf.length, t, res, 1024);
        if (c) pos = res[c - 1] + t.length;
      } while (c === 1024);
    });
    const b = time(() => {
      let pos = 0, i;
      while ((i = t.length === 1 ? buf.indexOf(t[0], pos) : buf.indexOf(t, pos)) !== -1) pos = i + t.length;
    });
    // What InputSplitter's search() does: memchr on the first byte, compare the rest.
    const c = time(() => {
      let pos = 0;
      for (;;) {
        const i = buf.indexOf(t[0], pos);
        if (i < 0 || i > buf.length - t.length) break;
        let j = 1;
        while (j < t.length && buf[i + j] === t[j]) j++;
        pos = j === t.length ? i + t.length : i + 1;
      }
    });
    console.log(`  ${JSON.stringify(term).padEnd(12)} records of ${String(rec).padStart(4)} B + terminator   scan ${fmt(a / n).padStart(8)}   indexOf(Buffer) ${fmt(b / n).padStart(8)}   memchr+compare ${fmt(c / n).padStart(8)}`);
  }
}

// --- 3. The splitter, reads of various sizes, with and without the native path ----------------
const variants = {
  'as built': variant('built', {}),
  'indexOf only': variant('js', { NATIVE_MIN_RUN: 'Infinity' }),
  'min 2 records': variant('r2', { NATIVE_MIN_RECORDS: 2 }),
  'min 32 records': variant('r32', { NATIVE_MIN_RECORDS: 32 }),
};
const counter = { terminator: null, closed: false, n: 0, collectIncomingData() {}, foundTerminator() { this.n++; } };

function feedAll(mod, term, chunks) {
  const s = new mod.InputSplitter({ maxBuffered: Infinity });
  counter.terminator = term;
  for (const c of chunks) s.feed(counter, c);
}

console.log('\n3. InputSplitter over 256 KiB, ns per byte (records: "x"*len + terminator; reads of the size shown)');
const header = Object.keys(variants).map((k) => k.padStart(16)).join('');
for (const [term, rec] of [['\n', 1], ['\n', 30], ['\r\n', 1], ['\r\n', 10], ['\r\n', 30], ['\r\n', 100], ['\r\n.\r\n', 10]]) {
  console.log(`  ${JSON.stringify(term)} records of ${rec} B`);
  console.log(`    ${'read size'.padEnd(10)}${header}`);
  const t = Buffer.from(term);
  const line = Buffer.concat([Buffer.alloc(rec, 'x'), t]);
  const data = Buffer.concat(Array(Math.ceil(262144 / line.length)).fill(line)).subarray(0, 262144);
  for (const size of [16, 64, 256, 4096, 65536]) {
    const chunks = [];
    for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
    const row = Object.values(variants).map((mod) => (time(() => feedAll(mod, t, chunks)) / data.length).toFixed(2).padStart(16));
    console.log(`    ${String(size).padEnd(10)}${row.join('')}`);
  }
}

// --- 4. The headline: 1 MiB of 2-byte lines in one read --------------------------------------
console.log('\n4. 1 MiB of 2-byte lines ("a\\n") in one read');
const mib = Buffer.from('a\n'.repeat(512 * 1024));
for (const [name, mod] of Object.entries(variants)) {
  if (name !== 'as built' && name !== 'indexOf only') continue;
  console.log(`  ${name.padEnd(14)} ${fmt(time(() => feedAll(mod, Buffer.from('\n'), [mib]), 100))}`);
}
const crlf = Buffer.from('a\r\n'.repeat(349525));
console.log(`  as built, "a\\r\\n" (1 MiB) ${fmt(time(() => feedAll(variants['as built'], Buffer.from('\r\n'), [crlf]), 100))}`);

if (process.argv.includes('--python')) {
  console.log('\n5. CPython 3.11 asynchat, the same input (one handle_read)');
  for (const kib of [64, 256, 1024]) {
    const r = spawnSync('python3', ['-W', 'ignore', '-c', `
import asynchat, time
class C(asynchat.async_chat):
    def __init__(self, data):
        asynchat.async_chat.__init__(self); self.data = data; self.n = 0; self.set_terminator(b'\\n')
    def recv(self, n): return self.data
    def collect_incoming_data(self, d): pass
    def found_terminator(self): self.n += 1
c = C(b'a\\n' * (${kib} * 512))
t = time.perf_counter(); c.handle_read(); print(f'{time.perf_counter() - t:.3f} s, {c.n} records')
`], { encoding: 'utf8' });
    console.log(`  ${String(kib).padStart(5)} KiB: ${(r.stdout || r.stderr).trim()}`);
  }
}
