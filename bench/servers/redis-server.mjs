// redis-server itself, as the reference row of the RESP workload: started on a free port with
// persistence off, and reported READY (with redis-server's own pid, whose CPU time is measured)
// once it answers PING. SIGTERM stops it. bench/run.mjs adds the row only when redis-server is
// installed (Debian: apt-get install redis-server).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { ready } from '../lib/serve.mjs';

async function freePort() {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function answersPing(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => sock.write('PING\r\n'));
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      got += d;
      if (got.includes('\r\n')) {
        sock.destroy();
        resolve(got.startsWith('+PONG'));
      }
    });
    sock.on('error', () => resolve(false));
  });
}

const port = await freePort();
const redis = spawn('redis-server', [
  '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
  '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning',
], { stdio: ['ignore', 'ignore', 'inherit'] });
redis.on('exit', (code, signal) => process.exit(signal ? 0 : code ?? 0));
process.on('SIGTERM', () => redis.kill('SIGTERM'));
const deadline = Date.now() + 10_000;
while (!(await answersPing(port))) {
  if (Date.now() > deadline) {
    redis.kill('SIGKILL');
    throw new Error(`redis-server did not answer PING on port ${port} within 10 s`);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}
ready({ pid: redis.pid, port, control: null, mode: 'reference' });
