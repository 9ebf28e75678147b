// asynchat against node:net, side by side (issue #5).
//
//   npm run bench                 # full: 5 interleaved rounds, 1 s warm-up + 2 s measured per run
//   npm run bench -- --quick      # under 45 s: one short round (CI runs this so the benchmarks cannot rot)
//   npm run bench -- --help
//
// Each server is a process of its own (bench/servers/), the load generator another (a C program,
// bench/loadgen/loadgen.c, compiled into build-bench/ on first use); all on 127.0.0.1, TCP_NODELAY on
// every socket. Within a round every server of a workload gets one run, the order rotating from round
// to round; what is reported is the median over rounds, and ratios are medians of per-round ratios.
// Results go to bench/results/<name>.{json,md,svg} (name: latest, or quick for --quick).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ratioChart } from './lib/chart.mjs';
import {
  benchDir, ensureLoadgen, ensurePackage, fdLimits, root, runLoadgen, startServer, stopServer,
} from './lib/procs.mjs';
import { renderMarkdown } from './lib/report.mjs';
import { runUdp } from './udp.mjs';
import { median } from './lib/stats.mjs';

const HELP = `npm run bench [-- options]

  --quick              one short round of everything, under 45 s (results/quick.*)
  --rounds N           interleaved rounds (default 5; quick 1)
  --duration S         measured seconds per run (default 2; quick 0.25)
  --warmup S           warm-up seconds per run, before measuring (default 1; quick 0.1)
  --connections N      busy connections (default 50)
  --depth LIST         requests in flight per connection, e.g. 1,16 (default: line 1,16; resp 16,1;
                       length 16; http 1; idle 1)
  --workload LIST      line, resp, length, http, idle, timers, timeouts, udp (default: all; udp:
                       bench/udp.mjs)
  --idle N             idle connections for the idle workload (default 5000)
  --idle-timeouts N    idle connections, each with an idle timeout, for the timeouts workload
                       (default 10000; quick 2000)
  --line-size B        bytes per line, CRLF included (default 32)
  --compare-tree DIR   also run every asynchat server as the checkout DIR built it (npm install
                       there first), interleaved, and report this tree's against it
  --name NAME          results file name under bench/results (default latest; quick: quick)
  --no-build           measure dist/ as it is, even if src/ is newer (default: npm run build:ts first)
  --threads N          also run every asynchat server on N threads (serveThreads), reported
                       against the same server on one thread (throughput and CPU per request)
  --profile            afterwards, profile the AsyncChat line-echo server (bench/profile.mjs;
                       with Linux perf installed, also a perf record of its CPU time)
`;

function parseArgs(argv) {
  const o = {
    quick: false, rounds: null, duration: null, warmup: null, conns: 50, depth: null, workload: null,
    idle: 5000, idleTimeouts: null, lineSize: 32, name: null, profile: false, build: true, threads: 1,
    compareTree: null,
  };
  const numbers = {
    rounds: 'rounds', duration: 'duration', warmup: 'warmup', connections: 'conns', idle: 'idle', 'line-size': 'lineSize',
    'idle-timeouts': 'idleTimeouts', threads: 'threads',
  };
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s, 2);
    const next = () => value ?? argv[++i];
    flag = flag.replace(/^--/, '');
    if (flag === 'help' || flag === 'h' || flag === '-h') {
      process.stdout.write(HELP);
      process.exit(0);
    } else if (flag === 'quick') o.quick = true;
    else if (flag === 'profile') o.profile = true;
    else if (flag === 'no-build') o.build = false;
    else if (flag in numbers) {
      const v = Number(next());
      if (!(v > 0)) usage(`--${flag} needs a positive number`);
      o[numbers[flag]] = v;
    } else if (flag === 'depth') {
      o.depth = String(next()).split(',').map(Number);
      if (o.depth.some((d) => !(d >= 1 && Number.isInteger(d)))) usage('--depth needs positive integers, e.g. 1,16');
    } else if (flag === 'workload') o.workload = String(next()).split(',');
    else if (flag === 'name') o.name = next();
    else if (flag === 'compare-tree') {
      o.compareTree = path.resolve(String(next()));
      if (!existsSync(path.join(o.compareTree, 'bench', 'servers'))) usage(`--compare-tree: no bench/servers in ${o.compareTree}`);
    } else usage(`unknown option ${argv[i]}`);
  }
  o.roundsGiven = o.rounds !== null;
  o.rounds ??= o.quick ? 1 : 5;
  o.duration ??= o.quick ? 0.25 : 2;
  o.warmup ??= o.quick ? 0.1 : 1;
  o.prime = o.quick ? 0.2 : Math.min(2, Math.max(0.5, o.duration));
  o.name ??= o.quick ? 'quick' : 'latest';
  o.idleTimeouts ??= o.quick ? 2000 : 10000;
  return o;
}

