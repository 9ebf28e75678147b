// `--threads N` for every example server: N worker threads (serveThreads), each running the
// example's own main.ts with its own socket map, reactor and listener on the shared port. The
// threads share nothing: each has its own store, chat room or mail counter.
import path from 'node:path';
import { isServedThread, runThread, serveThreads, socketMap, type SocketMap } from '../../src';
import { announce, say, serve, type Cli } from './cli';

/** Where a server is to listen, and in which map. */
export interface ListenAt {
  host: string;
  port: number;
  map: SocketMap;
  reusePort: boolean;
}

const hook = path.join(__dirname, 'ts-hook.cjs');

/**
 * Serves an example: start() creates its server where `at` says and returns the port.
 * `--threads 1` (the default): here, on the global socketMap, announced, then serve(cli.mode).
 * `--threads N`: mainFile (the example's main.ts, `__filename`) runs in N threads, where this
 * same call starts one thread's server (runThread); SIGINT/SIGTERM stop them all. `notes`: lines
 * printed after the "listening on" line.
 */
export async function serveExample(
  name: string, cli: Cli, mainFile: string, start: (at: ListenAt) => number, notes: string[] = [],
): Promise<void> {
  if (isServedThread()) {
    runThread((thread) => start({ host: thread.host, port: thread.port, map: thread.map, reusePort: thread.threads > 1 }));
    return;
  }
  if (cli.threads === 1) {
    announce(name, cli, start({ host: cli.host, port: cli.port, map: socketMap, reusePort: false }));
    for (const line of notes) say(line);
    await serve(cli.mode);
    return;
  }
  try {
    const server = await serveThreads(mainFile, {
      threads: cli.threads, host: cli.host, port: cli.port, mode: cli.mode,
      execArgv: [...process.execArgv, '--require', hook],
      argv: process.argv.slice(2),  // each thread parses the same options
    });
    announce(name, cli, server.port);
    for (const line of notes) say(line);
    await server.closed;
  } catch (err) {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
