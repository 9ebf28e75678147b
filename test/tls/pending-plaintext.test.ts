// Python's pending() trap: plaintext OpenSSL has decrypted (or received) but the channel has not
// read yet is delivered without the fd becoming readable again. A Dispatcher reading 100 bytes
// at a time gets a 40 000-byte message that arrived in one burst, and nothing more ever comes.
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import { AF_INET, type Socket } from '../../src/binding/socket';
import { native } from '../../src/binding/native';
import { createTlsContext } from '../../src/tls/context';
import { MODES, QUIET, withMap } from '../helpers/asynchat';
import { canTls, makePki, runClient } from '../helpers/tls';

const CLIENT = `
const tls = require('node:tls');
const s = tls.connect({ host: '127.0.0.1', port: +process.argv[1], rejectUnauthorized: false }, () => {
  s.write(Buffer.alloc(40000, 'p'));  // several records, one burst; then silence until the reply
});
s.on('data', (d) => { console.log(String(d)); s.end(); });
s.on('error', (e) => console.log('error', e.code));
`;

describe.skipIf(!canTls)('pending plaintext', () => {
  it.each(MODES)('%s: small recv() calls drain a burst with no further read readiness', async (mode) => {
    const pki = makePki();
    try {
      let received = 0;
      let reads = 0;
      let result: { stdout: string } | null = null;
      await withMap(mode, async (d) => {
        const ctx = createTlsContext({ cert: pki.serverCert, key: pki.serverKey });
        class Reader extends Dispatcher {
          override handleRead(): void {
            const data = this.recv(100);
            reads++;
            received += data.length;
            if (received === 40000) this.send('all 40000');
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
        void runClient(process.execPath, ['-e', CLIENT, String((server.socket as Socket).getsockname()[1])]).then((r) => {
          result = r;
        });
        const deadline = Date.now() + 15000;
        while (result === null || d.map.size > 0) {
          if (Date.now() > deadline) throw new Error(`timed out with ${received} bytes`);
          await d.until(() => result !== null && d.map.size === 0, 'done', 50).catch(() => undefined);
          await new Promise((r) => setImmediate(r));
        }
      });
      expect(received).toBe(40000);
      expect(reads).toBeGreaterThanOrEqual(400);
      expect(result!.stdout.trim()).toBe('all 40000');
      expect(native.stats().tlsConnections).toBe(0);
    } finally {
      pki.cleanup();
    }
  });
});
