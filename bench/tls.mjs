#!/usr/bin/env node
// TLS workloads. Line echo, depth 16: asynchat's AsyncChat over TLS against node:tls tuned (one
// write per read), and against the same AsyncChat in cleartext. HTTPS keep-alive GET (one request
// at a time per connection): an AsyncChat HTTP session over TLS against node:https. Rounds
// interleave the servers, the order rotating; the table gives medians and ratios of this run.
//
//   node bench/tls.mjs [--rounds 5] [--duration 2] [--conns 50] [--depth 16] [--quick]
//
// The load generator is Node (tls.connect / net.connect, in a child process of its own): the C
// loadgen (bench/loadgen) speaks cleartext only. A Node client costs more per line than the C
// one, so the ratios are compressed toward 1 when the client saturates its core; its CPU share
// is printed so that a saturated client shows.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const LINE = Buffer.from(`${'x'.repeat(62)}\r\n`);
const BODY = 'Hello, World!';
const GET = Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');

async function server(kind, dir) {
  const cert = readFileSync(path.join(dir, 'c.pem'));
  const key = readFileSync(path.join(dir, 'k.pem'));
  if (kind === 'node-tls') {
    const tls = await import('node:tls');
    const s = tls.createServer({ cert, key }, (sock) => {
      sock.setNoDelay(true);
      let pending = null;
      sock.on('data', (chunk) => {
        const data = pending === null ? chunk : Buffer.concat([pending, chunk]);
        const end = data.lastIndexOf(10) + 1;
        if (end > 0) sock.write(end === data.length ? data : data.subarray(0, end));
        pending = end === data.length ? null : data.subarray(end);
      });
      sock.on('error', () => sock.destroy());
    });
    s.listen(0, '127.0.0.1', () => console.log(`READY ${s.address().port}`));
    return;
  }
  if (kind === 'node-https') {
    const https = await import('node:https');
    const s = https.createServer({ cert, key, noDelay: true }, (req, res) => {
      res.sendDate = false;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(BODY.length), Connection: 'keep-alive' });
      res.end(BODY);
    });
    s.listen(0, '127.0.0.1', () => console.log(`READY ${s.address().port}`));
    return;
  }
  const { AsyncChat, Dispatcher, AF_INET, IPPROTO_TCP, TCP_NODELAY, createTlsContext, loopAsync } = await import('asynchat');
  const ctx = kind === 'asynchat-plain' ? null : createTlsContext({ cert, key });
  const CRLF = Buffer.from('\r\n');
  class Echo extends AsyncChat {
    constructor(sock) {
      super(sock);
      this.setTerminator('\r\n');
      if (ctx !== null) this.startTls(ctx, { serverSide: true });
    }
    collectIncomingData(data) { this.keepIncomingData(data); }
    foundTerminator() { this.push(this.getData()); this.push(CRLF); }
  }
  const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n' +
    `Content-Length: ${BODY.length}\r\nConnection: keep-alive\r\n\r\n${BODY}`);
  class Https extends AsyncChat {
    constructor(sock) {
      super(sock);
      this.setTerminator('\r\n\r\n');
      this.startTls(ctx, { serverSide: true });
    }
    collectIncomingData(data) { this.keepIncomingData(data); }
    foundTerminator() {
      const head = this.getData().toString('latin1');
      this.push(RESPONSE);
      if (/\r\nconnection:\s*close/i.test(head)) this.closeWhenDone();
    }
  }
  const Handler = kind === 'asynchat-https' ? Https : Echo;
  class Listener extends Dispatcher {
    constructor() {
      super();
      this.createSocket(AF_INET);
      this.setReuseAddr();
      this.bind(['127.0.0.1', 0]);
      this.listen(1024);
    }
    handleAccepted(sock) {
      sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
      new Handler(sock);
    }
  }
  const l = new Listener();
  console.log(`READY ${l.socket.getsockname()[1]}`);
  await loopAsync();
}

