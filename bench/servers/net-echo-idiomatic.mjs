// Line echo on node:net as it is usually written: split the stream into lines, one
// socket.write per line.
import net from 'node:net';
import { serveNode } from '../lib/serve.mjs';

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk) => {
    const lines = (pending + chunk).split('\r\n');
    pending = lines.pop();
    for (const line of lines) socket.write(`${line}\r\n`, 'latin1');
  });
  socket.on('error', () => socket.destroy());
});

serveNode(server);
