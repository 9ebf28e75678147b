// The tuned HTTP/1.1 keep-alive handler of the node:net and node:tls baselines
// (servers/net-http-tuned.mjs, servers/tls-http-tuned.mjs): each request head is found with
// indexOf of CRLFCRLF and checked byte by byte (request line, a `Connection: close` header,
// letters compared case-insensitively), with no string made per request; all the responses a
// chunk completes go out in one write.
import { BAD, END, RESPONSE } from '../servers/http-replies.mjs';

const CRLF = Buffer.from('\r\n');
const GET = Buffer.from('GET ');
const VERSION = Buffer.from(' HTTP/1.1');
const CONNECTION = Buffer.from('connection:');
const CLOSE = Buffer.from('close');

/** buf[p..] starts with `lower` (lower-case ASCII), letters compared case-insensitively. */
function startsWithFolded(buf, p, lower) {
  for (let i = 0; i < lower.length; i++) {
    const c = buf[p + i];
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower[i]) return false;
  }
  return true;
}

function startsWith(buf, p, bytes) {
  for (let i = 0; i < bytes.length; i++) if (buf[p + i] !== bytes[i]) return false;
  return true;
}

/** Whether the header lines in buf[from..end) hold `Connection: close`. */
function asksClose(buf, from, end) {
  for (let p = from; p < end;) {
    let eol = buf.indexOf(CRLF, p);
    if (eol < 0 || eol > end) eol = end;
    if (eol - p >= CONNECTION.length && startsWithFolded(buf, p, CONNECTION)) {
      let v = p + CONNECTION.length;
      while (v < eol && (buf[v] === 0x20 || buf[v] === 0x09)) v++;
      if (eol - v >= CLOSE.length && startsWithFolded(buf, v, CLOSE)) return true;
    }
    p = eol + 2;
  }
  return false;
}

export function tunedHttp(socket) {
  socket.setNoDelay(true);
  let pending = null;
  socket.on('data', (chunk) => {
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    let pos = 0;
    let ok = 0;
    let close = false;
    let bad = false;
    for (let end; !close && (end = buf.indexOf(END, pos)) >= 0; pos = end + 4) {
      const eol = buf.indexOf(CRLF, pos);
      if (!startsWith(buf, pos, GET) || eol - pos < GET.length + VERSION.length || !startsWith(buf, eol - VERSION.length, VERSION)) {
        bad = true;
        close = true;
      } else {
        ok++;
        close = asksClose(buf, eol + 2, end + 2);
      }
    }
    pending = pos === buf.length ? null : buf.subarray(pos);
    if (ok + (bad ? 1 : 0) === 0) return;
    let reply;
    if (ok === 1 && !bad) {
      reply = RESPONSE;
    } else {
      reply = Buffer.allocUnsafe(ok * RESPONSE.length + (bad ? BAD.length : 0));
      for (let i = 0; i < ok; i++) reply.set(RESPONSE, i * RESPONSE.length);
      if (bad) reply.set(BAD, ok * RESPONSE.length);
    }
    if (close) socket.end(reply);
    else socket.write(reply);
  });
  socket.on('error', () => socket.destroy());
}
