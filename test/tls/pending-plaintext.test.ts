// Python's pending() trap: plaintext OpenSSL has decrypted (or received) but the channel has not
// read yet is delivered without the fd becoming readable again. A Dispatcher reading 100 bytes
// at a time gets a 40 000-byte message that arrived in one burst, and nothing more ever comes.
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import { loopAsync } from '../../src/asyncore/loop';
import { AF_INET, type Socket } from '../../src/binding/socket';
import { native } from '../../src/binding/native';
import { createTlsContext } from '../../src/tls/context';
import { MODES, QUIET, withMap, type Driver } from '../helpers/asynchat';
import { withDeadline } from '../helpers/reactor';
import { canTls, makePki, runClient, type ChildResult } from '../helpers/tls';

const MESSAGE = 40000;
const CLIENT = `
const tls = require('node:tls');
const s = tls.connect({ host: '127.0.0.1', port: +process.argv[1], rejectUnauthorized: false }, () => {
  s.write(Buffer.alloc(${MESSAGE}, 'p'));  // several records, one burst; then silence until the reply
});
s.on('data', (d) => { console.log(String(d)); s.end(); });
s.on('error', (e) => console.log('error', e.code));
`;

interface Served {
  received: number;
  reads: number;
  result: ChildResult | null;
  /** The client's exit. */
  exited: Promise<ChildResult>;
}

/**
 * A TLS listener on d's map whose one connection reads 100 bytes per handleRead, calls
 * afterRead after each, and replies once the whole message is in; the client runs meanwhile.
 */
function serveReader(d: Driver, certs: { cert: string; key: string }, afterRead: (s: Served) => void = () => {}): Served {
  const served = { received: 0, reads: 0, result: null } as Served;
  const ctx = createTlsContext(certs);
  class Reader extends Dispatcher {
    override handleRead(): void {
      const data = this.recv(100);
      served.reads++;
      served.received += data.length;
      if (served.received === MESSAGE) this.send(`all ${MESSAGE}`);
      afterRead(served);
    }
    override handleClose(): void {
      this.close();
    }
    override writable(): boolean {
      return false;
    }
  }
  const server = new (class extends Dispatcher {
    override handleAccepted(sock: Socket): void {
      const r = new Reader(sock, d.map);
      r.ignoreLogTypes = QUIET;
      r.startTls(ctx, { serverSide: true });
      this.close();
    }
  })(undefined, d.map);
  server.createSocket(AF_INET);
  server.bind(['127.0.0.1', 0]);
  server.listen(1);
  served.exited = runClient(process.execPath, ['-e', CLIENT, String((server.socket as Socket).getsockname()[1])]).then((r) => {
    served.result = r;
    return r;
  });
  return served;
}

function expectDelivered(served: Served): void {
  expect(served.received).toBe(MESSAGE);
  expect(served.reads).toBeGreaterThanOrEqual(MESSAGE / 100);
  expect(served.result!.stdout.trim()).toBe(`all ${MESSAGE}`);
  expect(native.stats().tlsConnections).toBe(0);
}

describe.skipIf(!canTls)('pending plaintext', () => {
  it.each(MODES)('%s: small recv() calls drain a burst with no further read readiness', async (mode) => {
    const pki = makePki();
    try {
      let served: Served | null = null;
      await withMap(mode, async (d) => {
        const s = serveReader(d, { cert: pki.serverCert, key: pki.serverKey });
        served = s;
        const deadline = Date.now() + 15000;
        while (s.result === null || d.map.size > 0) {
          if (Date.now() > deadline) throw new Error(`timed out with ${s.received} bytes`);
          await d.until(() => s.result !== null && d.map.size === 0, 'done', 50).catch(() => undefined);
          await new Promise((r) => setImmediate(r));
        }
      });
      expectDelivered(served!);
    } finally {
      pki.cleanup();
    }
  });

  it('attached: plaintext left inside OpenSSL when loopAsync() stops is delivered once it runs again', async () => {
    const pki = makePki();
    try {
      let served: Served | null = null;
      await withMap('attached', async (d) => {
        // Stop the loop inside the message's last record: every byte of ciphertext has been read
        // from the socket (a record is decrypted only once whole), the client waits for the
        // reply, so no fd event will come; only the read the channel asked for can go on.
        const first = new AbortController();
        const s = serveReader(d, { cert: pki.serverCert, key: pki.serverKey }, (x) => {
          if (x.received > MESSAGE - 1000 && x.received < MESSAGE) first.abort();
        });
        served = s;
        await withDeadline(loopAsync({ map: d.map, signal: first.signal }), 15000, 'the first part of the message');
        expect(s.received).toBeGreaterThan(MESSAGE - 1000);
        expect(s.received).toBeLessThan(MESSAGE);
        // The read event queued for the plaintext left fires while no loop runs.
        for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
        await d.untilEmpty('the rest of the message and the reply', 5000);
        await withDeadline(s.exited, 5000, 'the client');
      });
      expectDelivered(served!);
    } finally {
      pki.cleanup();
    }
  });
});
