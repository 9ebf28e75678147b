// The record path alone, without sockets or syscalls: chunks of CRLF lines fed to an idiomatic
// AsyncChat line echo (keepIncomingData, then push(getData()) and push(CRLF)), whose queued
// output is drained after each chunk as a writev would. Reports ns per echoed line, median of
// rounds, for a few pipelining depths. Not a test and not part of `npm run bench`: run it by
// hand before and after a change to the input or output path.
//
//   node bench/record-path.mjs [--rounds 9] [--lines 2000000]
import { createRequire } from 'node:module';
import { feedChunk, drainOutput } from './lib/record-path-internals.mjs';

const require = createRequire(import.meta.url);
const { AsyncChat } = require('../dist/cjs/index.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROUNDS = opt('rounds', 9);
const LINES = opt('lines', 2_000_000);
const LINE = 32;  // bytes per line with its CRLF, as the load generator sends them
const CRLF = Buffer.from('\r\n');

class LineEcho extends AsyncChat {
  constructor() {
    super();
    this.setTerminator('\r\n');
  }
  collectIncomingData(data) { this.keepIncomingData(data); }
  foundTerminator() {
    this.push(this.getData());
    this.push(CRLF);
  }
}

/** Distinct chunks of `depth` lines each, in one never-rewritten slab (as reads land). */
function chunks(depth, count) {
  const slab = Buffer.allocUnsafe(depth * LINE * count);
  const out = [];
  for (let c = 0; c < count; c++) {
    for (let l = 0; l < depth; l++) {
      const at = (c * depth + l) * LINE;
      slab.write(`${String(c * depth + l).padStart(LINE - 2, 'x')}\r\n`, at, 'latin1');
    }
    out.push(slab.subarray(c * depth * LINE, (c + 1) * depth * LINE));
  }
  return out;
}

function round(depth) {
  const chat = new LineEcho();
  const input = chunks(depth, 64);
  const n = Math.ceil(LINES / depth);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    feedChunk(chat, input[i & 63]);
    drainOutput(chat);
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return ns / (n * depth);
}

for (const depth of [1, 16, 64]) {
  round(depth);  // warm-up
  const times = [];
  for (let r = 0; r < ROUNDS; r++) times.push(round(depth));
  times.sort((a, b) => a - b);
  const med = times[times.length >> 1];
  console.log(`depth ${String(depth).padStart(2)}: ${med.toFixed(1)} ns per echoed line (min ${times[0].toFixed(1)}, max ${times[times.length - 1].toFixed(1)})`);
}
