// The examples' timeouts, through their command lines in both run modes: --idle-timeout closes
// a client that stalls mid-request; http's --header-timeout answers 408 to a head that
// trickles in (which re-arms the idle timeout with every byte); smtp's --data-timeout answers
// 421 to a message that does.
import { afterEach, describe, expect, it } from 'vitest';
import { MODES, RawClient, startCli, type Running } from './helpers';

let running: Running | null = null;
let client: RawClient | null = null;

afterEach(async () => {
  await client?.close();
  client = null;
  await running?.stop();
  running = null;
});

/** Sends `piece` every `everyMs` until the server closes (or `maxMs` passes). */
async function trickle(c: RawClient, piece: string, everyMs: number, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs;
  while (!c.ended && Date.now() < end) {
    c.socket.write(piece);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe.each(MODES)('%s mode', (mode) => {
  it.each([
    ['resp', '*1\r\n$4\r\nPI'],
    ['chat', 'half a li'],
    ['smtp', 'HEL'],
    ['http', 'GET / HT'],
  ])('%s: --idle-timeout 0.3 closes a client that stalls mid-request', async (name, half) => {
    running = await startCli(name, ['--mode', mode, '--idle-timeout', '0.3']);
    client = await RawClient.connect(running.port);
    const t0 = Date.now();
    client.socket.write(half);
    await client.waitEnd(5000);
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(3000);
  });

  it('resp: --idle-timeout 0 keeps a silent client', async () => {
    running = await startCli('resp', ['--mode', mode, '--idle-timeout', '0']);
    client = await RawClient.connect(running.port);
    await new Promise((r) => setTimeout(r, 600));
    client.socket.write('PING\r\n');
    await client.waitForText('+PONG\r\n');
  });

  it('http: --header-timeout answers 408 to a head that trickles in', async () => {
    running = await startCli('http', ['--mode', mode, '--header-timeout', '0.4', '--idle-timeout', '5']);
    client = await RawClient.connect(running.port);
    const t0 = Date.now();
    client.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    await trickle(client, 'X', 100, 5000);
    const ms = Date.now() - t0;
    expect(client.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(3000);
  });

  it('smtp: --data-timeout answers 421 to a message that trickles in', async () => {
    running = await startCli('smtp', ['--mode', mode, '--data-timeout', '0.4', '--idle-timeout', '5']);
    client = await RawClient.connect(running.port);
    await client.waitForText('220 ');
    client.socket.write('HELO me\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n');
    await client.waitForText('354 ');
    const t0 = Date.now();
    await trickle(client, 'x', 100, 5000);
    const ms = Date.now() - t0;
    expect(client.text).toMatch(/421 4\.4\.2 .*timeout/);
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(3000);
  });
});
