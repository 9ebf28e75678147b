// Framer terminators over real loopback sockets, in both run modes: AsyncChat servers that take
// frames, a line protocol that switches to frames inside one read (as STARTTLS-style upgrades
// do), refused frames reaching handleError and closing the channel, an oversized frame refused
// from its header without waiting for its body, and frames held while output is over its
// high-water mark.
import { describe, expect, it } from 'vitest';
import { AsyncChat } from '../../src/asynchat/async-chat';
import { framers, type Framer } from '../../src/asynchat/framers';
import type { SocketMap } from '../../src/engine/map-state';
import { SO_SNDBUF, SOL_SOCKET, type Socket } from '../../src/binding/socket';
import { Driver, MODES, QUIET, expectQueued, readAll, tcpPair, withMap } from '../helpers/asynchat';

const cmd = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
const lp = (payload: string | Buffer): Buffer => {
  const p = Buffer.from(payload);
  const b = Buffer.alloc(4 + p.length);
  b.writeUInt32BE(p.length);
  p.copy(b, 4);
  return b;
};

/** Collects the fields of each frame; answers each frame with `reply(fields)`; records errors. */
class FrameChat extends AsyncChat {
  override ignoreLogTypes = QUIET;
  readonly frames: string[][] = [];
  readonly errors: Array<Error & Record<string, unknown>> = [];
  private fields: Buffer[] = [];

  constructor(
    sock: Socket, map: SocketMap, private readonly d: Driver, terminator: Framer | string,
    private readonly reply: (fields: Buffer[], chat: FrameChat) => void,
  ) {
    super(sock, map);
    this.setTerminator(terminator);
  }

  override collectIncomingData(data: Buffer): void {
    this.fields.push(data);
  }

  override foundTerminator(): void {
    const fields = this.fields;
    this.fields = [];
    this.frames.push(fields.map((f) => f.toString('latin1')));
    this.reply(fields, this);
    this.d.poke();
  }

  override handleError(err?: unknown): void {
    this.errors.push(err as Error & Record<string, unknown>);
    super.handleError(err);  // closes
    this.d.poke();
  }
}

/** RESP: each command answered with its arguments joined by spaces, as a simple string. */
const respReply = (fields: Buffer[], chat: FrameChat): void => chat.push(`+${fields.map((f) => f.toString('latin1')).join(' ')}\r\n`);

