// Where does an asynchat server spend its time? Runs one server under `node --cpu-prof` for one
// load-generator run, stops it cleanly (`quit` on its control channel, so the profile is
// written) and sums the .cpuprofile: self time per function, time including callees, and a
// split into JavaScript, Node internals, native code (the addon's calls and V8 builtins), GC
// and idle.
//
// The CPU profiler samples the thread whether it runs or waits: time inside a native call (recv,
// writev, and in loop() mode the wait for events) is charged to the JavaScript function that made
// the call. With --perf (Linux perf installed), a second run is recorded with `perf record` on the
// server process: CPU time only, kernel included, charged to the innermost JavaScript function.
//
// --tls serves the same server over TLS (a throwaway certificate; the load generator's TLS build,
// handshakes before the window) and says how much of the CPU OpenSSL took.
//
//   node bench/profile.mjs [--server chat-echo] [--mode blocking|attached] [--depth 16]
//                          [--connections 50] [--duration 3] [--quick] [--perf] [--tls]
// Writes bench/results/profile-[tls-]<server>-<mode>.{md,json} and keeps the .cpuprofile in
// build-bench/profiles/ (open it in Chrome DevTools for the flame chart).
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize } from './lib/cpuprofile.mjs';
import { perfAvailable, summarizePerf } from './lib/perf.mjs';
import { benchDir, buildDir, ensureLoadgen, ensurePackage, root, runLoadgen, startServer, stopServer } from './lib/procs.mjs';
import { makeCertificate } from './lib/tls-cert.mjs';

function arg(argv, name, fallback) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}

const PROTO = { 'chat-echo': 'line', 'dispatcher-echo': 'line', 'chat-resp': 'resp', 'chat-http': 'http' };

