// UDP echo: asynchat's Dispatcher (loop() and loopAsync()) against node:dgram, 50 clients.
//
//   node bench/udp.mjs [--quick] [--rounds N] [--duration S] [--warmup S] [--clients N] [--depth N] [--size B]
//   npm run bench -- --workload udp          (bench/run.mjs runs it after the TCP workloads)
//
// Servers: bench/servers/udp-echo.mjs (asynchat) and dgram-echo.mjs (node:dgram); load:
// bench/loadgen/udpgen.c (C, epoll, one thread), which checks every reply byte for byte and
// counts what UDP dropped. As in run.mjs: all servers primed together, then rounds in which
// each server gets one run, the order rotating; medians over rounds, and medians of the
// per-round ratios, by throughput and by server CPU per datagram. Results: bench/results/udp-<name>.{json,md}.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDir, ensureBinary, ensurePackage, root, startServer, stopServer } from './lib/procs.mjs';
import { median } from './lib/stats.mjs';

const TARGET = 1.5;  // issue #15: at least 1.5x node:dgram

const SERVERS = [
  { id: 'udp-echo:blocking', file: 'udp-echo.mjs', mode: 'blocking', label: 'Dispatcher loop()' },
  { id: 'udp-echo:attached', file: 'udp-echo.mjs', mode: 'attached', label: 'Dispatcher loopAsync()' },
  { id: 'dgram-echo', file: 'dgram-echo.mjs', label: 'node:dgram' },
];

export function udpOptions(o = {}) {
  const quick = o.quick ?? false;
  return {
    quick,
    rounds: o.rounds ?? (quick ? 1 : 5),
    duration: o.duration ?? (quick ? 0.4 : 2),
    warmup: o.warmup ?? (quick ? 0.2 : 1),
    clients: o.clients ?? 50,
    depth: o.depth ?? 4,
    size: o.size ?? 64,
    name: o.name ?? (quick ? 'quick' : 'latest'),
  };
}

function udpgen(proc, o, { warmup, duration }) {
  const binary = ensureBinary('udpgen', path.join(benchDir, 'loadgen', 'udpgen.c'));
  const args = ['--port', proc.port, '--clients', o.clients, '--depth', o.depth, '--size', o.size,
    '--warmup', warmup, '--duration', duration, '--server-pid', proc.pid];
  const child = spawn(binary, args.map(String), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), (warmup + duration + 30) * 1000);
  return new Promise((resolve, reject) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out));
      else reject(Object.assign(new Error(err.trim() || `udpgen exited (${signal ?? code})`), { status: code }));
    });
  });
}

/** udpgen must reject a server that corrupts replies, or nothing it reports means anything. */
async function checkVerifier(o) {
  const proc = await startServer({ id: 'udp-faulty-echo', file: 'udp-faulty-echo.mjs', label: 'faulty' });
  try {
    await udpgen(proc, o, { warmup: 0, duration: 2 });
    throw Object.assign(new Error('udpgen accepted a corrupted reply (bench/servers/udp-faulty-echo.mjs)'), { benchFatal: true });
  } catch (err) {
    if (err.benchFatal) throw err;
    if (err.status !== 2) throw Object.assign(new Error(`udpgen self-check: expected a wrong-reply failure, got: ${err.message}`), { benchFatal: true });
  } finally {
    await stopServer(proc);
  }
}

const fmt = (r) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : `${(r / 1e3).toFixed(1)} k`);

