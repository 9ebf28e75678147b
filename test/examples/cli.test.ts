// The examples' command lines in both modes: they serve, and Ctrl-C (SIGINT) or SIGTERM closes
// every channel and ends the process with status 0 (in blocking mode, loop() returns for the
// signal and serve()'s `finally` closes the channels).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES, RawClient, fdBaseline, root, run, startCli } from './helpers';

const dir = mkdtempSync(path.join(os.tmpdir(), 'asynchat-cli-'));

const cases: Array<{ name: string; args: string[]; send: string; expect: string }> = [
  { name: 'chat', args: [], send: 'nick\n/who\n', expect: '* here: nick\r\n' },
  { name: 'smtp', args: ['--dir', dir], send: 'NOOP\r\n', expect: '250 OK\r\n' },
  { name: 'resp', args: [], send: 'PING\r\n', expect: '+PONG\r\n' },
  { name: 'length-echo', args: [], send: '\0\0\0\x05hello', expect: '\0\0\0\x05hello' },
  { name: 'http', args: [], send: 'GET / HTTP/1.1\r\nHost: t\r\n\r\n', expect: '<h1>Served by asynchat</h1>' },
];

let settle: () => Promise<void>;
beforeAll(() => {
  settle = fdBaseline();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await settle();
});

describe('example command lines', () => {
  const runs = cases.flatMap((c) => MODES.flatMap((mode) => (['SIGINT', 'SIGTERM'] as const).map((signal) => ({ ...c, mode, signal }))));
  it.each(runs)('$name in $mode mode serves, and exits with status 0 on $signal, its connections closed', async ({
    name, args, send, expect: want, mode, signal,
  }) => {
    // attached is the default: no --mode for it
    const server = await startCli(name, mode === 'attached' ? args : [...args, '--mode', mode]);
    try {
      expect(server.output()).toMatch(new RegExp(`^${name}: listening on 127\\.0\\.0\\.1:\\d+ \\(${mode} mode\\)\n`));
      const c = await RawClient.connect(server.port);
      try {
        await c.write(send);
        await c.waitForText(want);
        server.child.kill(signal);
        await c.waitEnd();  // closeAll closed this connection too
      } finally {
        await c.close();
      }
      const code = await new Promise((resolve) => {
        if (server.child.exitCode !== null) resolve(server.child.exitCode);
        else server.child.once('exit', (c) => resolve(c));
      });
      expect(code, server.output()).toBe(0);
    } finally {
      await server.stop();
    }
  });

  it('prints its usage, and refuses an unknown option', async () => {
    const runner = path.join(root, 'examples', 'run.cjs');
    const help = await run(process.execPath, [runner, 'http', '--help']);
    expect([help.code, help.stdout.toString()]).toEqual([0, expect.stringContaining('usage: npm run example:http -- [options]')]);
    const bad = await run(process.execPath, [runner, 'resp', '--nope', '1']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('unknown option --nope')]);
    const which = await run(process.execPath, [runner, 'nope']);
    expect([which.code, which.stderr]).toEqual([2, 'usage: node examples/run.cjs <chat|client|http|length-echo|resp|smtp|syslog> [options]\n']);
  });
});