export async function profile({
  server = 'chat-echo', mode = 'blocking', depth = 16, conns = 50, duration = 3, quick = false, perf: withPerf = false,
  tls = false, log = console.log,
} = {}) {
  if (withPerf && !perfAvailable()) throw new Error('--perf needs Linux perf (Debian: apt-get install linux-perf)');
  ensurePackage(log);
  ensureLoadgen(log, { tls });
  const proto = PROTO[server] ?? 'line';
  const name = `${tls ? 'tls-' : ''}${server}-${mode}`;
  const dir = path.join(buildDir, 'profiles', `${name}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const cert = tls ? makeCertificate() : null;
  const spec = { id: server, file: `${server}.mjs`, mode, kind: 'asynchat', args: cert?.args ?? [] };
  let res;
  let perf = null;
  try {
    const proc = await startServer(spec, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'] });
    try {
      res = await runLoadgen(proc, { proto, conns, depth, warmup: quick ? 0.3 : 1, duration: quick ? 1 : duration, tls });
    } finally {
      await stopServer(proc, { graceful: true });
    }
    if (withPerf) perf = await perfRun({ server, mode, args: spec.args, tls, proto, depth, conns, duration: quick ? 1 : duration, dir, log });
  } finally {
    cert?.remove();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  const s = summarize(path.join(dir, file), { root: `${root}/` });
  const lines = [];
  lines.push(`# Profile: ${server}${tls ? ' over TLS' : ''}, ${mode === 'blocking' ? 'loop()' : 'loopAsync()'}, ${proto} depth ${depth}`);
  lines.push('');
  lines.push(
    `${conns} connections × ${depth} in flight; measured run: ${Math.round(res.rate).toLocaleString('en-US')} per second, ` +
    `server CPU ${(res.serverCpu / res.seconds * 100).toFixed(0)}%, loadgen CPU ${(res.loadgenCpu / res.seconds * 100).toFixed(0)}%. ` +
    `The profile covers the whole process life (start, warm-up, run): ${s.totalMs.toFixed(0)} ms of samples. ` +
    `Profile: ${path.relative(root, path.join(dir, file))}.`,
  );
  lines.push('');
  lines.push('| where | ms | share |');
  lines.push('| --- | ---: | ---: |');
  for (const [k, v] of Object.entries(s.categories)) lines.push(`| ${k} | ${v.ms.toFixed(0)} | ${(v.share * 100).toFixed(1)}% |`);
  lines.push('');
  lines.push('Self time (native = the addon\'s functions and V8/Node builtins called from JavaScript):');
  lines.push('');
  lines.push('| function | ms | share |');
  lines.push('| --- | ---: | ---: |');
  for (const f of s.self) lines.push(`| \`${f.name}\` | ${f.ms.toFixed(0)} | ${(f.share * 100).toFixed(1)}% |`);
  lines.push('');
  lines.push('Total time, callees included:');
  lines.push('');
  lines.push('| function | ms | share |');
  lines.push('| --- | ---: | ---: |');
  for (const f of s.inclusive) lines.push(`| \`${f.name}\` | ${f.ms.toFixed(0)} | ${(f.share * 100).toFixed(1)}% |`);
  if (perf !== null) {
    lines.push('');
    lines.push(`## perf: CPU time, kernel included (${perf.samples} samples over ${perf.seconds} s)`);
    lines.push('');
    lines.push(
      `Measured run under perf: ${Math.round(perf.run.rate).toLocaleString('en-US')} per second, ` +
      `${(perf.run.serverCpu / perf.run.requests * 1e6).toFixed(2)} µs of server CPU per request.`,
    );
    lines.push('');
    lines.push('| where the CPU was | share |');
    lines.push('| --- | ---: |');
    for (const c of perf.categories) lines.push(`| ${c.name} | ${(c.share * 100).toFixed(1)}% |`);
    lines.push('');
    lines.push('Samples with it anywhere on the stack (callees included; the kernel row: in a syscall or interrupt):');
    lines.push('');
    lines.push('| on the stack | share |');
    lines.push('| --- | ---: |');
    for (const c of perf.onStack) lines.push(`| ${c.name} | ${(c.share * 100).toFixed(1)}% |`);
    lines.push('');
    lines.push('By innermost JavaScript function (what it runs in builtins, the runtime, the addon and the kernel included):');
    lines.push('');
    lines.push('| function | share |');
    lines.push('| --- | ---: |');
    for (const f of perf.byJs) lines.push(`| \`${f.name}\` | ${(f.share * 100).toFixed(1)}% |`);
    lines.push('');
    lines.push('Hottest leaf functions:');
    lines.push('');
    lines.push('| function | share |');
    lines.push('| --- | ---: |');
    for (const f of perf.leaves) lines.push(`| \`${f.name}\` | ${(f.share * 100).toFixed(1)}% |`);
  }
  const md = `${lines.join('\n')}\n`;
  const out = path.join(benchDir, 'results', `profile-${name}`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(`${out}.md`, md);
  writeFileSync(`${out}.json`, `${JSON.stringify({ server, mode, proto, depth, conns, tls, run: res, ...s, perf }, null, 1)}\n`);
  log(md);
  log(`written: ${path.relative(root, out)}.{md,json}`);
  // Keep the last few profiles only.
  const all = readdirSync(path.join(buildDir, 'profiles')).sort();
  for (const old of all.slice(0, Math.max(0, all.length - 6))) rmSync(path.join(buildDir, 'profiles', old), { recursive: true, force: true });
  return s;
}

/**
 * One run of the server under `perf record -g`, after a priming run; the summary. `file`: a
 * server of bench/servers other than `${server}.mjs` (a C one, or a Node one without `mode`);
 * `args`: more of its arguments (--tls-cert/--tls-key, with `tls`: the load generator speaks TLS).
 */
export async function perfRun({ server, file = `${server}.mjs`, mode, args = [], tls = false, proto, depth, conns, duration, dir, log, frameSize }) {
  const proc = await startServer({ id: server, file, mode, kind: 'asynchat', args }, { nodeArgs: ['--perf-basic-prof'] });
  const data = path.join(dir, 'perf.data');
  let run;
  try {
    await runLoadgen(proc, { proto, conns, depth, warmup: 0, duration: 1.5, stats: false, tls, frameSize });
    const rec = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '2000', '-g', '-o', data, '-p', String(proc.pid)], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    run = await runLoadgen(proc, { proto, conns, depth, warmup: 0.2, duration, tls, frameSize });
    rec.kill('SIGINT');
    await new Promise((resolve) => rec.on('exit', resolve));
  } finally {
    await stopServer(proc);
  }
  log(`perf: recorded ${path.relative(root, data)}`);
  try {
    // JIT-compiled functions are named by the map the server wrote (--perf-basic-prof).
    return { ...summarizePerf(data, { root: `${root}/` }), run, seconds: duration };
  } finally {
    rmSync(`/tmp/perf-${proc.pid}.map`, { force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  profile({
    server: arg(argv, 'server', 'chat-echo'),
    mode: arg(argv, 'mode', 'blocking'),
    depth: Number(arg(argv, 'depth', 16)),
    conns: Number(arg(argv, 'connections', 50)),
    duration: Number(arg(argv, 'duration', 3)),
    quick: argv.includes('--quick'),
    perf: argv.includes('--perf'),
    tls: argv.includes('--tls'),
  }).catch((err) => {
    process.stderr.write(`profile: ${err.stack}\n`);
    process.exit(1);
  });
}
