// UDP echo on a Dispatcher, written as a Python asyncore UDP server is: recvfrom in handleRead,
// sendto the sender, writable() false. `--mode blocking` serves it with loop(), `attached`
// with loopAsync(). Stopped by SIGTERM.
import { AF_INET, Dispatcher, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF, loop, loopAsync } from 'asynchat';
import { option, ready } from '../lib/serve.mjs';

class UdpEcho extends Dispatcher {
  constructor(port) {
    super();
    this.createSocket(AF_INET, SOCK_DGRAM);
    this.socket.setsockopt(SOL_SOCKET, SO_RCVBUF, 4 << 20);
    this.bind(['127.0.0.1', port]);
  }

  writable() {
    return false;
  }

  handleRead() {
    const [data, addr] = this.socket.recvfrom(2048);
    this.socket.sendto(data, addr);
  }
}

const mode = option('mode', 'blocking');
const server = new UdpEcho(Number(option('port', 0)));
ready({ port: server.socket.getsockname()[1], control: null, mode });
if (mode === 'blocking') loop();
else await loopAsync();
