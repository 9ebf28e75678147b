// `--threads N` on the example command lines: `node examples/run.cjs resp --threads 2` serves one
// port from two listeners (two threads, each with its own store), in both modes, and SIGINT
// stops both threads and ends the process with status 0.
import { describe, expect, it } from 'vitest';
import { canReusePort, listenersOn } from '../helpers/threads';
import { MODES, RawClient, run, root, startCli } from './helpers';
import path from 'node:path';

async function incr(port: number): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    await c.write('*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n');
    return (await c.waitFor((t) => t.endsWith('\r\n'), 'the INCR reply')).trim();
  } finally {
    await c.close();
  }
}

describe.skipIf(!canReusePort)('example servers on two threads', () => {
  for (const mode of MODES) {
    it(`resp --threads 2 (${mode}): two listeners on one port, both serving; SIGINT ends it cleanly`, async () => {
      const server = await startCli('resp', ['--threads', '2', '--mode', mode], 30_000);
      try {
        expect(server.output()).toMatch(new RegExp(`^resp: listening on 127\\.0\\.0\\.1:${server.port} \\(${mode} mode, 2 threads\\)\n`));
        if (process.platform === 'linux') expect(listenersOn(server.port)).toBe(2);
        // Each thread has its own store: 48 connections each INCR the same key once; ":1" comes
        // back once per thread that took some (all 48 on one thread: a chance of 2^-47).
        const replies: string[] = [];
        for (let i = 0; i < 48; i++) replies.push(await incr(server.port));
        expect(replies.every((r) => /^:\d+$/.test(r)), replies.join(' ')).toBe(true);
        expect(replies.filter((r) => r === ':1')).toHaveLength(2);
        server.child.kill('SIGINT');
        const code = await new Promise((resolve) => {
          if (server.child.exitCode !== null) resolve(server.child.exitCode);
          else server.child.once('exit', (c) => resolve(c));
        });
        expect(code, server.output()).toBe(0);
        if (process.platform === 'linux') expect(listenersOn(server.port)).toBe(0);
      } finally {
        await server.stop();
      }
    });
  }

  it('refuses --threads 0', async () => {
    const bad = await run(process.execPath, [path.join(root, 'examples', 'run.cjs'), 'chat', '--threads', '0']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('bad --threads: 0')]);
  });
});