function usage(message) {
  process.stderr.write(`bench: ${message}\n\n${HELP}`);
  process.exit(1);
}

// ---- what is measured ----

/** An asynchat server file served both ways: loop() and loopAsync(). */
const asynchat = (impl, family) => ['blocking', 'attached'].map((mode) => ({
  id: `${impl}:${mode}`, impl, file: `${impl}.mjs`, family, mode, kind: 'asynchat',
  label: `${family} ${mode === 'blocking' ? 'loop()' : 'loopAsync()'}`,
}));
const node = (impl, label) => ({ id: impl, impl, file: `${impl}.mjs`, kind: 'node', label });

function workloads(o) {
  return [
    {
      id: 'line', title: 'Line echo', unit: 'lines/s', proto: 'line', depths: [1, 16],
      describe: (d) => `${o.conns} connections × ${d} line${d > 1 ? 's' : ''} of ${o.lineSize} bytes in flight`,
      servers: [
        ...asynchat('chat-echo', 'AsyncChat'), ...asynchat('dispatcher-echo', 'Dispatcher'),
        node('net-echo-idiomatic', 'net idiomatic'), node('net-echo-tuned', 'net tuned'),
        { id: 'c-echo', impl: 'c-echo', file: 'c-echo.c', kind: 'reference', label: 'C epoll (reference)' },
      ],
      baselines: ['net-echo-idiomatic', 'net-echo-tuned'],
    },
    {
      // --quick runs depth 16 only: depth 1 adds no server, only time.
      id: 'resp', title: 'RESP (PING, SET, GET)', unit: 'commands/s', proto: 'resp', depths: [16, 1], quickDepths: [16],
      describe: (d) => `${o.conns} connections × ${d} command${d > 1 ? 's' : ''} in flight (SET, GET, PING, GET of a missing key)`,
      // The RESP ratios swing more from round to round than the others (see RESP_ROUNDS).
      rounds: RESP_ROUNDS,
      servers: [
        ...asynchat('chat-resp', 'AsyncChat'), ...asynchat('chat-resp-framer', 'AsyncChat framer'),
        node('net-resp-idiomatic', 'net idiomatic'), node('net-resp-tuned', 'net tuned'), ...redisReference(),
      ],
      baselines: ['net-resp-idiomatic', 'net-resp-tuned'],
    },
    {
      id: 'length', title: 'Length-prefixed echo', unit: 'messages/s', proto: 'lp', depths: [16], frameSizes: [32, 16384],
      describe: (d, size) => `${o.conns} connections × ${d} messages of ${size} bytes in flight (a 4-byte big-endian length, then the payload), echoed`,
      servers: [...asynchat('chat-length-echo', 'AsyncChat framer'), node('net-length-echo-tuned', 'net tuned')],
      baselines: ['net-length-echo-tuned'],
    },
    {
      id: 'http', title: 'HTTP/1.1 keep-alive GET', unit: 'requests/s', proto: 'http', depths: [1],
      describe: (d) => `${o.conns} keep-alive connections, ${d === 1 ? 'one request at a time' : `${d} requests pipelined`}`,
      servers: [
        ...asynchat('chat-http', 'AsyncChat'), node('node-http', 'node:http'), node('net-http', 'net minimal'),
        node('net-http-tuned', 'net tuned'),
      ],
      baselines: ['node-http', 'net-http', 'net-http-tuned'],
    },
    {
      id: 'idle', title: 'Idle connections', unit: 'lines/s', proto: 'line', depths: [1], idle: o.idle,
      describe: (d) => `line echo, ${o.conns} busy connections × ${d} in flight, alone and beside ${o.idle} idle ones`,
      servers: [...asynchat('chat-echo', 'AsyncChat'), node('net-echo-tuned', 'net tuned')],
      baselines: [],
    },
    {
      id: 'timers', title: '100,000 pending timers', unit: 'lines/s', proto: 'line', depths: [1],
      describe: (d) => `line echo, ${o.conns} busy connections × ${d} in flight, with and without 100,000 callLater() timers pending`,
      servers: [...asynchat('chat-echo', 'AsyncChat'), ...asynchat('chat-echo-timers', 'AsyncChat + 100k timers')],
      baselines: [],
      pairs: ['blocking', 'attached'].map((m) => [`chat-echo-timers:${m}`, `chat-echo:${m}`]),
    },
    {
      id: 'timeouts', title: 'Idle timeouts armed', unit: 'lines/s', proto: 'line', depths: [1], idle: o.idleTimeouts,
      describe: (d) => `line echo, ${o.conns} busy connections × ${d} in flight beside ${o.idleTimeouts} idle ones, with and without idleTimeout on every connection`,
      servers: [...asynchat('chat-echo', 'AsyncChat'), ...asynchat('chat-echo-timeouts', 'AsyncChat + idleTimeout')],
      baselines: [],
      pairs: ['blocking', 'attached'].map((m) => [`chat-echo-timeouts:${m}@${o.idleTimeouts}`, `chat-echo:${m}@${o.idleTimeouts}`]),
    },
  ];
}

