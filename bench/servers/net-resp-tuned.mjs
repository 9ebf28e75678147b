// The Redis-protocol server on node:net, written for speed as a Node expert would: one pass over
// each 'data' chunk reading the `*N` and `$len` integers straight from the bytes (no toString, no
// parseInt), the command name compared byte by byte, keys as latin1 strings (a Map needs one),
// values copied out of the read buffer (a view would pin the chunk's whole backing store), and
// every reply of a chunk built in one buffer and sent with one write.
import net from 'node:net';
import { serveNode } from '../lib/serve.mjs';

const store = new Map();
const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NIL = Buffer.from('$-1\r\n');

// One thread and synchronous handlers: the parse and reply state can live at module level
// instead of in an object per command.
let next = 0;        // readInt: just past the CRLF of the integer it read
let out = null;      // the replies of the current chunk
let outLen = 0;

/** The decimal integer at buf[p..] before CRLF (next: past the CRLF); -1 incomplete, -2 malformed. */
function readInt(buf, p, end) {
  let n = 0;
  const first = p;
  for (; p < end; p++) {
    const c = buf[p];
    if (c === 13) {
      if (p + 1 >= end) return -1;
      if (buf[p + 1] !== 10 || p === first) return -2;
      next = p + 2;
      return n;
    }
    const d = c - 48;
    if (d < 0 || d > 9 || p - first > 15) return -2;
    n = n * 10 + d;
  }
  return -1;
}

function reserve(n) {
  if (out === null) {
    out = Buffer.allocUnsafe(Math.max(1024, n));
  } else if (outLen + n > out.length) {
    const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, outLen + n));
    bigger.set(out.subarray(0, outLen));
    out = bigger;
  }
}

function reply(bytes) {
  reserve(bytes.length);
  out.set(bytes, outLen);
  outLen += bytes.length;
}

function replyBulk(value) {
  reserve(value.length + 24);
  out[outLen++] = 0x24;  // $
  outLen += out.latin1Write(String(value.length), outLen);
  out[outLen++] = 13;
  out[outLen++] = 10;
  out.set(value, outLen);
  outLen += value.length;
  out[outLen++] = 13;
  out[outLen++] = 10;
}

// ASCII letters compared case-insensitively (| 0x20 lower-cases them).
const isPing = (b, p) => (b[p] | 0x20) === 0x70 && (b[p + 1] | 0x20) === 0x69 && (b[p + 2] | 0x20) === 0x6e && (b[p + 3] | 0x20) === 0x67;
const isSet = (b, p) => (b[p] | 0x20) === 0x73 && (b[p + 1] | 0x20) === 0x65 && (b[p + 2] | 0x20) === 0x74;
const isGet = (b, p) => (b[p] | 0x20) === 0x67 && (b[p + 1] | 0x20) === 0x65 && (b[p + 2] | 0x20) === 0x74;

function protocolError(socket, message) {
  if (outLen > 0) socket.write(out.subarray(0, outLen));
  out = null;
  outLen = 0;
  socket.end(`-ERR Protocol error: ${message}\r\n`);
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending = null;
  socket.on('data', (chunk) => {
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    const end = buf.length;
    let pos = 0;
    parse: while (pos < end) {
      if (buf[pos] !== 0x2a) return protocolError(socket, 'expected *<count>');
      const argc = readInt(buf, pos + 1, end);
      if (argc === -1) break;
      if (argc <= 0) return protocolError(socket, 'bad argument count');
      let p = next;
      // where the first three arguments are (all these commands need)
      let a0 = 0, l0 = 0, a1 = 0, l1 = 0, a2 = 0, l2 = 0;
      for (let i = 0; i < argc; i++) {
        if (p >= end) break parse;
        if (buf[p] !== 0x24) return protocolError(socket, 'expected $<length>');
        const len = readInt(buf, p + 1, end);
        if (len === -1) break parse;
        if (len < 0) return protocolError(socket, 'bad bulk length');
        p = next;
        if (p + len + 2 > end) break parse;
        if (i === 0) { a0 = p; l0 = len; } else if (i === 1) { a1 = p; l1 = len; } else if (i === 2) { a2 = p; l2 = len; }
        p += len + 2;
      }
      pos = p;
      if (l0 === 4 && argc === 1 && isPing(buf, a0)) {
        reply(PONG);
      } else if (l0 === 3 && argc === 3 && isSet(buf, a0)) {
        const value = Buffer.allocUnsafe(l2);
        buf.copy(value, 0, a2, a2 + l2);
        store.set(buf.toString('latin1', a1, a1 + l1), value);
        reply(OK);
      } else if (l0 === 3 && argc === 2 && isGet(buf, a0)) {
        const found = store.get(buf.toString('latin1', a1, a1 + l1));
        if (found === undefined) reply(NIL);
        else replyBulk(found);
      } else {
        reply(Buffer.from(`-ERR unknown command '${buf.toString('latin1', a0, a0 + l0)}'\r\n`, 'latin1'));
      }
    }
    pending = pos === end ? null : buf.subarray(pos);
    if (outLen > 0) {
      socket.write(out.subarray(0, outLen));
      out = null;  // the write may still hold it: the next chunk gets a fresh one
      outLen = 0;
    }
  });
  socket.on('error', () => socket.destroy());
});

serveNode(server);