/** Runs the UDP echo workload; returns its summary (and writes bench/results/udp-<name>.*). */
export async function runUdp(options = {}, log = (line) => process.stdout.write(`${line}\n`)) {
  const o = udpOptions(options);
  const tag = '[udp]';
  await checkVerifier(o);
  log(`${tag} verifier self-check: a corrupted echo is rejected`);
  log(`${tag} UDP echo: ${o.clients} clients × ${o.depth} datagrams of ${o.size} bytes in flight; starting ${SERVERS.length} servers`);
  const procs = new Map();
  const runs = Object.fromEntries(SERVERS.map((s) => [s.id, []]));
  const loadBefore = os.loadavg()[0];
  try {
    for (const s of SERVERS) procs.set(s.id, await startServer(s));
    await Promise.all(SERVERS.map((s) => udpgen(procs.get(s.id), o, { warmup: 0, duration: o.quick ? 0.3 : 1 })));
    for (let r = 0; r < o.rounds; r++) {
      for (let i = 0; i < SERVERS.length; i++) {
        const s = SERVERS[(i + r) % SERVERS.length];
        const res = await udpgen(procs.get(s.id), o, { warmup: o.warmup, duration: o.duration });
        res.serverUsPerReq = (res.serverCpu / res.requests) * 1e6;
        runs[s.id].push(res);
        log(`${tag} round ${r + 1}/${o.rounds}  ${s.label.padEnd(24)} ${fmt(res.rate).padStart(9)} datagrams/s` +
          `  p50 ${String(res.p50us).padStart(6)} µs  p99 ${String(res.p99us).padStart(6)} µs` +
          `  server ${res.serverUsPerReq.toFixed(2)} µs/datagram  lost ${res.lost}`);
      }
    }
  } finally {
    for (const p of procs.values()) await stopServer(p);
  }
  const base = runs['dgram-echo'];
  const entries = SERVERS.map((s) => {
    const rs = runs[s.id];
    return {
      id: s.id, label: s.label, rate: median(rs.map((x) => x.rate)), p50us: median(rs.map((x) => x.p50us)),
      p99us: median(rs.map((x) => x.p99us)), serverUsPerReq: median(rs.map((x) => x.serverUsPerReq)),
      lost: rs.reduce((a, x) => a + x.lost, 0), runs: rs,
      ratio: s.id === 'dgram-echo' ? null : median(rs.map((x, i) => x.rate / base[i].rate)),
      cpuRatio: s.id === 'dgram-echo' ? null : median(rs.map((x, i) => base[i].serverUsPerReq / x.serverUsPerReq)),
    };
  });
  const result = {
    meta: {
      date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadBefore, loadAfter: os.loadavg()[0],
      ...o,
    },
    target: TARGET,
    entries,
  };
  const md = renderUdp(result);
  mkdirSync(path.join(benchDir, 'results'), { recursive: true });
  const file = path.join(benchDir, 'results', `udp-${o.name}`);
  writeFileSync(`${file}.json`, `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync(`${file}.md`, md);
  log('');
  log(md);
  log(`written: ${path.relative(root, file)}.{json,md}`);
  return result;
}

function renderUdp(result) {
  const m = result.meta;
  const rows = result.entries.map((e) => `| ${e.label} | ${Math.round(e.rate).toLocaleString('en-US')} | ${e.p50us} µs | ${e.p99us} µs | ` +
    `${e.serverUsPerReq.toFixed(2)} | ${e.lost} | ${e.ratio === null ? '' : `**${e.ratio.toFixed(2)}×**`} | ${e.cpuRatio === null ? '' : `${e.cpuRatio.toFixed(2)}×`} | ` +
    `${e.ratio === null ? '' : e.ratio >= result.target ? `≥ ${result.target}×: met` : `≥ ${result.target}×: not met`} |`);
  return [
    '# UDP echo: asynchat Dispatcher vs node:dgram',
    '',
    '<!-- written by bench/udp.mjs; do not edit by hand -->',
    '',
    `${m.quick ? '**Quick run** (a smoke test, not a measurement). ' : ''}${m.date.slice(0, 16).replace('T', ' ')} UTC, Node ${m.node}, ` +
    `${m.cpus} CPUs, load average ${m.loadBefore.toFixed(2)} before, ${m.loadAfter.toFixed(2)} after. ${m.clients} clients (connected UDP ` +
    `sockets of bench/loadgen/udpgen.c), each with ${m.depth} datagrams of ${m.size} bytes in flight; every reply checked byte for byte. ` +
    `${m.rounds} interleaved round(s) of ${m.warmup} s warm-up + ${m.duration} s measured; medians, and medians of per-round ratios.`,
    '',
    '| server | datagrams/s | p50 | p99 | server µs/datagram | lost | vs dgram (throughput) | vs dgram (CPU/datagram) | target |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const o = { quick: argv.includes('--quick') };
  for (const [flag, key] of [['--rounds', 'rounds'], ['--duration', 'duration'], ['--warmup', 'warmup'], ['--clients', 'clients'], ['--depth', 'depth'], ['--size', 'size']]) {
    const i = argv.indexOf(flag);
    if (i >= 0) o[key] = Number(argv[i + 1]);
  }
  ensurePackage((line) => process.stdout.write(`${line}\n`));
  runUdp(o).catch((err) => {
    process.stderr.write(`bench: ${err.benchFatal ? err.message : err.stack}\n`);
    process.exit(1);
  });
}
