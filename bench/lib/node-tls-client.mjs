// The fallback load generator of bench/tls.mjs, for a machine without OpenSSL's headers (no
// build-bench/loadgen-tls): Node's tls.connect (or net.connect in cleartext), in a process of its
// own. It keeps `depth` requests in flight per connection and counts replies by their length, the
// same requests and replies as the C loadgen sends, but does not check them byte for byte, and it
// costs more per request than the C one: near a saturated core it measures itself.
//
//   node bench/lib/node-tls-client.mjs '{"port":..,"proto":"line"|"http","tls":true,"conns":50,
//        "depth":16,"warmup":1,"duration":2,"lineSize":32,"serverPid":..}'
// Prints one JSON object shaped as the C loadgen's (rate, requests, seconds, serverCpu, loadgenCpu).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { RESPONSE } from '../servers/http-replies.mjs';

const o = JSON.parse(process.argv[2]);
const request = o.proto === 'http'
  ? Buffer.from('GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  : Buffer.from(`${'x'.repeat(o.lineSize - 2)}\r\n`);
const replySize = o.proto === 'http' ? RESPONSE.length : request.length;

/** utime+stime of a process in seconds, -1 when unknown. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;  // USER_HZ, 100 on Linux
  } catch {
    return -1;
  }
}

let done = 0;
const sockets = await Promise.all(Array.from({ length: o.conns }, () => new Promise((resolve, reject) => {
  const s = o.tls
    ? tls.connect({ host: '127.0.0.1', port: o.port, rejectUnauthorized: false }, () => resolve(s))
    : net.connect(o.port, '127.0.0.1', () => resolve(s));
  s.setNoDelay(true);
  s.on('error', reject);
  let partial = 0;
  s.on('data', (d) => {
    const n = Math.floor((partial + d.length) / replySize);
    partial = (partial + d.length) % replySize;
    done += n;
    if (n > 0) s.write(n === 1 ? request : Buffer.concat(Array(n).fill(request)));
  });
})));
for (const s of sockets) s.write(Buffer.concat(Array(o.depth).fill(request)));
await new Promise((r) => setTimeout(r, o.warmup * 1000));
const done0 = done;
const srv0 = cpuSeconds(o.serverPid);
const me0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, o.duration * 1000));
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const requests = done - done0;
const me = process.cpuUsage(me0);
const srv1 = cpuSeconds(o.serverPid);
for (const s of sockets) s.destroy();
process.stdout.write(`${JSON.stringify({
  proto: o.proto, conns: o.conns, depth: o.depth, tls: o.tls ? { session: 'node:tls client' } : null, seconds, requests,
  rate: requests / seconds, serverCpu: srv0 >= 0 && srv1 >= 0 ? srv1 - srv0 : -1, loadgenCpu: (me.user + me.system) / 1e6,
  p50us: NaN, p99us: NaN, stats: null, client: 'node',
})}\n`);
