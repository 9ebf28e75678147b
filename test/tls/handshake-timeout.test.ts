// startTls's handshakeTimeout: a peer that connects and never completes the handshake is given
// up after it (ERR_ASYNCHAT_TLS_HANDSHAKE through handleError), while a handshake that completes
// in time is not disturbed by it. Both ends are channels of one map, in both run modes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsyncChat } from '../../src/asynchat/async-chat';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import type { SocketMap } from '../../src/engine/map-state';
import { AF_INET, type Socket } from '../../src/binding/socket';
import { native } from '../../src/binding/native';
import { createTlsContext, type TlsContext } from '../../src/tls/context';
import { Listener, MODES, QUIET, withMap, type Driver } from '../helpers/asynchat';
import { canTls, makePki, type Pki } from '../helpers/tls';

let pki: Pki;
beforeAll(() => {
  if (canTls) pki = makePki();
});
afterAll(() => pki?.cleanup());

class TlsPeer extends AsyncChat {
  readonly errors: Error[] = [];
  handshakes = 0;
  constructor(sock: Socket | null, map: SocketMap, private readonly d: Driver) {
    super(sock, map);
    this.ignoreLogTypes = QUIET;
    this.setTerminator('\n');
  }
  override collectIncomingData(): void {}
  override foundTerminator(): void {}
  override handleTlsHandshake(): void {
    this.handshakes++;
    this.d.poke();
  }
  override handleError(err?: unknown): void {
    this.errors.push(err as Error);
    this.close();
    this.d.poke();
  }
  override handleClose(): void {
    this.close();
    this.d.poke();
  }
}

/** Connects and never speaks. */
class Silent extends Dispatcher {
  ended = false;
  constructor(map: SocketMap, port: number, private readonly d: Driver) {
    super(null, map);
    this.ignoreLogTypes = QUIET;
    this.createSocket(AF_INET);
    this.connect(['127.0.0.1', port]);
  }
  override handleConnect(): void {}
  override writable(): boolean {
    return !this.connected;
  }
  override handleRead(): void {
    this.recv(4096);
  }
  override handleClose(): void {
    this.ended = true;
    this.close();
    this.d.poke();
  }
}

describe.skipIf(!canTls).each(MODES)('TLS handshake timeout (%s)', (mode) => {
  it('a peer that never sends its hello is given up after handshakeTimeout; one that does is not', async () => {
    await withMap(mode, async (d) => {
      const server: TlsContext = createTlsContext({ cert: pki.serverCert, key: pki.serverKey });
      const accepted: TlsPeer[] = [];
      const listener = new Listener(d.map, (sock) => {
        const peer = new TlsPeer(sock, d.map, d);
        peer.startTls(server, { serverSide: true, handshakeTimeout: 0.3 });
        accepted.push(peer);
      });
      const silent = new Silent(d.map, listener.port, d);
      await d.until(() => accepted.length === 1 && accepted[0].closed, 'the silent peer is given up', 5000);
      expect(accepted[0].errors).toHaveLength(1);
      expect((accepted[0].errors[0] as { code?: string }).code).toBe('ERR_ASYNCHAT_TLS_HANDSHAKE');
      expect(accepted[0].errors[0].message).toMatch(/did not complete within 0.3 s/);
      await d.until(() => silent.ended, 'the silent peer sees the connection end');

      // A handshake that completes: the timeout is cancelled with it, and nothing fires later.
      const client = new (class extends TlsPeer {
        override handleConnect(): void {
          this.startTls(createTlsContext({ ca: pki.caCert }), { serverHostname: 'localhost' });
        }
      })(null, d.map, d);
      client.createSocket(AF_INET);
      client.connect(['127.0.0.1', listener.port]);
      await d.until(() => accepted.length === 2 && accepted[1].handshakes === 1 && client.handshakes === 1, 'a handshake in time');
      await d.idle(500);
      expect(accepted[1].closed).toBe(false);
      expect(accepted[1].errors).toEqual([]);
      client.close();
      await d.until(() => accepted[1].closed, 'the server side closes after the client');
    });
    expect(native.stats().tlsConnections).toBe(0);
  });
});