describe.each(MODES)('framers over sockets (%s)', (mode) => {
  it('RESP commands pipelined and cut anywhere are answered in order', async () => {
    await withMap(mode, async (d) => {
      const [client, server] = tcpPair();
      d.track(client);
      const chat = new FrameChat(server, d.map, d, framers.resp(), respReply);
      const commands = [cmd('SET', 'k', 'v\r\n1'), 'PING\r\n', cmd('GET', 'k'), cmd('ECHO', ''), 'ECHO "a b" \'c\'\r\n', cmd('X'.repeat(3000))];
      const stream = Buffer.from(commands.join(''), 'latin1');
      const ends = commands.map((_, i) => commands.slice(0, i + 1).join('').length);
      const replies = '+SET k v\r\n1\r\n+PING\r\n+GET k\r\n+ECHO \r\n+ECHO a b c\r\n' + `+${'X'.repeat(3000)}\r\n`;
      // 97 bytes a send, each read as it comes: commands cut anywhere, a long one over many reads
      for (let at = 0; at < stream.length; at += 97) {
        client.send(stream.subarray(at, at + 97));
        const whole = ends.filter((e) => e <= at + 97).length;
        await d.until(() => chat.frames.length >= whole, `${whole} commands`);
      }
      await d.until(() => chat.frames.length === commands.length, 'every command');
      expect(readAll(client, replies.length).toString('latin1')).toBe(replies);
      expect(chat.errors).toEqual([]);
    });
  });

  it('a line protocol switches to length-prefixed frames inside one read, and back', async () => {
    await withMap(mode, async (d) => {
      const [client, server] = tcpPair();
      d.track(client);
      const framer = framers.lengthPrefixed();
      const chat = new FrameChat(server, d.map, d, '\n', (fields, c) => {
        const text = fields.map((f) => f.toString()).join('');
        c.push(`${text}\n`);
        if (text === 'FRAMES') c.setTerminator(framer);
        else if (text === 'LINES') c.setTerminator('\n');
      });
      const bytes = Buffer.concat([Buffer.from('HELLO\nFRAMES\n'), lp('one'), lp(''), lp('two\nlines'), lp('LINES'), Buffer.from('bye\n')]);
      client.send(bytes);
      expectQueued(server, bytes.length);  // one read holds it all
      await d.until(() => chat.frames.length === 7, 'seven records');
      expect(chat.frames).toEqual([['HELLO'], ['FRAMES'], ['one'], [''], ['two\nlines'], ['LINES'], ['bye']]);
      const want = 'HELLO\nFRAMES\none\n\ntwo\nlines\nLINES\nbye\n';
      expect(readAll(client, want.length).toString()).toBe(want);
    });
  });

  it('a malformed frame reaches handleError after the frames before it, and closes the channel', async () => {
    await withMap(mode, async (d) => {
      const [client, server] = tcpPair();
      d.track(client);
      const chat = new FrameChat(server, d.map, d, framers.resp(), respReply);
      client.send(Buffer.from(`${cmd('PING')}*2\r\n$3\r\nGET\r\n+x\r\n${cmd('NEVER')}`));
      await d.until(() => chat.errors.length === 1 && d.map.size === 0, 'the error, then the close');
      expect(chat.frames).toEqual([['PING']]);
      expect(chat.errors[0]).toMatchObject({ code: 'ERR_ASYNCHAT_BAD_FRAME', offset: 13, expected: "'$'", part: 'bulk header' });
      expect(readAll(client, 7).toString()).toBe('+PING\r\n');  // sent before the close; then EOF
      expect(client.recv(16).length).toBe(0);
    });
  });

  it('a frame whose header announces too much is refused at once, without waiting for its body', async () => {
    await withMap(mode, async (d) => {
      const [client, server] = tcpPair();
      d.track(client);
      const chat = new FrameChat(server, d.map, d, framers.lengthPrefixed({ maxFrameLength: 1 << 20 }), () => {});
      const header = Buffer.alloc(4);
      header.writeUInt32BE(0x40000000);  // 1 GiB announced, 3 bytes of it sent
      client.send(Buffer.concat([lp('ok'), header, Buffer.from('abc')]));
      await d.until(() => chat.errors.length === 1, 'the refusal', 2000);
      expect(chat.frames).toEqual([['ok']]);
      expect(chat.errors[0]).toMatchObject({ code: 'ERR_ASYNCHAT_FRAME_TOO_LARGE', limit: 'maxFrameLength', max: 1 << 20, length: 0x40000004 });
    });
  });

  it('frames already read wait while output is over its high-water mark, then all are answered in order', async () => {
    await withMap(mode, async (d) => {
      const [client, server] = tcpPair();
      d.track(client);
      const big = Buffer.alloc(64 * 1024, 'r');
      const chat = new FrameChat(server, d.map, d, framers.netstring(), (fields, c) => {
        c.push(`${fields[0].toString()}:`);
        c.push(big);
      });
      chat.outputHighWater = 128 * 1024;
      server.setsockopt(SOL_SOCKET, SO_SNDBUF, 4096);
      const n = 40;
      client.send(Buffer.from(Array.from({ length: n }, (_, i) => `${String(i).length}:${i},`).join('')));
      await d.until(() => chat.inputPaused, 'input paused');
      expect(chat.frames.length).toBeLessThan(n);
      const replies: Buffer[] = [];
      let bytes = 0;
      const total = Array.from({ length: n }, (_, i) => `${i}:`.length + big.length).reduce((a, b) => a + b);
      const buf = Buffer.alloc(256 * 1024);
      await d.until(() => {
        for (let got = client.tryRecvInto(buf); got > 0; got = client.tryRecvInto(buf)) {
          replies.push(Buffer.from(buf.subarray(0, got)));
          bytes += got;
        }
        return bytes >= total;
      }, 'every reply', 10_000);
      const all = Buffer.concat(replies);
      expect(all.length).toBe(total);
      let at = 0;
      for (let i = 0; i < n; i++) {
        expect(all.toString('latin1', at, at + `${i}:`.length)).toBe(`${i}:`);
        at += `${i}:`.length + big.length;
      }
      expect(chat.frames.map((f) => f[0])).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    });
  });
});
