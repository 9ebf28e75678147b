// An addon built without OpenSSL (no headers in Node's include folder, or ASYNCHAT_NO_TLS=1)
// still loads and serves cleartext; every TLS call throws ERR_ASYNCHAT_NO_TLS and says why.
// `npm run test:no-tls` builds such an addon and runs this file against it; against the usual
// build (with TLS) it is skipped.
import { describe, expect, it } from 'vitest';
import { AsyncChat } from '../../src/asynchat/async-chat';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import type { SocketMap } from '../../src/engine/map-state';
import { AF_INET, type Socket } from '../../src/binding/socket';
import { native } from '../../src/binding/native';
import { createTlsContext, opensslVersion, tlsAvailable, TlsContext } from '../../src/tls/context';
import { MODES, QUIET, withMap } from '../helpers/asynchat';

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

class Echo extends AsyncChat {
  startTlsError: (Error & { code?: string }) | null = null;
  constructor(sock: Socket, map: SocketMap) {
    super(sock, map);
    this.ignoreLogTypes = QUIET;
    this.setTerminator('\n');
  }
  override collectIncomingData(data: Buffer): void {
    this.keepIncomingData(data);
  }
  override foundTerminator(): void {
    const line = this.getData().toString();
    if (line === 'STARTTLS') {
      // No context can be made without TLS; startTls says why before it looks at its argument.
      this.startTlsError = noTls(() => this.startTls({} as TlsContext));
      this.push('454 TLS not available\n');
      return;
    }
    this.push(`echo:${line}\n`);
  }
  override handleClose(): void {
    this.close();
  }
}

class Client extends AsyncChat {
  lines: string[] = [];
  constructor(map: SocketMap, port: number) {
    super(undefined, map);
    this.ignoreLogTypes = QUIET;
    this.setTerminator('\n');
    this.createSocket(AF_INET);
    this.connect(['127.0.0.1', port]);
    this.push('hello\nSTARTTLS\nbye\n');
  }
  override collectIncomingData(data: Buffer): void {
    this.keepIncomingData(data);
  }
  override foundTerminator(): void {
    this.lines.push(this.getData().toString());
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
      const server = new (class extends Dispatcher {
        override handleAccepted(sock: Socket): void {
          channels.push(new Echo(sock, d.map));
          this.close();
        }
      })(undefined, d.map);
      server.createSocket(AF_INET);
      server.bind(['127.0.0.1', 0]);
      server.listen(1);
      client = new Client(d.map, (server.socket as Socket).getsockname()[1] as number);
      noTls(() => client.stopTls());
      await d.until(() => client.closed, 'the client got its three replies');
    });
    expect(client.lines).toEqual(['echo:hello', '454 TLS not available', 'echo:bye']);
    expect(channels[0].startTlsError).not.toBeNull();
    expect(channels[0].startTlsError!.message).toMatch(/^startTls: /);
    expect(native.stats().tlsConnections ?? 0).toBe(0);
  });
});
