// The library's state is out of the subclass's way: Python's asyncore/asynchat leave only a few
// names on `self` (`_map`, `_fileno`, `socket`, `connected`, `accepting`, `connecting`,
// `closing`, `addr`, `ac_in_buffer_size`, `terminator`, `incoming`...), and ports keep their own
// state in every other name. A subclass whose fields are named like the library's old
// internals (`_tls`, `_out`, `_closed`, `_entry`, `_touch`...) serves as any other, in both run
// modes and over TLS; and no other underscore name of the library is reachable.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AsyncChat } from '../../src/asynchat/async-chat';
import { Dispatcher, DispatcherWithSend } from '../../src/asyncore/dispatcher';
import type { SocketMap } from '../../src/engine/map-state';
import { AF_INET, type Socket } from '../../src/binding/socket';
import type { TlsContext } from '../../src/tls/context';
import { Listener, MODES, QUIET, withMap, type Driver } from '../helpers/asynchat';
import { canTls, tlsContexts } from '../helpers/tls';

// Every name the library used on the channel before its state moved to the engine's record,
// and the private members AsyncChat had.
const OLD_INTERNALS = [
  '_tls', '_out', '_closed', '_closeHandled', '_entry', '_touch', '_writeOut', '_handleCloseOnce', '_interest',
  '_readAgain', '_queuedOutput', '_beforeWait', '_adjustInterest', '_datagram', '_idleTimeout', '_connectTimer',
  '_acceptGuard', '_acceptPaused', '_wrote', '_socketError', '_errorCondition', '_enforceOutputLimit',
  '_armConnectTimeout', '_cancelConnectTimeout', '_resumeAccepting', '_tlsStopped', '_tlsReleased', '_tlsHandshakeDone',
  'splitter', 'out', 'sendBufferFull', 'outputPending', 'updateOutputFull', 'overHighWater',
  'lastTerminatorString', 'lastTerminatorEncoding', 'lastTerminatorBytes',
];

/** The underscore names Python's asyncore and asynchat themselves define. */
const PYTHON_UNDERSCORE = new Set(['_map', '_fileno', '_collectIncomingData', '_getData']);

/** Sets each of the old internal names to something of its own, as a ported class would. */
function squat(obj: object): void {
  for (const name of OLD_INTERNALS) {
    Object.defineProperty(obj, name, { value: { mine: name }, writable: true, configurable: true, enumerable: true });
  }
}

class SquattingEcho extends AsyncChat {
  override ignoreLogTypes = QUIET;
  constructor(sock: Socket, map: SocketMap, private readonly d: Driver, tls?: TlsContext) {
    super(sock, map);
    squat(this);
    this.setTerminator('\n');
    if (tls !== undefined) this.startTls(tls, { serverSide: true });
  }
  override collectIncomingData(data: Buffer): void {
    this.keepIncomingData(data);
  }
  override foundTerminator(): void {
    this.push(Buffer.concat([this.getData(), Buffer.from('\n')]));
    this.d.poke();
  }
}

class SquattingClient extends AsyncChat {
  override ignoreLogTypes = QUIET;
  text = '';
  constructor(map: SocketMap, port: number, private readonly d: Driver, private readonly lines: number, tls?: TlsContext) {
    super(undefined, map);
    squat(this);
    this.createSocket(AF_INET);
    this.connect(['127.0.0.1', port]);
    this.setTerminator('\n');
    if (tls !== undefined) this.startTls(tls, { serverHostname: 'localhost' });
    for (let i = 0; i < lines; i++) this.push(`line ${i}\n`);
  }
  override collectIncomingData(data: Buffer): void {
    this.keepIncomingData(data);
  }
  override foundTerminator(): void {
    this.text += `${this.getData().toString()}\n`;
    if (this.text.split('\n').length - 1 === this.lines) this.closeWhenDone();
    this.d.poke();
  }
}

describe.each(MODES)('a subclass with fields named like the library\'s internals (%s)', (mode) => {
  const contexts = tlsContexts();

  for (const overTls of [false, true]) {
    it.skipIf(overTls && !canTls)(`serves, closes and leaves nothing behind${overTls ? ' (TLS)' : ''}`, async () => {
      await withMap(mode, async (d) => {
        let server: SquattingEcho | null = null;
        const listener = new Listener(d.map, (sock) => {
          server = new SquattingEcho(sock, d.map, d, overTls ? contexts.server() : undefined);
        });
        const client = new SquattingClient(d.map, listener.port, d, 200, overTls ? contexts.client() : undefined);
        await d.until(() => client.closed && server !== null && server.closed, 'the echo, and both ends closed', 10_000);
        expect(client.text).toBe(Array.from({ length: 200 }, (_, i) => `line ${i}\n`).join(''));
        // Their own fields are still theirs.
        expect((server! as unknown as Record<string, unknown>)._tls).toEqual({ mine: '_tls' });
        expect((client as unknown as Record<string, unknown>).out).toEqual({ mine: 'out' });
      });
    });
  }
});

/** Every string-keyed name reachable on obj: own and inherited, up to Object.prototype. */
function reachableNames(obj: object): Set<string> {
  const names = new Set<string>();
  for (let o: object | null = obj; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) names.add(name);
  }
  return names;
}

describe('no other underscore name of the library is reachable from a subclass', () => {
  for (const make of [
    () => new Dispatcher(null, new Map()),
    () => new DispatcherWithSend(null, new Map()),
    () => new (class extends AsyncChat {})(null, new Map()),
  ]) {
    const channel = make();
    it(`${channel.constructor.name === '' ? 'AsyncChat' : channel.constructor.name}`, () => {
      const underscored = [...reachableNames(channel)].filter((n) => n.startsWith('_') && n !== '__proto__');
      expect(underscored.filter((n) => !PYTHON_UNDERSCORE.has(n))).toEqual([]);
      for (const name of OLD_INTERNALS) expect(reachableNames(channel).has(name), name).toBe(false);
    });
  }
});

const dist = path.resolve(__dirname, '..', '..', 'dist', 'cjs');
describe.skipIf(!existsSync(path.join(dist, 'index.d.ts')))('the published declarations', () => {
  it('have no @internal member and no underscore member but Python\'s', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name));
        else if (e.name.endsWith('.d.ts')) files.push(path.join(dir, e.name));
      }
    };
    walk(dist);
    for (const file of ['asyncore/dispatcher.d.ts', 'asynchat/async-chat.d.ts']) {
      const text = readFileSync(path.join(dist, file), 'utf8');
      const members = [...text.matchAll(/^\s+(?:readonly\s+)?(_\w+)\??[:(]/gm)].map((m) => m[1]);
      expect(members.filter((n) => !PYTHON_UNDERSCORE.has(n)), file).toEqual([]);
    }
    for (const file of files) expect(readFileSync(file, 'utf8'), file).not.toContain('@internal');
  });
});
