// A UDP echo that corrupts one byte of every 500th datagram: udpgen must reject it.
import dgram from 'node:dgram';
import { option, ready } from '../lib/serve.mjs';

let n = 0;
const sock = dgram.createSocket('udp4');
sock.on('message', (msg, rinfo) => {
  if (++n % 500 === 0) msg[msg.length - 1] ^= 1;
  sock.send(msg, rinfo.port, rinfo.address);
});
sock.bind(Number(option('port', 0)), '127.0.0.1', () => {
  ready({ port: sock.address().port, control: null, mode: 'node' });
});
process.on('SIGTERM', () => process.exit(0));
