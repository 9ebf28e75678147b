// An echo server on the native layer in attached mode, written with src/binding/socket.ts: a listening
// Socket, accept in onBatch, echo with send (leftovers wait for WRITE readiness).
import { native, EV, type NativeReactor } from '../../src/binding/native';
import { defaultBackend } from '../../src/binding/backends';
import { AF_INET, SOCK_STREAM, Socket } from '../../src/binding/socket';

interface Peer {
  sock: Socket;
  out: Buffer[];
}

export class AttachedEchoServer {
  readonly reactor: NativeReactor;
  readonly events: Int32Array;
  readonly listener: Socket;
  readonly peers = new Map<number, Peer>();
  batches = 0;
  eventCount = 0;
  accepted = 0;
  echoed = 0;
  private readonly buf = Buffer.alloc(65536);

  constructor(backend = defaultBackend(), capacity = 64) {
    this.events = new Int32Array(capacity * 2);
    this.reactor = new native.Reactor(backend, this.events);
    this.listener = new Socket(AF_INET, SOCK_STREAM);
    this.listener.bind(['127.0.0.1', 0]);
    this.listener.listen(64);
    this.reactor.setInterest(this.listener.fileno(), EV.READ);
    this.reactor.attach((count) => this.onBatch(count));
  }

  get port(): number {
    return (this.listener.getsockname() as [string, number])[1];
  }

  private onBatch(count: number): void {
    this.batches++;
    this.eventCount += count;
    for (let i = 0; i < count; i++) {
      const fd = this.events[2 * i];
      if (fd === this.listener.fileno()) {
        for (let pair = this.listener.tryAccept(); pair !== null; pair = this.listener.tryAccept()) {
          this.peers.set(pair[0].fileno(), { sock: pair[0], out: [] });
          this.reactor.setInterest(pair[0].fileno(), EV.READ);
          this.accepted++;
        }
        continue;
      }
      const peer = this.peers.get(fd);
      if (peer) this.service(fd, peer);
    }
  }

  private service(fd: number, peer: Peer): void {
    try {
      for (;;) {
        const n = peer.sock.tryRecvInto(this.buf);
        if (n === 0) return this.drop(fd);
        if (n < 0) break;
        peer.out.push(Buffer.from(this.buf.subarray(0, n)));
        if (n < this.buf.length) break;
      }
      while (peer.out.length > 0) {
        const n = peer.sock.trySend(peer.out[0]);
        if (n < 0) break;
        this.echoed += n;
        if (n < peer.out[0].length) peer.out[0] = peer.out[0].subarray(n);
        else peer.out.shift();
      }
      this.reactor.setInterest(fd, peer.out.length > 0 ? EV.READ | EV.WRITE : EV.READ);
    } catch {
      this.drop(fd); // reset or broken pipe: the peer is gone
    }
  }

  private drop(fd: number): void {
    const peer = this.peers.get(fd);
    if (!peer) return;
    this.reactor.remove(fd);
    this.peers.delete(fd);
    peer.sock.close();
  }

  /** Detaches, closes every socket and the reactor. */
  close(): void {
    this.reactor.detach();
    for (const fd of [...this.peers.keys()]) this.drop(fd);
    this.reactor.remove(this.listener.fileno());
    this.listener.close();
    this.reactor.close();
  }
}