// The speed targets (issues #5 and #14). `depth` null: every depth the workload ran. A
// `baseline` may be a reference row (C echo, redis-server): then it is a share of it.
const TARGETS = [
  { workload: 'line', depth: 16, impl: 'chat-echo', baseline: 'net-echo-tuned', min: 1.5, text: 'AsyncChat line echo, depth 16, vs net tuned' },
  { workload: 'line', depth: 16, impl: 'chat-echo', baseline: 'c-echo', min: 0.75, text: 'AsyncChat line echo, depth 16, vs the C echo' },
  { workload: 'line', depth: 16, impl: 'chat-echo', baseline: 'net-echo-idiomatic', min: 10, text: 'AsyncChat line echo, depth 16, vs net idiomatic' },
  { workload: 'resp', depth: 16, impl: 'chat-resp', baseline: 'net-resp-tuned', min: 1.5, text: 'AsyncChat RESP vs net tuned' },
  { workload: 'resp', depth: 16, impl: 'chat-resp', baseline: 'redis-server', min: 0.8, text: 'AsyncChat RESP vs redis-server' },
  { workload: 'resp', depth: 16, impl: 'chat-resp', baseline: 'net-resp-idiomatic', min: 1.5, text: 'AsyncChat RESP vs net idiomatic' },
  { workload: 'resp', depth: 16, impl: 'chat-resp-framer', baseline: 'net-resp-tuned', min: 1.5, text: 'AsyncChat RESP framer vs net tuned (issue 20)' },
  { workload: 'resp', depth: 16, impl: 'chat-resp-framer', baseline: 'redis-server', min: 0.8, text: 'AsyncChat RESP framer vs redis-server (issue 20)' },
  { workload: 'length', depth: null, frameSize: 32, impl: 'chat-length-echo', baseline: 'net-length-echo-tuned', min: 1.5, text: 'length-prefixed echo, 32-byte messages, vs net tuned (issue 20)' },
  { workload: 'length', depth: null, frameSize: 16384, impl: 'chat-length-echo', baseline: 'net-length-echo-tuned', min: 1.0, text: 'length-prefixed echo, 16 KiB messages, vs net tuned (issue 20)' },
  { workload: 'http', depth: null, impl: 'chat-http', baseline: 'node-http', min: 1.3, text: 'AsyncChat HTTP keep-alive vs node:http' },
  { workload: 'line', depth: 1, impl: 'chat-echo', baseline: 'net-echo-tuned', min: 1.0, text: 'AsyncChat line echo, depth 1, vs net tuned' },
  { workload: 'line', depth: 1, impl: 'chat-echo', baseline: 'net-echo-idiomatic', min: 1.0, text: 'AsyncChat line echo, depth 1, vs net idiomatic' },
  { workload: 'idle', depth: null, impl: 'chat-echo', idle: true, min: 0.9, text: 'busy throughput kept beside the idle connections' },
  { workload: 'timers', depth: null, impl: 'chat-echo-timers', pair: true, min: 0.9, text: 'busy throughput with 100,000 timers pending, vs none' },
  { workload: 'timeouts', depth: null, impl: 'chat-echo-timeouts', pair: true, min: 0.9, text: 'busy throughput beside idle connections with idleTimeout armed, vs without' },
];
const MODE_BAND = [0.9, 1.1];  // blocking and attached within 10% of each other

