// The RESP example against a peer that pipelines GETs of a 1 MiB value and never reads (with a
// 4 KiB receive buffer): the server's memory stays bounded by its output limits, and another
// client's PING is still answered promptly. Before output limits, the server's RSS grew by
// gigabytes in seconds and PINGs took over a second. The server runs as a child process in both
// modes, so that its RSS is its own.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AF_INET, SO_RCVBUF, SOL_SOCKET, SOCK_STREAM, Socket } from '../../src/binding/socket';
import { RawClient, startCli } from './helpers';

const MiB = 1024 * 1024;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) * 1024;
}

function bulk(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function withTimeout(p: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(process.platform !== 'linux').each(['blocking', 'attached'])('resp example, a peer that never reads (%s)', (mode) => {
  it('RSS stays within the output limits plus a constant, and PINGs are answered in under 100 ms', async () => {
    const server = await startCli('resp', ['--mode', mode]);
    const hostile = new Socket(AF_INET, SOCK_STREAM);
    const pinger = await RawClient.connect(server.port);
    try {
      const setter = await RawClient.connect(server.port);
      await setter.write(bulk('SET', 'big', 'v'.repeat(MiB)));
      await until(() => setter.text.includes('+OK\r\n'), 'SET big');
      setter.socket.destroy();
      const baseline = rssOf(server.child.pid!);

      hostile.setsockopt(SOL_SOCKET, SO_RCVBUF, 4096);
      hostile.setBlocking(true);
      hostile.connect(['127.0.0.1', server.port]);
      const requests = Buffer.from(bulk('GET', 'big').repeat(2500));  // 2,500 replies: 2.5 GB
      for (let sent = 0; sent < requests.length;) sent += hostile.send(requests.subarray(sent));

      const latencies: number[] = [];
      let peak = baseline;
      for (let i = 0; i < 15; i++) {
        const want = pinger.received.length + 7;
        const t0 = performance.now();
        const answered = new Promise<void>((resolve) => {
          const onData = (): void => {
            if (pinger.received.length < want) return;
            pinger.socket.off('data', onData);
            resolve();
          };
          pinger.socket.on('data', onData);
        });
        await pinger.write('PING\r\n');
        await withTimeout(answered, 5000, 'PONG');
        latencies.push(performance.now() - t0);
        peak = Math.max(peak, rssOf(server.child.pid!));
        await new Promise((r) => setTimeout(r, 100));
      }
      // outputHighWater (4 MiB) plus one reply (1 MiB) queued, the kernel's socket buffers, and
      // the heap's slack: a few tens of MiB, where the unbounded server took gigabytes.
      expect(peak - baseline).toBeLessThan(48 * MiB);
      // Typically a few ms. The machine is shared, so one PING in 15 may meet a busy core: the
      // median must be under 100 ms and none may take the seconds the unbounded server took.
      latencies.sort((a, b) => a - b);
      expect(latencies[7]).toBeLessThan(100);
      expect(latencies[14]).toBeLessThan(1000);
      expect(pinger.text).toBe('+PONG\r\n'.repeat(15));
    } finally {
      hostile.close();
      pinger.socket.destroy();
      await server.stop();
    }
  });
});
