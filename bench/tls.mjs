#!/usr/bin/env node
// TLS workloads (issue 12), measured as bench/run.mjs measures cleartext:
// - TLS line echo, depth 16: AsyncChat (servers/chat-echo.mjs over TLS) against node:tls tuned
//   (servers/tls-echo-tuned.mjs, one write per read), and against the same AsyncChat in cleartext
//   through the same load generator in cleartext.
// - HTTPS keep-alive GET, one request at a time: AsyncChat (servers/chat-http.mjs over TLS)
//   against node:https (servers/node-https.mjs) and a tuned node:tls HTTP server
//   (servers/tls-http-tuned.mjs, as a Node engineer writes one for speed).
// Every asynchat server runs both ways, loop() and loopAsync(). The load generator is the C one
// built with OpenSSL (build-bench/loadgen-tls: TLS 1.3, handshakes before the measured window,
// every reply checked byte for byte). All servers of a workload are primed together; then in each
// round every server gets one run, the order rotating; medians over rounds, medians of per-round
// ratios, by throughput and by server CPU per request.
//
//   node bench/tls.mjs [--quick] [--rounds 7] [--duration 2] [--warmup 1] [--connections 50]
//                      [--depth 16] [--line-size 32] [--name latest] [--no-build]
//                      [--compare-addon FILE] [--compare-tree DIR]
//
// --compare-addon FILE adds every asynchat TLS server once more, loading that build of the addon
// (ASYNCHAT_ADDON), and reports this build against it: a native change measured before/after in
// the same rounds. --compare-tree DIR does the same with another checkout's servers, dist/ and
// addon (npm install there first): a change of both measured before/after.
//
// Results: bench/results/tls-<name>.{json,md} (name: latest, or quick with --quick). Without
// OpenSSL's headers (Debian: libssl-dev) it falls back to a Node client (lib/node-tls-client.mjs)
// and says so: that client saturates its core, so the ratios then measure it as much as the servers.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchDir, ensureLoadgen, ensurePackage, root, runLoadgen, startServer, stopServer } from './lib/procs.mjs';
import { median } from './lib/stats.mjs';
import { makeCertificate } from './lib/tls-cert.mjs';
import { renderTlsMarkdown } from './lib/tls-report.mjs';

function parseArgs(argv) {
  const arg = (name, fallback) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
  };
  const quick = argv.includes('--quick');
  return {
    quick, build: !argv.includes('--no-build'),
    rounds: Number(arg('rounds', quick ? 1 : 7)),
    duration: Number(arg('duration', quick ? 0.4 : 2)),
    warmup: Number(arg('warmup', quick ? 0.2 : 1)),
    prime: quick ? 0.3 : 1,
    conns: Number(arg('connections', 50)),
    depth: Number(arg('depth', 16)),
    lineSize: Number(arg('line-size', 32)),
    name: arg('name', quick ? 'quick' : 'latest'),
    compareAddon: arg('compare-addon', null),
    compareTree: arg('compare-tree', null),
  };
}

const MODES = ['blocking', 'attached'];
const modeLabel = (mode) => (mode === 'blocking' ? 'loop()' : 'loopAsync()');

/** An asynchat server file, both ways, over TLS (certArgs) or in cleartext. */
const asynchat = (impl, family, certArgs) => MODES.map((mode) => ({
  id: `${impl}${certArgs ? ':tls' : ''}:${mode}`, impl, file: `${impl}.mjs`, mode, kind: 'asynchat', family,
  tls: certArgs !== null, args: certArgs ?? [], label: `${family}${certArgs ? ' TLS' : ' cleartext'} ${modeLabel(mode)}`,
}));
const node = (impl, label, certArgs) => ({ id: impl, impl, file: `${impl}.mjs`, kind: 'node', tls: true, args: certArgs, label });

/** With --compare-addon: each asynchat TLS server again on that addon, and this one against it. */
function withAddonBefore(w, file) {
  if (file === null) return w;
  const tlsServers = w.servers.filter((s) => s.kind === 'asynchat' && s.tls);
  const before = tlsServers.map((s) => ({
    ...s, id: `${s.id}:before`, env: { ASYNCHAT_ADDON: path.resolve(file) }, label: `${s.label}, addon before`,
  }));
  const ratios = tlsServers.map((s) => ({
    of: s.id, to: `${s.id}:before`, min: null, text: `${s.family} TLS, this addon vs ${path.basename(file)}`,
  }));
  return { ...w, servers: [...w.servers, ...before], ratios: [...w.ratios, ...ratios] };
}

/**
 * With --compare-tree DIR: each asynchat TLS server again as the checkout DIR built it (its
 * bench/servers file, dist/ and addon), and this tree's against it: a change of the TypeScript
 * and the addon together, measured before/after in the same rounds.
 */