// RESP: rounds of a full run (unless --rounds). Measured 2026-12-01 over 25 rounds, on the
// 2-core machine under a load average of 7-9 (other jobs): the per-round throughput ratios of
// chat-resp to net-resp-tuned and to redis-server ranged 0.15-1.9x, and their running medians
// came within 3% of the 25-round median only from round 15-22 (after 5 rounds they were still
// off by up to 55%). By server CPU per request the ratios were within 3-5% after 5 rounds.
const RESP_ROUNDS = 20;

function redisInstalled() {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** redis-server as the RESP reference row, when it is installed (else no row, and a note). */
function redisReference() {
  if (!redisInstalled()) return [];
  return [{ id: 'redis-server', impl: 'redis-server', file: 'redis-server.mjs', kind: 'reference', label: 'redis-server (reference)' }];
}

/**
 * With --threads N: every asynchat server also as N threads (serveThreads), an entry of its own
 * compared with the same server on one thread (kind 'threads').
 */
function withThreads(servers, o) {
  if (o.threads <= 1) return servers;
  return servers.flatMap((s) => (s.kind !== 'asynchat' ? [s] : [s, {
    ...s, id: `${s.id}:t${o.threads}`, threads: o.threads, single: s.id, label: `${s.label}, ${o.threads} threads`,
  }]));
}

/** Each threaded entry against its one-thread twin: throughput, and CPU per request (twin ÷ threaded). */
function threadRatios(entries, perRound) {
  const byKey = new Map(entries.map((e) => [e.key, e]));
  return entries.filter((e) => e.threads > 1).map((e) => {
    const single = byKey.get(e.single);
    const rounds = perRound(e, single);
    const cpuRounds = e.runs.map((r, i) => single.runs[i].serverUsPerReq / r.serverUsPerReq);
    return { of: e.key, to: single.key, kind: 'threads', rounds, median: median(rounds), cpuRounds, cpuMedian: median(cpuRounds) };
  });
}

/**
 * With --compare-tree DIR: every asynchat server again as DIR built it (its bench/servers file,
 * its dist/ and its addon: another checkout, built), in the same rounds, and this tree's server
 * against it (kind 'pair'): a change measured before/after, interleaved.
 */
function withBefore(servers, o) {
  if (o.compareTree === null) return servers;
  return servers.flatMap((s) => {
    const file = path.join(o.compareTree, 'bench', 'servers', s.file);
    if (s.kind !== 'asynchat' || s.threads > 1 || !existsSync(file)) return [s];
    return [s, { ...s, id: `${s.id}:before`, file, before: s.id, label: `${s.label}, before` }];
  });
}

function makeCases(o) {
  const cases = [];
  for (const w of workloads(o)) {
    if (o.workload && !o.workload.includes(w.id)) continue;
    for (const frameSize of w.frameSizes ?? [null]) for (const depth of o.depth ?? (o.quick ? w.quickDepths : null) ?? w.depths) {
      const entries = w.idle
        ? w.servers.flatMap((s) => [
          // paired workloads compare servers beside the same idle connections: no busy-only run
          ...(w.pairs ? [] : [{ key: `${s.id}@0`, server: s, idle: 0, label: `${s.label}, busy only` }]),
          { key: `${s.id}@${w.idle}`, server: s, idle: w.idle, label: `${s.label}, + ${w.idle} idle` },
        ])
        : withBefore(withThreads(w.servers, o), o).map((s) => ({
          key: s.id, server: s, idle: 0, label: s.label, threads: s.threads ?? 1, single: s.single, before: s.before,
        }));
      cases.push({ key: `${w.id}-d${depth}${frameSize ? `-f${frameSize}` : ''}`, workload: w, depth, frameSize, entries });
    }
  }
  if (o.workload) {
    const known = [...workloads(o).map((w) => w.id), 'udp'];
    const unknown = o.workload.filter((id) => !known.includes(id));
    if (unknown.length) usage(`unknown workload ${unknown.join(', ')} (known: ${known.join(', ')})`);
  }
  return cases;
}

// ---- output helpers ----

const fmtRate = (r) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : r >= 1e3 ? `${(r / 1e3).toFixed(1)} k` : r.toFixed(0));
const fmtUs = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`);
const pct = (x) => `${(x * 100).toFixed(0)}%`;
const log = (line) => process.stdout.write(`${line}\n`);

// ---- running ----

const running = new Set();

async function runCase(c, o, limits, notes) {
  const w = c.workload;
  const tag = `[${w.id} d${c.depth}${c.frameSize ? ` ${c.frameSize} B` : ''}]`;
  const maxIdle = Math.max(...c.entries.map((e) => e.idle));
  const fds = maxIdle + o.conns + 256;
  if (fds > limits.hard) {
    const scaled = Math.max(0, limits.hard - o.conns - 256);
    notes.push(`${w.id}: the hard limit on open files is ${limits.hard}; ${scaled} idle connections instead of ${maxIdle}`);
    for (const e of c.entries) if (e.idle > 0) e.idle = scaled;
  }
  const servers = [...new Map(c.entries.map((e) => [e.server.id, e.server])).values()];
  log(`${tag} ${w.title}: ${w.describe(c.depth, c.frameSize)}; starting ${servers.length} servers`);
  const procs = new Map();
  try {
    const settled = await Promise.allSettled(servers.map((s) => startServer(s, { fds, limits })));
    for (const r of settled) {
      if (r.status !== 'fulfilled') continue;
      procs.set(r.value.id, r.value);
      running.add(r.value);
    }
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const started = [...procs.values()];
    // Prime every server at once (JIT tiers follow call counts, so sharing the CPUs is fine):
    // otherwise the first run of round 1 would measure a cold server.
    await Promise.all(started.map((p) => runLoadgen(p, {
      proto: w.proto, conns: o.conns, depth: c.depth, warmup: 0, duration: o.prime, lineSize: o.lineSize, frameSize: c.frameSize, stats: false,
    }).catch((err) => {
      err.message = `${tag} priming ${p.label}: ${err.message}`;
      err.benchFatal = true;
      throw err;
    })));
    const runs = Object.fromEntries(c.entries.map((e) => [e.key, []]));
    const rounds = roundsOf(w, o);
    for (let r = 0; r < rounds; r++) {
      const order = c.entries.map((_, i) => c.entries[(i + r) % c.entries.length]);
      for (const e of order) {
        const proc = procs.get(e.server.id);
        let res;
        try {
          res = await runLoadgen(proc, {
            proto: w.proto, conns: o.conns, depth: c.depth, idle: e.idle, warmup: o.warmup,
            duration: o.duration, lineSize: o.lineSize, frameSize: c.frameSize,
          });
        } catch (err) {
          err.message = `${tag} ${e.label}: ${err.message}${err.serverStderr ? `\n--- server stderr ---\n${err.serverStderr}` : ''}`;
          err.benchFatal = true;
          throw err;
        }
        res.round = r;
        res.serverShare = res.serverCpu / res.seconds;
        res.loadgenShare = res.loadgenCpu / res.seconds;
        res.serverUsPerReq = (res.serverCpu / res.requests) * 1e6;
        runs[e.key].push(res);
        log(
          `${tag} round ${r + 1}/${rounds}  ${e.label.padEnd(34)} ${fmtRate(res.rate).padStart(9)} ${w.unit}` +
          `  p50 ${fmtUs(res.p50us).padStart(8)}  p99 ${fmtUs(res.p99us).padStart(8)}` +
          `  server ${pct(res.serverShare).padStart(4)} (${res.serverUsPerReq.toFixed(2)} µs/req)  loadgen ${pct(res.loadgenShare).padStart(4)}`,
        );
      }
    }
    return summarizeCase(c, runs, o);
  } finally {
    await Promise.all([...procs.values()].map(async (p) => {
      await stopServer(p);
      running.delete(p);
    }));
  }
}

/** A workload's rounds: --rounds when given, else its own (RESP) or the run's default. */
function roundsOf(w, o) {
  return o.roundsGiven || o.quick ? o.rounds : w.rounds ?? o.rounds;
}

const STAT_KEYS = ['crossings', 'waits', 'events', 'reads', 'writes', 'wakeups', 'interestSyscalls', 'scans', 'accepts'];

function summarizeCase(c, runs, o) {
  const w = c.workload;
  const entries = c.entries.map((e) => {
    const rs = runs[e.key];
    const s = {
      key: e.key, server: e.server.id, impl: e.server.impl, family: e.server.family ?? null,
      mode: e.server.mode ?? null, kind: e.server.kind, label: e.label, idle: e.idle, threads: e.threads, single: e.single ?? null,
      ...(e.before !== undefined ? { before: e.before } : {}),
      rate: median(rs.map((r) => r.rate)),
      p50us: median(rs.map((r) => r.p50us)),
      p99us: median(rs.map((r) => r.p99us)),
      serverShare: median(rs.map((r) => r.serverShare)),
      serverUsPerReq: median(rs.map((r) => r.serverUsPerReq)),
      loadgenShare: median(rs.map((r) => r.loadgenShare)),
      loadgenShareMax: Math.max(...rs.map((r) => r.loadgenShare)),
      runs: rs,
    };
    if (e.server.kind === 'asynchat' && rs.every((r) => r.stats)) {
      s.statsPer1000 = Object.fromEntries(STAT_KEYS.map((k) => [k, median(rs.map((r) => (r.stats[k] / r.requests) * 1000))]));
    }
    return s;
  });
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const perRound = (a, b) => a.runs.map((r, i) => r.rate / b.runs[i].rate);
  // The same comparison by server CPU time per request: steadier than throughput when other
  // processes share the CPUs (a ratio > 1: asynchat spends less per request).
  const cpuPerRound = (a, b) => a.runs.map((r, i) => b.runs[i].serverUsPerReq / r.serverUsPerReq);
  const ratios = [];
  for (const e of entries) {
    if (e.kind !== 'asynchat' || w.idle || e.threads > 1 || e.before !== undefined) continue;
    for (const b of w.baselines) {
      const base = byKey.get(b);
      if (!base) continue;
      const rounds = perRound(e, base);
      const cpuRounds = cpuPerRound(e, base);
      ratios.push({
        of: e.key, to: b, kind: 'baseline', rounds, median: median(rounds), cpuRounds, cpuMedian: median(cpuRounds),
      });
    }
  }
  // the same server with and without one thing (timers, timeouts; --compare-tree: this tree's
  // and the other's), in the same rounds
  const beforePairs = entries.filter((e) => e.before !== undefined).map((e) => [e.before, e.key]);
  for (const [of, to] of [...(w.pairs ?? []), ...beforePairs]) {
    const a = byKey.get(of);
    const b = byKey.get(to);
    if (!a || !b) continue;
    const rounds = perRound(a, b);
    const cpuRounds = cpuPerRound(a, b);
    ratios.push({ of, to, kind: 'pair', rounds, median: median(rounds), cpuRounds, cpuMedian: median(cpuRounds) });
  }
  if (w.idle && !w.pairs) {
    for (const e of entries.filter((x) => x.idle > 0)) {
      const alone = byKey.get(`${e.server}@0`);
      const rounds = perRound(e, alone);
      ratios.push({ of: e.key, to: alone.key, kind: 'idle', rounds, median: median(rounds) });
    }
  }
  // share of the C reference server
  const reference = entries.find((e) => e.kind === 'reference');
  for (const e of entries) {
    if (reference === undefined || e.kind !== 'asynchat' || e.threads > 1) continue;
    const rounds = perRound(e, reference);
    const cpuRounds = cpuPerRound(e, reference);
    ratios.push({ of: e.key, to: reference.key, kind: 'reference', rounds, median: median(rounds), cpuRounds, cpuMedian: median(cpuRounds) });
  }
  ratios.push(...threadRatios(entries, perRound));
  // attached / blocking, per implementation
  for (const e of entries.filter((x) => x.mode === 'attached' && !(x.threads > 1))) {
    const blocking = byKey.get(e.key.replace(':attached', ':blocking'));
    if (!blocking) continue;
    const rounds = perRound(e, blocking);
    ratios.push({ of: e.key, to: blocking.key, kind: 'mode', rounds, median: median(rounds) });
  }
  return {
    key: c.key, workload: w.id, title: c.frameSize ? `${w.title}, ${c.frameSize}-byte messages` : w.title, unit: w.unit,
    proto: w.proto, depth: c.depth, frameSize: c.frameSize ?? null, description: w.describe(c.depth, c.frameSize), conns: o.conns, idle: w.idle ?? 0, baselines: w.baselines, rounds: roundsOf(w, o),
    pairs: w.pairs ?? null, entries, ratios,
  };
}

function evaluateTargets(cases) {
  const rows = [];
  for (const t of TARGETS) {
    for (const c of cases) {
      if (c.workload !== t.workload || (t.depth !== null && c.depth !== t.depth)) continue;
      if (t.frameSize !== undefined && c.frameSize !== t.frameSize) continue;
      for (const mode of ['blocking', 'attached']) {
        const ratio = t.pair
          ? c.ratios.find((r) => r.kind === 'pair' && r.of.startsWith(`${t.impl}:${mode}`))
          : t.idle
            ? c.ratios.find((r) => r.kind === 'idle' && r.of.startsWith(`${t.impl}:${mode}@`))
            : c.ratios.find((r) => (r.kind === 'baseline' || r.kind === 'reference') && r.of === `${t.impl}:${mode}` && r.to === t.baseline);
        if (!ratio) continue;
        rows.push({
          text: t.idle ? `${t.text} (${c.idle} idle + ${c.conns} busy)` : t.text, case: c.key, mode,
          want: `≥ ${t.min}×`, got: ratio.median, gotCpu: ratio.cpuMedian ?? null, pass: ratio.median >= t.min,
        });
      }
    }
  }
  for (const c of cases) {
    for (const r of c.ratios.filter((x) => x.kind === 'mode')) {
      const e = c.entries.find((x) => x.key === r.of);
      rows.push({
        text: `${e.family} loopAsync() / loop(), ${c.title} d${c.depth}${c.idle ? (e.idle ? `, ${e.idle} idle` : ', busy only') : ''}`,
        case: c.key, mode: 'both',
        want: `${MODE_BAND[0]}–${MODE_BAND[1]}×`, got: r.median, pass: r.median >= MODE_BAND[0] && r.median <= MODE_BAND[1],
      });
    }
  }
  return rows;
}

const SERIES = [
  { key: 'AsyncChat:blocking', label: 'AsyncChat loop()', color: '#1f4e9c' },
  { key: 'AsyncChat:attached', label: 'AsyncChat loopAsync()', color: '#6fa8dc' },
  { key: 'AsyncChat framer:blocking', label: 'AsyncChat framer loop()', color: '#6a1b9a' },
  { key: 'AsyncChat framer:attached', label: 'AsyncChat framer loopAsync()', color: '#ba68c8' },
  { key: 'Dispatcher:blocking', label: 'Dispatcher loop()', color: '#2e7d32' },
  { key: 'Dispatcher:attached', label: 'Dispatcher loopAsync()', color: '#9ccc65' },
  { key: 'net', label: 'net tuned (idle only)', color: '#9e9e9e' },
];

function chart(result) {
  const groups = [];
  const targetFor = (c, impl, baseline) => TARGETS.find((t) => t.workload === c.workload && (t.depth === null || t.depth === c.depth) &&
    (t.frameSize === undefined || t.frameSize === c.frameSize) && t.impl === impl && (baseline ? t.baseline === baseline : t.idle))?.min;
  for (const c of result.cases) {
    const entry = (key) => c.entries.find((e) => e.key === key);
    if (c.pairs) continue;  // timers, timeouts: in the targets table, not the chart
    if (c.idle) {
      const bars = c.ratios.filter((r) => r.kind === 'idle').map((r) => {
        const e = entry(r.of);
        return { key: e.kind === 'asynchat' ? `${e.family}:${e.mode}` : 'net', value: r.median, title: `${e.label}: ` };
      });
      groups.push({ label: `+${c.idle} idle\nbusy kept (d${c.depth})`, target: targetFor(c, 'chat-echo'), bars });
      continue;
    }
    for (const b of c.baselines) {
      const bars = c.ratios.filter((r) => r.kind === 'baseline' && r.to === b).map((r) => {
        const e = entry(r.of);
        return { key: `${e.family}:${e.mode}`, value: r.median, cpu: r.cpuMedian, title: `${e.label} vs ${entry(b).label}: ` };
      });
      if (bars.length === 0) continue;
      const impl = c.entries.find((e) => e.kind === 'asynchat' && e.family.startsWith('AsyncChat'))?.impl;
      groups.push({ label: `${c.workload}${c.frameSize ? ` ${c.frameSize} B` : ''} d${c.depth}\nvs ${entry(b).label}`, target: targetFor(c, impl, b), bars });
    }
  }
  const m = result.meta;
  return ratioChart({
    title: 'asynchat vs node — median ratio of throughput',
    subtitle: `${m.quick ? 'QUICK run, ' : ''}${m.rounds} round(s) × ${m.duration} s, ${m.conns} connections, Node ${m.node}, ${m.cpus} CPUs; load ${m.loadBefore.toFixed(1)} → ${m.loadAfter.toFixed(1)}`,
    groups,
    series: SERIES.filter((s) => groups.some((g) => g.bars.some((b) => b.key === s.key))),
  });
}

function git(args) {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function checkVerifier(o) {
  // The load generator must reject a wrong byte; otherwise nothing it reports means anything.
  const proc = await startServer(node('faulty-echo', 'faulty echo'));
  running.add(proc);
  try {
    await runLoadgen(proc, { proto: 'line', conns: 10, depth: 16, warmup: 0, duration: 2, lineSize: o.lineSize });
    throw Object.assign(new Error('the load generator accepted a corrupted reply (bench/servers/faulty-echo.mjs)'), { benchFatal: true });
  } catch (err) {
    if (err.benchFatal) throw err;
    if (err.status !== 2) throw Object.assign(new Error(`verifier self-check: expected a wrong-reply failure, got: ${err.message}`), { benchFatal: true });
  } finally {
    await stopServer(proc);
    running.delete(proc);
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const build = ensurePackage(log, { build: o.build });
  const udp = () => runUdp({ quick: o.quick, rounds: o.rounds, duration: o.duration, warmup: o.warmup, clients: o.conns, name: o.name }, log);
  if (o.workload?.every((w) => w === 'udp')) return udp();
  ensureLoadgen(log);
  const limits = fdLimits();
  const cases = makeCases(o);
  const notes = [];
  if (cases.some((c) => c.workload.id === 'resp') && !redisInstalled()) {
    notes.push('redis-server is not installed: the RESP workload has no reference row (Debian: apt-get install redis-server)');
  }
  const loadBefore = os.loadavg()[0];
  log(
    `asynchat benchmarks: Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), ` +
    `load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  );
  log(
    `${o.rounds} round(s)${o.roundsGiven || o.quick ? '' : ` (RESP: ${RESP_ROUNDS})`}, ${o.warmup} s warm-up + ${o.duration} s measured per run (servers primed ${o.prime} s first), ${o.conns} connections; ` +
    'TCP_NODELAY on every socket (servers and load generator); 127.0.0.1; every reply verified byte for byte',
  );
  if (loadBefore > 1.5) log(`note: the machine is busy (load ${loadBefore.toFixed(2)}): absolute numbers are noisy, ratios less so`);
  await checkVerifier(o);
  log('verifier self-check: a corrupted echo is rejected');

  const results = [];
  for (const c of cases) results.push(await runCase(c, o, limits, notes));
  const loadAfter = os.loadavg()[0];
  const result = {
    meta: {
      date: new Date().toISOString(), node: process.version, platform: `${os.type()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim(), loadBefore, loadAfter,
      quick: o.quick, rounds: o.rounds, prime: o.prime, warmup: o.warmup, duration: o.duration, conns: o.conns,
      lineSize: o.lineSize, tcpNodelay: true, host: '127.0.0.1',
      commit: git(['rev-parse', '--short', 'HEAD']),
      dirty: (git(['status', '--porcelain', '--', 'src', 'native']) ?? '') !== '',
      ...build,
      seconds: (Date.now() - started) / 1000, notes,
    },
    targets: [],
    cases: results,
  };
  result.targets = evaluateTargets(results);

  const outDir = path.join(benchDir, 'results');
  mkdirSync(outDir, { recursive: true });
  const base = path.join(outDir, o.name);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync(`${base}.svg`, chart(result));
  const md = renderMarkdown(result, { svg: `${o.name}.svg` });
  writeFileSync(`${base}.md`, md);
  log('');
  log(md);
  log(`written: ${path.relative(root, base)}.{json,md,svg} in ${result.meta.seconds.toFixed(1)} s`);
  if (!o.workload || o.workload.includes('udp')) await udp();

  if (o.profile) {
    const { profile } = await import('./profile.mjs');
    const { perfAvailable } = await import('./lib/perf.mjs');
    await profile({ quick: o.quick, perf: perfAvailable() });
  }
}

async function shutdown() {
  await Promise.all([...running].map((p) => stopServer(p).catch(() => {})));
}

process.on('SIGINT', () => {
  shutdown().finally(() => process.exit(130));
});

main().catch(async (err) => {
  process.stderr.write(`bench: ${err.benchFatal ? err.message : err.stack}\n`);
  await shutdown();
  process.exit(1);
});
