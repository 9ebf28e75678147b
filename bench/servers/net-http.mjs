// HTTP/1.1 keep-alive on node:net with the same minimal parser as chat-http.mjs: every request
// head a 'data' event completes is answered, all in one write.
import net from 'node:net';
import { serveNode } from '../lib/serve.mjs';
import { BAD, END, RESPONSE } from './http-replies.mjs';

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending = null;
  socket.on('data', (chunk) => {
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    const out = [];
    let pos = 0;
    let close = false;
    for (let end; !close && (end = buf.indexOf(END, pos)) >= 0; pos = end + 4) {
      const head = buf.toString('latin1', pos, end + 4);
      const line = head.slice(0, head.indexOf('\r\n') >>> 0);
      if (!line.startsWith('GET ') || !line.endsWith(' HTTP/1.1')) {
        out.push(BAD);
        close = true;
      } else {
        out.push(RESPONSE);
        close = /\r\nconnection:\s*close/i.test(head);
      }
    }
    pending = pos === buf.length ? null : buf.subarray(pos);
    if (close) socket.end(Buffer.concat(out));
    else if (out.length > 0) socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
  });
  socket.on('error', () => socket.destroy());
});

serveNode(server);
