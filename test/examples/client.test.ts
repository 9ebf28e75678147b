// examples/client: the RESP client, in this process (attached mode) and as a command line in
// both modes, against the resp example in both modes; a refused connection and a reset.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RespClient, RespError, formatReply } from '../../examples/client/resp-client';
import { RespServer } from '../../examples/resp/server';
import { loopAsync, type SocketMap } from '../../src';
import { MODES, fdBaseline, root, run, startCli, startInProcess, type Mode, type Running } from './helpers';

function startServer(mode: Mode): Promise<Running> {
  if (mode === 'blocking') return startCli('resp', ['--mode', 'blocking']);
  return Promise.resolve(startInProcess((map) => new RespServer({ map })));
}

/** A client on a map of its own, served by loopAsync until the client is closed. */
function attachedClient(port: number): { client: RespClient; served: Promise<void> } {
  const map: SocketMap = new Map();
  const client = new RespClient(port, '127.0.0.1', map);
  return { client, served: loopAsync({ map }) };
}

/** A port nothing listens on. */
async function unusedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const clientCli = (args: string[]) => run(process.execPath, [`${root}/examples/run.cjs`, 'client', ...args]);

let settle: () => Promise<void>;
beforeAll(() => {
  settle = fdBaseline();
});
afterAll(async () => {
  await settle();
});

describe.each(MODES)('resp client against the resp example in %s mode', (mode) => {
  let server: Running;

  beforeAll(async () => {
    server = await startServer(mode);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('sends commands (before the connection is even made) and gets typed replies', async () => {
    const { client, served } = attachedClient(server.port);
    const value = Buffer.from('\0\r\n$2\r\n\xff', 'latin1');
    const replies = [
      client.command('PING'),
      client.command('SET', `c:${mode}:bin`, value),
      client.command('GET', `c:${mode}:bin`),
      client.command('GET', `c:${mode}:none`),
      client.command('MSET', `c:${mode}:a`, 1, `c:${mode}:b`, 2),
      client.command('MGET', `c:${mode}:a`, `c:${mode}:none`, `c:${mode}:b`),
      client.command('EXISTS', `c:${mode}:a`, `c:${mode}:b`, `c:${mode}:c`),
    ];
    await client.ready;
    expect(await Promise.all(replies)).toEqual([
      'PONG', 'OK', value, null, 'OK', [Buffer.from('1'), null, Buffer.from('2')], 2,
    ]);
    const bad = client.command('INCR', `c:${mode}:bin`);
    await expect(bad).rejects.toBeInstanceOf(RespError);
    await expect(bad).rejects.toThrow('ERR value is not an integer or out of range');
    // 1000 commands in flight at once: pipelined, answered in order.
    const incrs = await Promise.all(Array.from({ length: 1000 }, () => client.command('INCR', `c:${mode}:n`)));
    expect(incrs).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    await client.quit();
    await served;
    await expect(client.command('PING')).rejects.toMatchObject({ code: 'ERR_CONNECTION_CLOSED' });
  });

  it.each(MODES)('works as a command line in %s mode', async (clientMode) => {
    const r = await clientCli(['--port', String(server.port), '--mode', clientMode,
      'SET', `cli:${clientMode}`, '41', ';', 'INCR', `cli:${clientMode}`, ';', 'MGET', `cli:${clientMode}`, 'none', ';', 'NOPE']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(
      "OK\n(integer) 42\n1) \"42\"\n2) (nil)\n(error) ERR unknown command 'NOPE', with args beginning with: \n",
    );
  });
});

describe('resp client failures', () => {
  it('rejects with ECONNREFUSED when nothing listens', async () => {
    const { client, served } = attachedClient(await unusedPort());
    const reply = client.command('PING');
    await expect(client.ready).rejects.toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
    await expect(reply).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(client.command('PING')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await served;  // the map is empty: the client closed itself
    await client.done;
  });

  it.each(MODES)('the command line reports a refused connection in %s mode', async (clientMode) => {
    const r = await clientCli(['--port', String(await unusedPort()), '--mode', clientMode, 'PING']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: ECONNREFUSED: connection refused, connect 127\.0\.0\.1:\d+\n$/);
  });

  it.each(['reset', 'closed'] as const)('rejects the commands awaiting replies when the connection is %s', async (how) => {
    // A server that reads a command, then resets (RST) or closes (FIN) without replying.
    const peers: net.Socket[] = [];
    const server = net.createServer((sock) => {
      peers.push(sock);
      sock.once('data', () => (how === 'reset' ? sock.resetAndDestroy() : sock.end()));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { client, served } = attachedClient((server.address() as net.AddressInfo).port);
      const replies = [client.command('GET', 'a'), client.command('GET', 'b')];
      await client.ready;
      for (const reply of replies) {
        await expect(reply).rejects.toMatchObject({ code: 'ERR_CONNECTION_CLOSED', message: 'connection closed with 2 command(s) unanswered' });
      }
      await expect(client.command('PING')).rejects.toMatchObject({ code: 'ERR_CONNECTION_CLOSED' });
      await served;
      await client.done;
    } finally {
      for (const p of peers) p.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('formatReply', () => {
  it('prints replies as redis-cli does', () => {
    expect(formatReply([Buffer.from('a"\\\x00\xff', 'latin1'), 3, null, [], ['x', [Buffer.from('y')]]])).toBe(
      '1) "a\\"\\\\\\x00\\xff"\n2) (integer) 3\n3) (nil)\n4) (empty array)\n5) 1) x\n   2) 1) "y"',
    );
    expect(formatReply(new RespError('ERR no'))).toBe('(error) ERR no');
  });
});
