// Not a contender: an echo server that flips one bit of the 1000th chunk it echoes. Before
// every benchmark run the load generator is pointed at it and must reject the reply. With
// --tls-cert/--tls-key it serves TLS (node:tls), for the load generator's TLS mode (bench/tls.mjs).
import net from 'node:net';
import tls from 'node:tls';
import { serveNode, tlsOptions } from '../lib/serve.mjs';

let chunks = 0;
function corruptOne(socket) {
  socket.setNoDelay(true);
  socket.on('data', (chunk) => {
    if (++chunks === 1000) {
      chunk = Buffer.from(chunk);
      chunk[chunk.length >> 1] ^= 1;
    }
    socket.write(chunk);
  });
  socket.on('error', () => socket.destroy());
}

const pair = tlsOptions();
serveNode(pair === null ? net.createServer(corruptOne) : tls.createServer(pair, corruptOne));
