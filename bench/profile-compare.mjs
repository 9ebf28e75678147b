// What bounds a workload: every server of it under the same load, one after the other, each run
// recorded with `perf record -g`, and its CPU time per request split by where it went (the
// kernel, V8 and Node, JIT-compiled JavaScript, libc, the addon). Where asynchat misses a target
// against a baseline, the table says which share makes the difference.
//
//   node bench/profile-compare.mjs [--workload line|resp|length] [--depth 16] [--connections 50]
//                                  [--duration 3] [--rounds 3] [--frame-size 32]
// Writes bench/results/profile-compare-<workload>.{md,json} (length: -<frame size>). Linux with perf only.
//
// Each server is recorded `rounds` times, the servers in turn (round-robin, as bench/run.mjs
// interleaves), and each share is the median over its rounds.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { perfRun } from './profile.mjs';
import { perfAvailable } from './lib/perf.mjs';
import { benchDir, buildDir, ensureLoadgen, ensurePackage } from './lib/procs.mjs';

const WORKLOADS = {
  line: {
    proto: 'line',
    servers: [
      { id: 'chat-echo', mode: 'blocking', label: 'AsyncChat loop()' },
      { id: 'chat-echo', mode: 'attached', label: 'AsyncChat loopAsync()' },
      { id: 'dispatcher-echo', mode: 'blocking', label: 'Dispatcher loop()' },
      { id: 'net-echo-tuned', label: 'net tuned' },
      { id: 'c-echo', file: 'c-echo.c', label: 'C epoll (reference)' },
    ],
  },
  resp: {
    proto: 'resp',
    servers: [
      { id: 'chat-resp', mode: 'blocking', label: 'AsyncChat loop()' },
      { id: 'chat-resp', mode: 'attached', label: 'AsyncChat loopAsync()' },
      { id: 'chat-resp-framer', mode: 'blocking', label: 'AsyncChat framer loop()' },
      { id: 'chat-resp-framer', mode: 'attached', label: 'AsyncChat framer loopAsync()' },
      { id: 'net-resp-tuned', label: 'net tuned' },
      { id: 'redis-server', label: 'redis-server (reference)', needs: 'redis-server' },
    ],
  },
  length: {
    proto: 'lp',
    servers: [
      { id: 'chat-length-echo', mode: 'blocking', label: 'AsyncChat framer loop()' },
      { id: 'chat-length-echo', mode: 'attached', label: 'AsyncChat framer loopAsync()' },
      { id: 'net-length-echo-tuned', label: 'net tuned' },
    ],
  },
};

// Columns in this order first; any other category bench/lib/perf.mjs reports (OpenSSL, say)
// gets a column after them, so that the shares always add up to the total.
const FIRST_CATEGORIES = ['kernel', 'JavaScript (JIT)', 'node and V8 (builtins, runtime, GC)', 'addon', 'libc'];

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function installed(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  if (!perfAvailable()) throw new Error('perf is needed (Debian: apt-get install linux-perf)');
  const workload = arg('workload', 'resp');
  const spec = WORKLOADS[workload];
  if (!spec) throw new Error(`--workload: one of ${Object.keys(WORKLOADS).join(', ')}`);
  const depth = Number(arg('depth', 16));
  const conns = Number(arg('connections', 50));
  const duration = Number(arg('duration', 3));
  const rounds = Number(arg('rounds', 3));
  const frameSize = workload === 'length' ? Number(arg('frame-size', 32)) : undefined;
  ensurePackage(console.log);
  ensureLoadgen(console.log);
  const servers = spec.servers.filter((s) => !s.needs || installed(s.needs));
  const runs = new Map(servers.map((s) => [s.label, []]));
  for (let r = 0; r < rounds; r++) {
    for (const s of servers) {
      const dir = path.join(buildDir, 'profiles', `compare-${s.id}-${s.mode ?? 'node'}-${Date.now()}`);
      mkdirSync(dir, { recursive: true });
      const p = await perfRun({
        server: s.id, file: s.file, mode: s.mode, proto: spec.proto, depth, conns, duration, dir, frameSize, log: () => {},
      });
      const usPerRequest = (p.run.serverCpu / p.run.requests) * 1e6;
      const share = Object.fromEntries(p.categories.map((c) => [c.name, c.share]));
      runs.get(s.label).push({ rate: p.run.rate, usPerRequest, share, byJs: p.byJs.slice(0, 8) });
      console.log(`round ${r + 1}/${rounds} ${s.label}: ${Math.round(p.run.rate)}/s, ${usPerRequest.toFixed(2)} µs/request`);
    }
  }
  const seen = new Set([...runs.values()].flat().flatMap((x) => Object.keys(x.share)));
  const categories = [...FIRST_CATEGORIES, ...[...seen].filter((c) => !FIRST_CATEGORIES.includes(c))];
  const rows = servers.map((s) => {
    const rs = runs.get(s.label);
    const us = median(rs.map((x) => x.usPerRequest));
    const by = Object.fromEntries(categories.map((c) => [c, median(rs.map((x) => (x.share[c] ?? 0) * x.usPerRequest))]));
    return { label: s.label, rate: median(rs.map((x) => x.rate)), us, by, byJs: rs[rs.length - 1].byJs };
  });
  const f = (x) => x.toFixed(2);
  const lines = [
    `# What bounds ${workload}${frameSize ? ` (${frameSize}-byte messages)` : ''} (depth ${depth}): CPU per request by where it went`,
    '',
    `${conns} connections × ${depth} in flight, ${duration} s per run under \`perf record -e cpu-clock -F 2000 -g\`, ` +
      `${rounds} rounds with the servers in turn; medians over the rounds (${new Date().toISOString()}). ` +
      'Server CPU is the server process\'s utime+stime over the measured window; each share is perf\'s sample share ' +
      'of it. Under perf every server runs somewhat slower than in `npm run bench`.',
    '',
    `| server | per second | µs/request | ${categories.join(' | ')} |`,
    `| --- | ---: | ---: | ${categories.map(() => '---:').join(' | ')} |`,
    ...rows.map((r) => `| ${r.label} | ${Math.round(r.rate).toLocaleString('en-US')} | ${f(r.us)} | ${categories.map((c) => f(r.by[c])).join(' | ')} |`),
    '',
    'Where the JavaScript servers spend it, by innermost JavaScript function (last round; kernel, builtins and the addon included):',
    '',
  ];
  for (const r of rows.filter((x) => x.byJs.some((j) => !j.name.startsWith('(no JavaScript')))) {
    lines.push(`- ${r.label}: ${r.byJs.map((j) => `\`${j.name}\` ${(j.share * 100).toFixed(1)}%`).join(', ')}`);
  }
  const out = path.join(benchDir, 'results', `profile-compare-${workload}${frameSize ? `-${frameSize}` : ''}`);
  writeFileSync(`${out}.md`, `${lines.join('\n')}\n`);
  writeFileSync(`${out}.json`, `${JSON.stringify({ workload, depth, conns, duration, rounds, rows }, null, 1)}\n`);
  console.log(lines.join('\n'));
  console.log(`written: ${path.relative(path.dirname(benchDir), out)}.{md,json}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`profile-compare: ${err.stack}\n`);
    process.exit(1);
  });
}
