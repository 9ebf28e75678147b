// closeReason tells a reset from an orderly end of stream, and a refused connect from both.
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import { AsyncChat } from '../../src/asynchat/async-chat';
import { closeAll, loop } from '../../src/asyncore/loop';
import { AF_INET, SOL_SOCKET, SO_LINGER, Socket, type Address } from '../../src/binding/socket';
import type { SocketMap } from '../../src/engine/map-state';

const maps: SocketMap[] = [];
afterEach(() => {
  for (const m of maps.splice(0)) closeAll(m);
});

function pump(map: SocketMap, done: () => boolean): void {
  for (let i = 0; i < 200 && !done(); i++) loop(0.05, false, map, 1);
}

class Quiet extends AsyncChat {
  closedWith: Error | null | undefined;
  constructor(sock: Socket | null, map: SocketMap) {
    super(sock, map);
    this.setTerminator('\n');
  }
  override collectIncomingData(): void {}
  override foundTerminator(): void {}
  override handleError(err?: unknown): void {
    this.closeReason = err as Error;
    this.handleClose();
  }
  override handleClose(): void {
    this.closedWith = this.closeReason;
    this.close();
  }
}

function listener(map: SocketMap): [Socket, Address] {
  const server = new Socket(AF_INET);
  server.bind(['127.0.0.1', 0]);
  server.listen(5);
  return [server, server.getsockname()];
}

describe('closeReason', () => {
  it('is null for an orderly end of stream and ECONNRESET for a reset', () => {
    const map: SocketMap = new Map();
    maps.push(map);
    const [server, addr] = listener(map);
    const orderly = new Quiet(null, map);
    orderly.createSocket(AF_INET);
    orderly.connect(addr);
    const reset = new Quiet(null, map);
    reset.createSocket(AF_INET);
    reset.connect(addr);
    pump(map, () => orderly.connected && reset.connected);
    const a = server.accept()[0];
    const b = server.accept()[0];
    // accept order follows connect order on loopback
    a.close();
    b.setsockopt(SOL_SOCKET, SO_LINGER, Buffer.from(new Int32Array([1, 0]).buffer));
    b.close();
    server.close();
    pump(map, () => orderly.closedWith !== undefined && reset.closedWith !== undefined);
    expect(orderly.closedWith).toBeNull();
    expect((reset.closedWith as NodeJS.ErrnoException | null)?.code).toBe('ECONNRESET');
  });

  it('names the error of a refused connect', () => {
    const map: SocketMap = new Map();
    maps.push(map);
    const [server, addr] = listener(map);
    server.close();  // nothing listens there any more
    const d = new (class extends Dispatcher {
      seen: Error | null | undefined;
      override handleConnect(): void {}
      override handleError(err?: unknown): void {
        this.ignoreLogTypes = new Set(['error']);
        super.handleError(err);
      }
      override handleClose(): void {
        this.seen = this.closeReason;
        this.close();
      }
    })(null, map);
    d.createSocket(AF_INET);
    d.connect(addr);
    pump(map, () => d.seen !== undefined);
    expect((d.seen as NodeJS.ErrnoException | null)?.code).toBe('ECONNREFUSED');
  });
});
