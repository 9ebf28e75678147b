// An addon built without OpenSSL (no headers in Node's include folder, or ASYNCHAT_NO_TLS=1)
// still loads and serves cleartext; every TLS call throws ERR_ASYNCHAT_NO_TLS and says why.
// `npm run test:no-tls` builds such an addon and runs this file against it; against the usual
// build (with TLS) it is skipped.
import { describe, expect, it } from 'vitest';
import type { SocketMap } from '../../src/engine/map-state';
import { AF_INET } from '../../src/binding/socket';
import { native } from '../../src/binding/native';
import { createTlsContext, opensslVersion, tlsAvailable, TlsContext } from '../../src/tls/context';
import { LineChat, Listener, MODES, withMap } from '../helpers/asynchat';

if (tlsAvailable) console.log('note: this addon has TLS; the no-TLS tests run under npm run test:no-tls');

function noTls(call: () => unknown): Error & { code?: string } {
  let thrown: unknown = null;
  try {
    call();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'it threw').toBeInstanceOf(Error);
  const err = thrown as Error & { code?: string };
  expect(err.code).toBe('ERR_ASYNCHAT_NO_TLS');
  // Why, and what to do: the reader should not have to look it up.
  expect(err.message).toMatch(/no OpenSSL/);
  expect(err.message).toMatch(/ASYNCHAT_NO_TLS=1/);
  return err;
}

class Echo extends LineChat {
  startTlsError: (Error & { code?: string }) | null = null;
  override line(text: string): void {
    if (text === 'STARTTLS') {
      // No context can be made without TLS; startTls says why before it looks at its argument.
      this.startTlsError = noTls(() => this.startTls({} as TlsContext));
      this.push('454 TLS not available\n');
      return;
    }
    this.push(`echo:${text}\n`);
  }
  override handleClose(): void {
    this.close();
  }
}

class Client extends LineChat {
  lines: string[] = [];
  constructor(map: SocketMap, port: number) {
    super(undefined, map);
    this.createSocket(AF_INET);
    this.connect(['127.0.0.1', port]);
    this.push('hello\nSTARTTLS\nbye\n');
  }
  override line(text: string): void {
    this.lines.push(text);
    if (this.lines.length === 3) this.close();
  }
}

describe.skipIf(tlsAvailable)('an addon built without TLS', () => {
  it('loads, and says it has no TLS', () => {
    expect(tlsAvailable).toBe(false);
    expect(opensslVersion).toBeNull();
    expect(native.tlsVersion).toBeNull();
    expect(native.backends).toMatch(/poll/);
  });

  it('createTlsContext() throws ERR_ASYNCHAT_NO_TLS, with or without options', () => {
    noTls(() => createTlsContext());
    noTls(() => createTlsContext({ cert: 'x', key: 'y' }));
    noTls(() => new TlsContext({ minVersion: 'TLSv1.3' }));
  });

  it('the native classes throw ERR_ASYNCHAT_NO_TLS too', () => {
    const e = noTls(() => new native.TlsContext({ server: false }));
    expect(e.message).toMatch(/openssl\/ssl\.h/);
  });

  it.each(MODES)('%s: a cleartext server and client still work; startTls() and stopTls() throw ERR_ASYNCHAT_NO_TLS', async (mode) => {
    const channels: Echo[] = [];
    let client!: Client;
    await withMap(mode, async (d) => {
      const server: Listener = new Listener(d.map, (sock) => {
        channels.push(new Echo(sock, d.map));
        server.close();
      });
      client = new Client(d.map, server.port);
      noTls(() => client.stopTls());
      await d.until(() => client.closed, 'the client got its three replies');
    });
    expect(client.lines).toEqual(['echo:hello', '454 TLS not available', 'echo:bye']);
    expect(channels[0].startTlsError).not.toBeNull();
    expect(channels[0].startTlsError!.message).toMatch(/^startTls: /);
    expect(native.stats().tlsConnections ?? 0).toBe(0);
  });
});
