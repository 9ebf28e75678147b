// examples/chat: the chat room, with Node's net clients, in both run modes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChatRoom } from '../../examples/chat/server';
import { MODES, RawClient, fdBaseline, startCli, startInProcess, type Mode, type Running } from './helpers';

const MAX_BACKLOG = 64 * 1024;
const MAX_LINE = 1024;

function start(mode: Mode): Promise<Running> {
  if (mode === 'blocking') {
    return startCli('chat', ['--mode', 'blocking', '--max-backlog', String(MAX_BACKLOG), '--max-line', String(MAX_LINE)]);
  }
  return Promise.resolve(startInProcess((map) => new ChatRoom({ map, maxBacklog: MAX_BACKLOG, maxLine: MAX_LINE })));
}

describe.each(MODES)('chat example, %s mode', (mode) => {
  let server: Running;
  let settle: () => Promise<void>;
  let clients: RawClient[] = [];

  beforeAll(async () => {
    settle = fdBaseline();
    server = await start(mode);
  });

  afterEach(async () => {
    for (const c of clients) await c.close();
    clients = [];
  });

  afterAll(async () => {
    await server?.stop();
    await settle();
  });

  async function connect(): Promise<RawClient> {
    const c = await RawClient.connect(server.port);
    clients.push(c);
    await c.waitForText('pick a nick:');
    return c;
  }

  async function join(nick: string): Promise<RawClient> {
    const c = await connect();
    await c.write(`${nick}\r\n`);
    await c.waitForText(`* welcome, ${nick}!`);
    return c;
  }

  it('sends each line to the others with the sender\'s nick; /who; /quit', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    await alice.waitForText('* bob joined\r\n');
    const carol = await join('carol');
    expect(carol.text).toContain('* welcome, carol! here: alice, bob\r\n');

    await alice.write('hello, room\n');
    await bob.waitForText('alice: hello, room\r\n');
    await carol.waitForText('alice: hello, room\r\n');
    await alice.write('/who\n');
    await alice.waitForText('* here: alice, bob, carol\r\n');
    expect(alice.text).not.toContain('alice: hello, room');  // not echoed to the sender

    await bob.write('/quit\r\n');
    expect(await bob.waitEnd()).toMatch(/\* bye\r\n$/);
    await alice.waitForText('* bob left\r\n');
    await carol.waitForText('* bob left\r\n');
    await carol.write('/who\n');
    await carol.waitForText('* here: alice, carol\r\n');

    await carol.write('/dance\n');
    await carol.waitForText('* unknown command /dance (try /who or /quit)\r\n');

    // A client that just goes away is announced too.
    await carol.close();
    await alice.waitForText('* carol left\r\n');
  });

  it('asks again for a nick that is malformed or taken', async () => {
    await join('dave');
    const c = await connect();
    await c.write('not a nick!\n');
    await c.waitForText('* a nick is 1 to 20 letters, digits, _ or -; pick another:\r\n');
    await c.write('dave\n');
    await c.waitForText('* dave is taken; pick another:\r\n');
    await c.write('dave2\n');
    await c.waitForText('* welcome, dave2! here: dave\r\n');
  });

  it('ends the session of a client whose line is too long', async () => {
    const erin = await join('erin');
    const frank = await join('frank');
    await frank.write('x'.repeat(MAX_LINE + 100));
    expect(await frank.waitEnd()).toContain(`* line too long (more than ${MAX_LINE} bytes), bye\r\n`);
    await erin.waitForText('* frank left (line too long)\r\n');
  });

  it('drops a client that stops reading, and keeps serving the others meanwhile', async () => {
    const slow = await join('slow');
    slow.socket.pause();  // reads nothing more: the kernel's buffers fill, then the room's queue for it
    const talker = await join('talker');
    const reader = await join('reader');

    // talker sends rounds of 100 lines of 1 KB; the next round goes once reader has them all.
    // Every line reaches reader in order, until slow's backlog passes MAX_BACKLOG.
    const dropped = '* slow was dropped (too far behind)\r\n';
    const filler = 'y'.repeat(1000);
    let sent = 0;
    let bytes = 0;
    const deadline = Date.now() + 15_000;
    while (!reader.text.includes(dropped)) {
      expect(Date.now(), 'slow should have been dropped by now').toBeLessThan(deadline);
      expect(bytes, 'bytes sent before slow was dropped').toBeLessThan(256 * 1024 * 1024);
      let round = '';
      for (let i = 0; i < 100; i++) round += `${sent + i} ${filler}\n`;
      sent += 100;
      bytes += round.length;
      await talker.write(round);
      await reader.waitFor((t) => t.includes(`talker: ${sent - 1} `) || t.includes(dropped), `line ${sent - 1}`);
    }
    await talker.waitForText(dropped);
    await reader.waitForText(`talker: ${sent - 1} `);  // the round that caused the drop, too
    const lines = reader.text.split('\r\n').filter((l) => l.startsWith('talker: ')).map((l) => Number(l.split(' ')[1]));
    expect(lines).toEqual([...Array(sent).keys()]);

    // The room goes on without slow; slow finds its connection closed once it reads again.
    await talker.write('/who\n');
    await talker.waitForText('* here: talker, reader\r\n');
    await reader.write('still here\n');
    await talker.waitForText('reader: still here\r\n');
    slow.socket.resume();
    await slow.waitEnd(10_000);
  });
});
