// UDP echo on node:dgram, as a Node engineer writes it: one 'message' listener sending each
// datagram back, no send callback (it would cost a callback per datagram), a large receive
// buffer (the same as the asynchat server's).
import dgram from 'node:dgram';
import { option, ready } from '../lib/serve.mjs';

const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
sock.bind(Number(option('port', 0)), '127.0.0.1', () => {
  ready({ port: sock.address().port, control: null, mode: 'node' });
});
process.on('SIGTERM', () => process.exit(0));
