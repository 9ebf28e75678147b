// The record path alone, without sockets or syscalls: chunks of requests fed to an idiomatic
// AsyncChat, whose queued output is drained after each chunk as a writev would. Reports ns per
// request, median of rounds, for a few pipelining depths. Not a test and not part of `npm run
// bench`: run it by hand before and after a change to the input or output path.
//   line: CRLF lines to a line echo (keepIncomingData, then push(getData()) and push(CRLF));
//   resp: the load generator's SET/GET/PING/GET-missing cycle to bench/servers/resp-session.mjs
//         (a '\r\n' terminator for `*N`/`$len`, an integer one for each payload).
//   resp-framer: the same chunks to bench/servers/resp-framer-session.mjs (the RESP framer: one
//         native parse per chunk, a collectIncomingData per argument, a foundTerminator per command).
//   resp-net: the same chunks to the 'data' handler of bench/servers/net-resp-tuned.mjs (one
//         pass over the bytes), on a stand-in socket whose write() drops the reply: what the
//         tuned parser costs without syscalls, and without the stream machinery behind write(),
//         which it pays in a real server.
//
//   node bench/record-path.mjs [--workload line|resp|resp-framer|resp-net] [--rounds 9] [--lines 2000000] [--split]
//
// --split: the rounds run under V8's CPU profiler (node:inspector), and the time is split by
// owner: the session's own code (bench/servers/, with the builtins it calls: toString, parseInt,
// subarray, the Map) against the library's (dist/, with what it calls), the innermost owner on
// each sample's stack taking it. The profiler slows everything a little; the shares are what
// count.
import { createRequire } from 'node:module';
import { Session as InspectorSession } from 'node:inspector/promises';
import { feedChunk, drainOutput } from './lib/record-path-internals.mjs';
import { selfTimeByOwner } from './lib/cpuprofile.mjs';

const require = createRequire(import.meta.url);
const { AsyncChat } = require('../dist/cjs/index.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (typeof dflt === 'number' ? Number(args[i + 1]) : args[i + 1]) : dflt;
};
const WORKLOAD = opt('workload', 'line');
const SPLIT = args.includes('--split');
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
function lineChunks(depth, count) {
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

const bulk = (s) => `$${Buffer.byteLength(s, 'latin1')}\r\n${s}\r\n`;

/** The i-th command of the load generator's cycle (its values: 8..64 bytes). */
function respCommand(i) {
  const key = `key:7:${(i >> 2) % 64}`;
  switch (i % 4) {
    case 0: return `*3\r\n$3\r\nSET\r\n${bulk(key)}${bulk('V'.repeat(8 + ((i >> 2) * 13) % 57))}`;
    case 1: return `*2\r\n$3\r\nGET\r\n${bulk(`key:7:${((i - 1) >> 2) % 64}`)}`;
    case 2: return '*1\r\n$4\r\nPING\r\n';
    default: return `*2\r\n$3\r\nGET\r\n${bulk('missing:7')}`;
  }
}

/** Distinct chunks of `depth` RESP commands each, back to back in one slab. */
function respChunks(depth, count) {
  const parts = [];
  for (let c = 0; c < count; c++) {
    let text = '';
    for (let k = 0; k < depth; k++) text += respCommand(c * depth + k);
    parts.push(Buffer.from(text, 'latin1'));
  }
  const slab = Buffer.concat(parts);
  let at = 0;
  return parts.map((p) => slab.subarray(at, (at += p.length)));
}

/** The tuned net server's 'data' handler, on a stand-in socket (the server never listens). */
async function netRespHandler() {
  const net = (await import('node:net')).default;
  let onConnection = null;
  const createServer = net.createServer;
  net.createServer = (handler) => {
    onConnection = handler;
    return { listen() {}, address: () => ({ port: 0 }) };
  };
  await import('./servers/net-resp-tuned.mjs');
  net.createServer = createServer;
  let onData = null;
  onConnection({ setNoDelay() {}, on(event, fn) { if (event === 'data') onData = fn; }, write() {}, end() {}, destroy() {} });
  return onData;
}

const { RespSession } = WORKLOAD === 'resp' ? await import('./servers/resp-session.mjs') : {};
const { RespFramerSession } = WORKLOAD === 'resp-framer' ? await import('./servers/resp-framer-session.mjs') : {};
const onNetData = WORKLOAD === 'resp-net' ? await netRespHandler() : null;
const Session = WORKLOAD === 'resp' ? RespSession : WORKLOAD === 'resp-framer' ? RespFramerSession : LineEcho;
const chunks = WORKLOAD === 'line' ? lineChunks : respChunks;

function round(depth) {
  const chat = onNetData === null ? new Session() : null;
  const input = chunks(depth, 64);
  const n = Math.ceil(LINES / depth);
  const t0 = process.hrtime.bigint();
  if (chat === null) {
    for (let i = 0; i < n; i++) onNetData(input[i & 63]);
  } else {
    for (let i = 0; i < n; i++) {
      feedChunk(chat, input[i & 63]);
      drainOutput(chat);
    }
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return ns / (n * depth);
}

const inspector = SPLIT ? new InspectorSession() : null;
if (inspector !== null) {
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
}

for (const depth of [1, 16, 64]) {
  round(depth);  // warm-up
  if (inspector !== null) await inspector.post('Profiler.start');
  const times = [];
  for (let r = 0; r < ROUNDS; r++) times.push(round(depth));
  times.sort((a, b) => a - b);
  const med = times[times.length >> 1];
  let split = '';
  if (inspector !== null) {
    const { profile } = await inspector.post('Profiler.stop');
    const { shares } = selfTimeByOwner(profile, [
      { name: 'session', claims: (url) => url.includes('/bench/servers/') },
      { name: 'library', claims: (url) => url.includes('/dist/') },
    ]);
    const pct = (k) => `${((shares[k] ?? 0) * 100).toFixed(0)}%`;
    split = `; session ${pct('session')}, library ${pct('library')}, other ${pct('other')}`;
  }
  console.log(`depth ${String(depth).padStart(2)}: ${med.toFixed(1)} ns per ${WORKLOAD === 'line' ? 'echoed line' : 'command'} (min ${times[0].toFixed(1)}, max ${times[times.length - 1].toFixed(1)})${split}`);
}