async function loadgen(port, proto, conns, depth, seconds) {
  const useTls = proto !== 'plain';
  const http = proto === 'http';
  const net = await import('node:net');
  const tls = await import('node:tls');
  let lines = 0;
  let measuring = false;
  const sockets = [];
  await Promise.all(Array.from({ length: conns }, () => new Promise((resolve, reject) => {
    const s = useTls
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve())
      : net.connect(port, '127.0.0.1', () => resolve());
    s.setNoDelay(true);
    s.on('error', reject);
    let partial = 0;
    let text = '';
    s.on('data', (d) => {
      let n;
      if (http) {
        // One request at a time: a response is complete when its body (which ends it) is in.
        text += d.toString('latin1');
        n = text.endsWith(BODY) ? 1 : 0;
        if (n > 0) text = '';
      } else {
        n = Math.floor((partial + d.length) / LINE.length);
        partial = (partial + d.length) % LINE.length;
      }
      if (measuring) lines += n;
      if (n > 0) s.write(http ? Buffer.concat(Array(n).fill(GET)) : Buffer.concat(Array(n).fill(LINE)));
    });
    sockets.push(s);
  })));
  for (const s of sockets) s.write(Buffer.concat(Array(depth).fill(http ? GET : LINE)));
  await new Promise((r) => setTimeout(r, 300));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  measuring = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  for (const s of sockets) s.destroy();
  console.log(JSON.stringify({ rate: lines / secs, clientCpu: (cpu.user + cpu.system) / 1e6 / secs }));
}

function start(kind, dir) {
  const child = spawn(process.execPath, [self, '--server', kind, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => {
    child.stdout.once('data', (d) => resolve({ child, port: Number(/READY (\d+)/.exec(String(d))[1]) }));
  });
}

function run(port, proto, depth, o) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [self, '--loadgen', String(port), proto, String(o.conns), String(depth), String(o.duration)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('close', () => resolve(JSON.parse(out)));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const quick = process.argv.includes('--quick');
  const o = {
    rounds: Number(arg('rounds', quick ? 1 : 5)), duration: Number(arg('duration', quick ? 0.5 : 2)),
    conns: Number(arg('conns', 50)), depth: Number(arg('depth', 16)),
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'asynchat-bench-tls-'));
  const servers = [];
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1', '-subj', '/CN=localhost'], { cwd: dir, stdio: 'ignore' });
    const cases = [
      { title: `TLS line echo, ${o.conns} connections x depth ${o.depth}`, unit: 'lines/s', depth: o.depth,
        kinds: [['asynchat-tls', 'tls'], ['node-tls', 'tls'], ['asynchat-plain', 'plain']],
        ratios: [['asynchat-tls', 'node-tls', 1.5], ['asynchat-tls', 'asynchat-plain', 0.5]] },
      { title: `HTTPS keep-alive GET, ${o.conns} connections, one request at a time`, unit: 'requests/s', depth: 1,
        kinds: [['asynchat-https', 'http'], ['node-https', 'http']], ratios: [['asynchat-https', 'node-https', 2]] },
    ];
    const summary = [];
    for (const c of cases) {
      const these = [];
      for (const [kind, proto] of c.kinds) {
        const s = { kind, proto, ...(await start(kind, dir)), runs: [] };
        servers.push(s);
        these.push(s);
      }
      for (let r = 0; r < o.rounds; r++) {
        for (let i = 0; i < these.length; i++) {
          const s = these[(i + r) % these.length];
          const res = await run(s.port, s.proto, c.depth, o);
          s.runs.push(res);
          console.log(`round ${r + 1}/${o.rounds}  ${s.kind.padEnd(16)} ${Math.round(res.rate).toString().padStart(9)} ${c.unit}  client cpu ${(res.clientCpu * 100).toFixed(0)}%`);
        }
      }
      const rate = Object.fromEntries(these.map((s) => [s.kind, median(s.runs.map((x) => x.rate))]));
      summary.push(`\n${c.title}, medians of ${o.rounds} rounds:`);
      for (const s of these) summary.push(`  ${s.kind.padEnd(16)} ${Math.round(rate[s.kind])} ${c.unit}`);
      for (const [a, b, min] of c.ratios) summary.push(`  ${a} / ${b}: ${(rate[a] / rate[b]).toFixed(2)}x (target >= ${min}x)`);
    }
    console.log(summary.join('\n'));
  } finally {
    for (const s of servers) s.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--server') await server(process.argv[3], process.argv[4]);
else if (process.argv[2] === '--loadgen') await loadgen(Number(process.argv[3]), process.argv[4], ...process.argv.slice(5).map(Number));
else await main();