function withTreeBefore(w, dir) {
  if (dir === null) return w;
  const tlsServers = w.servers.filter((s) => s.kind === 'asynchat' && s.tls);
  const before = tlsServers.map((s) => ({
    ...s, id: `${s.id}:before`, file: path.join(path.resolve(dir), 'bench', 'servers', s.file), label: `${s.label}, before`,
  }));
  const ratios = tlsServers.map((s) => ({
    of: s.id, to: `${s.id}:before`, min: null, text: `${s.family} TLS, this tree vs ${path.basename(path.resolve(dir))}`,
  }));
  return { ...w, servers: [...w.servers, ...before], ratios: [...w.ratios, ...ratios] };
}

// `min`: the target; null: reported, no target.
function workloads(o, certArgs) {
  return [
    {
      id: 'line', title: 'TLS line echo', unit: 'lines/s', proto: 'line', depth: o.depth,
      description: `${o.conns} connections × ${o.depth} lines of ${o.lineSize} bytes in flight`,
      servers: [
        ...asynchat('chat-echo', 'AsyncChat', certArgs), node('tls-echo-tuned', 'node:tls tuned', certArgs),
        ...asynchat('chat-echo', 'AsyncChat', null),
      ],
      ratios: MODES.flatMap((mode) => [
        { of: `chat-echo:tls:${mode}`, to: 'tls-echo-tuned', min: 1.5, text: 'AsyncChat TLS line echo vs node:tls tuned' },
        { of: `chat-echo:tls:${mode}`, to: `chat-echo:${mode}`, min: 0.5, text: 'AsyncChat TLS line echo vs the same in cleartext' },
      ]),
    },
    {
      id: 'https', title: 'HTTPS keep-alive GET', unit: 'requests/s', proto: 'http', depth: 1,
      description: `${o.conns} keep-alive connections, one request at a time`,
      servers: [
        ...asynchat('chat-http', 'AsyncChat', certArgs), node('node-https', 'node:https', certArgs),
        node('tls-http-tuned', 'node:tls tuned HTTP', certArgs),
      ],
      ratios: MODES.flatMap((mode) => [
        { of: `chat-http:tls:${mode}`, to: 'node-https', min: 2, text: 'AsyncChat HTTPS keep-alive vs node:https' },
        { of: `chat-http:tls:${mode}`, to: 'tls-http-tuned', min: null, text: 'AsyncChat HTTPS keep-alive vs node:tls tuned HTTP' },
      ]),
    },
  ];
}

/** Which client: the C loadgen with OpenSSL, or (no headers) the Node fallback. */
function chooseClient(log) {
  try {
    ensureLoadgen(log, { tls: true });
    return { kind: 'c', note: null };
  } catch (err) {
    if (!err.noOpenSsl) throw err;
    return {
      kind: 'node',
      note: 'OpenSSL\'s headers are missing (Debian: apt-get install libssl-dev), so the C load generator has no TLS: ' +
        'this run used the Node client (bench/lib/node-tls-client.mjs), which does not check replies byte for byte ' +
        'and saturates its core: the ratios measure it as much as the servers',
    };
  }
}

function nodeClient(proc, o) {
  const args = JSON.stringify({ ...o, port: proc.port, serverPid: proc.pid });
  const child = spawn(process.execPath, [path.join(benchDir, 'lib', 'node-tls-client.mjs'), args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  return new Promise((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`node client exited ${code}`)))));
}

const log = (line) => process.stdout.write(`${line}\n`);

/** The TLS load generator must reject a wrong byte, or nothing it reports means anything. */
async function checkVerifier(o, certArgs) {
  const proc = await startServer({ id: 'faulty-echo', file: 'faulty-echo.mjs', kind: 'node', args: certArgs });
  try {
    await runLoadgen(proc, { proto: 'line', conns: 10, depth: 16, warmup: 0, duration: 2, lineSize: o.lineSize, tls: true });
  } catch (err) {
    if (err.status === 2) return;
    throw Object.assign(new Error(`verifier self-check over TLS: expected a wrong-reply failure, got: ${err.message}`), { benchFatal: true });
  } finally {
    await stopServer(proc);
  }
  throw Object.assign(new Error('the TLS load generator accepted a corrupted reply (bench/servers/faulty-echo.mjs over TLS)'), { benchFatal: true });
}
const fmtRate = (r) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : `${(r / 1e3).toFixed(1)} k`);

async function runWorkload(w, o, client) {
  const settled = await Promise.allSettled(w.servers.map((s) => startServer(s)));
  const procs = settled.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  try {
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const measure = (p, warmup, duration, stats = true) => {
      const opts = { proto: w.proto, conns: o.conns, depth: w.depth, warmup, duration, lineSize: o.lineSize, tls: p.tls, stats };
      return client.kind === 'c' ? runLoadgen(p, { ...opts, tlsBinary: true }) : nodeClient(p, opts);
    };
    log(`[${w.id}] ${w.title}: ${w.description}; ${procs.length} servers, priming together for ${o.prime} s`);
    await Promise.all(procs.map((p) => measure(p, 0, o.prime, false)));
    const runs = new Map(procs.map((p) => [p.id, []]));
    for (let r = 0; r < o.rounds; r++) {
      for (let i = 0; i < procs.length; i++) {
        const p = procs[(i + r) % procs.length];
        const res = await measure(p, o.warmup, o.duration);
        res.serverUsPerReq = (res.serverCpu / res.requests) * 1e6;
        res.serverShare = res.serverCpu / res.seconds;
        res.loadgenShare = res.loadgenCpu / res.seconds;
        runs.get(p.id).push(res);
        log(`[${w.id}] round ${r + 1}/${o.rounds}  ${p.label.padEnd(30)} ${fmtRate(res.rate).padStart(9)} ${w.unit}` +
          `  server ${(res.serverShare * 100).toFixed(0).padStart(3)}% (${res.serverUsPerReq.toFixed(2)} µs/req)  loadgen ${(res.loadgenShare * 100).toFixed(0)}%`);
      }
    }
    return summarize(w, procs, runs);
  } finally {
    await Promise.all(procs.map((p) => stopServer(p)));
  }
}

