// Length-prefixed echo on node:net, written for speed as a Node expert would: one pass over each
// 'data' chunk reading the 4-byte big-endian lengths from the bytes, every complete message of the
// chunk echoed with one write (a view of the chunk: an echo is the bytes as they came), and a
// message that a chunk leaves unfinished kept in a buffer sized from its header and filled by the
// next chunks (never a Buffer.concat per message). A message and the chunk after it go out in one
// writev (cork/uncork). Messages over 1 MiB close the connection, as the asynchat server's limit.
import net from 'node:net';
import { serveNode } from '../lib/serve.mjs';

const MAX = 1 << 20;

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  const head = Buffer.alloc(4);  // a header cut by the end of a chunk
  let headHave = 0;
  let msg = null;                // an unfinished message: its bytes so far, in a buffer of its size
  let msgHave = 0;

  // The message starting at chunk[pos] (whole header known: len) is unfinished: keep what there is.
  function keep(chunk, pos, end) {
    const len = ((chunk[pos] << 24) | (chunk[pos + 1] << 16) | (chunk[pos + 2] << 8) | chunk[pos + 3]) >>> 0;
    if (len + 4 > MAX) return socket.destroy();
    msg = Buffer.allocUnsafe(len + 4);
    msgHave = chunk.copy(msg, 0, pos, end);
  }

  socket.on('data', (chunk) => {
    const end = chunk.length;
    let pos = 0;
    let done = null;  // a message finished by this chunk
    if (headHave > 0) {
      pos = Math.min(4 - headHave, end);
      chunk.copy(head, headHave, 0, pos);
      headHave += pos;
      if (headHave < 4) return;
      headHave = 0;
      keep(head, 0, 4);
      if (msg === null) return;
    }
    if (msg !== null) {
      const take = Math.min(msg.length - msgHave, end - pos);
      chunk.copy(msg, msgHave, pos, pos + take);
      msgHave += take;
      pos += take;
      if (msgHave < msg.length) return;
      done = msg;
      msg = null;
    }
    const start = pos;
    while (end - pos >= 4) {
      const len = ((chunk[pos] << 24) | (chunk[pos + 1] << 16) | (chunk[pos + 2] << 8) | chunk[pos + 3]) >>> 0;
      if (len + 4 > MAX) return socket.destroy();
      if (end - pos < len + 4) break;
      pos += len + 4;
    }
    if (done !== null && pos > start) {
      socket.cork();
      socket.write(done);
      socket.write(chunk.subarray(start, pos));
      socket.uncork();
    } else if (done !== null) {
      socket.write(done);
    } else if (pos > start) {
      socket.write(pos === end && start === 0 ? chunk : chunk.subarray(start, pos));
    }
    if (pos < end) {
      if (end - pos >= 4) {
        keep(chunk, pos, end);
      } else {
        headHave = chunk.copy(head, 0, pos, end);
      }
    }
  });
  socket.on('error', () => socket.destroy());
});

serveNode(server);
