// Not a contender: an echo server that flips one bit of the 1000th chunk it echoes. Before
// every benchmark run the load generator is pointed at it and must reject the reply.
import net from 'node:net';
import { serveNode } from '../lib/serve.mjs';

let chunks = 0;
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('data', (chunk) => {
    if (++chunks === 1000) {
      chunk = Buffer.from(chunk);
      chunk[chunk.length >> 1] ^= 1;
    }
    socket.write(chunk);
  });
  socket.on('error', () => socket.destroy());
});

serveNode(server);