const STAT_KEYS = ['crossings', 'reads', 'writes', 'wakeups', 'interestSyscalls'];

function summarize(w, procs, runs) {
  const entries = procs.map((p) => {
    const rs = runs.get(p.id);
    const e = {
      key: p.id, label: p.label, kind: p.kind, mode: p.mode ?? null, tls: p.tls,
      rate: median(rs.map((r) => r.rate)), p50us: median(rs.map((r) => r.p50us)), p99us: median(rs.map((r) => r.p99us)),
      serverShare: median(rs.map((r) => r.serverShare)), serverUsPerReq: median(rs.map((r) => r.serverUsPerReq)),
      loadgenShare: median(rs.map((r) => r.loadgenShare)), loadgenShareMax: Math.max(...rs.map((r) => r.loadgenShare)),
      session: rs.find((r) => r.tls)?.tls.session ?? null, runs: rs,
    };
    if (rs.every((r) => r.stats)) e.statsPer1000 = Object.fromEntries(STAT_KEYS.map((k) => [k, median(rs.map((r) => (r.stats[k] / r.requests) * 1000))]));
    return e;
  });
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const ratios = w.ratios.map((t) => {
    const a = byKey.get(t.of);
    const b = byKey.get(t.to);
    const rounds = a.runs.map((r, i) => r.rate / b.runs[i].rate);
    // by server CPU per request: baseline ÷ asynchat (> 1: asynchat spends less per request)
    const cpuRounds = a.runs.map((r, i) => b.runs[i].serverUsPerReq / r.serverUsPerReq);
    const got = median(rounds);
    return { ...t, mode: a.mode, rounds, median: got, cpuRounds, cpuMedian: median(cpuRounds), pass: t.min === null ? null : got >= t.min };
  });
  return { id: w.id, title: w.title, unit: w.unit, proto: w.proto, depth: w.depth, description: w.description, entries, ratios };
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const build = ensurePackage(log, { build: o.build });
  const client = chooseClient(log);
  if (client.note) log(`note: ${client.note}`);
  const cert = makeCertificate();
  try {
    const certArgs = cert.args;
    const loadBefore = os.loadavg()[0];
    log(`TLS benchmarks: Node ${process.version} (OpenSSL ${process.versions.openssl}), ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ` +
      `${o.rounds} round(s) of ${o.warmup} s warm-up + ${o.duration} s measured; client: ${client.kind === 'c' ? 'C loadgen (OpenSSL)' : 'Node'}`);
    if (client.kind === 'c') {
      await checkVerifier(o, certArgs);
      log('verifier self-check: a corrupted echo over TLS is rejected');
    }
    const cases = [];
    for (const w of workloads(o, certArgs)) cases.push(await runWorkload(withTreeBefore(withAddonBefore(w, o.compareAddon), o.compareTree), o, client));
    const result = {
      meta: {
        date: new Date().toISOString(), node: process.version, openssl: process.versions.openssl,
        platform: `${os.type()} ${os.release()} ${os.arch()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim(),
        loadBefore, loadAfter: os.loadavg()[0], quick: o.quick, rounds: o.rounds, prime: o.prime, warmup: o.warmup,
        duration: o.duration, conns: o.conns, lineSize: o.lineSize, client: client.kind, notes: client.note ? [client.note] : [],
        compareAddon: o.compareAddon,
        compareTree: o.compareTree,
        commit: git(['rev-parse', '--short', 'HEAD']), dirty: (git(['status', '--porcelain', '--', 'src', 'native']) ?? '') !== '',
        ...build, seconds: (Date.now() - started) / 1000,
      },
      cases,
    };
    const base = path.join(benchDir, 'results', `tls-${o.name}`);
    mkdirSync(path.dirname(base), { recursive: true });
    const md = renderTlsMarkdown(result);
    writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 1)}\n`);
    writeFileSync(`${base}.md`, md);
    log(`\n${md}`);
    log(`written: ${path.relative(root, base)}.{json,md} in ${result.meta.seconds.toFixed(1)} s`);
  } finally {
    cert.remove();
  }
}

main().catch((err) => {
  process.stderr.write(`bench/tls: ${err.benchFatal ? err.message : err.stack}\n`);
  process.exit(1);
});
