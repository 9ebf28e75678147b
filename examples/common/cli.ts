// What the examples' command lines share: options, the "listening on" line, and the two ways
// to run a socket map.
import { writeSync } from 'node:fs';
import { closeAll, loop, loopAsync, socketMap, type SocketMap } from '../../src';

export type Mode = 'blocking' | 'attached';

export interface Cli {
  host: string;
  port: number;
  mode: Mode;
  /** --idle-timeout in seconds (0: off), or null when not given (each example has its default). */
  idleTimeout: number | null;
  /** `--threads N` (default 1): threads serving the example, each with its own listener (examples/common/threads.ts). */
  threads: number;
  /** The other `--name value` (or `--name=value`) options, by name. */
  options: Map<string, string>;
  /** Arguments that are not options (after `--`, everything is). */
  args: string[];
}

/**
 * Reads `--host`, `--port`, `--mode` and the options named in `known`. Prints `usage` and exits
 * on `--help` (status 0) or on a mistake (status 2).
 */
export function parseArgs(usage: string, known: string[] = [], argv = process.argv.slice(2)): Cli {
  const fail = (message: string): never => {
    process.stderr.write(`${message}\n\n${usage}`);
    process.exit(2);
  };
  const cli: Cli = { host: '127.0.0.1', port: 0, mode: 'attached', idleTimeout: null, threads: 1, options: new Map(), args: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      cli.args.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      cli.args.push(arg);
      continue;
    }
    if (arg === '--help') {
      process.stdout.write(usage);
      process.exit(0);
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) fail(`--${name} needs a value`);
    if (name === 'host') cli.host = value;
    else if (name === 'port') {
      cli.port = Number(value);
      if (!Number.isInteger(cli.port) || cli.port < 0 || cli.port > 65535) fail(`bad --port: ${value}`);
    } else if (name === 'mode') {
      if (value !== 'blocking' && value !== 'attached') fail(`--mode is blocking or attached, not ${value}`);
      cli.mode = value as Mode;
    } else if (name === 'idle-timeout') {
      cli.idleTimeout = secondsValue(value, name, fail);
    } else if (name === 'threads') {
      cli.threads = Number(value);
      if (!Number.isInteger(cli.threads) || cli.threads < 1 || cli.threads > 1024) fail(`bad --threads: ${value}`);
    } else if (known.includes(name)) cli.options.set(name, value);
    else fail(`unknown option --${name}`);
  }
  return cli;
}

function secondsValue(raw: string, name: string, fail: (message: string) => never): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0) fail(`--${name} needs a number of seconds (0: off), not ${raw}`);
  return n;
}

/** --idle-timeout, or `fallback` when it was not given; null when it is off (0). */
export function idleTimeoutOf(cli: Cli, fallback: number | null): number | null {
  const seconds = cli.idleTimeout ?? fallback;
  return seconds === null || seconds === 0 ? null : seconds;
}

/** A number of seconds >= 0 (fractions allowed), or `fallback` when the option is absent. */
export function secondsOption(cli: Cli, name: string, fallback: number): number {
  const raw = cli.options.get(name);
  if (raw === undefined) return fallback;
  return secondsValue(raw, name, (message) => {
    process.stderr.write(`${message}\n`);
    process.exit(2);
  });
}

/** A non-negative integer option, or `fallback` when it is absent. */
export function intOption(cli: Cli, name: string, fallback: number): number {
  const raw = cli.options.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`--${name} needs a non-negative integer, not ${raw}\n`);
    process.exit(2);
  }
  return n;
}

/**
 * The line tests and scripts wait for: `<name>: listening on <host>:<port> (<mode> mode)`, with
 * `, <N> threads` after the mode when there are more than one.
 * Written synchronously, as blocking mode never lets Node flush an asynchronous write.
 */
export function announce(name: string, cli: Cli, port: number): void {
  say(`${name}: listening on ${cli.host}:${port} (${cli.mode} mode${cli.threads > 1 ? `, ${cli.threads} threads` : ''})`);
}

/** A line on stdout, written at once (in blocking mode, an asynchronous write would wait). */
export function say(line: string): void {
  writeSync(1, `${line}\n`);
}

/**
 * Serves the map until it is empty, or until SIGINT (Ctrl-C) or SIGTERM, which close every
 * channel (closeAll): the process then exits with status 0.
 *
 * blocking: loop(), as Python's asyncore.loop(). Node's own event loop waits meanwhile, but
 *   loop() returns as soon as a signal the program listens for arrives (as Python's raises
 *   KeyboardInterrupt), and the `finally` closes the channels still open.
 * attached: loopAsync(), Node's loop watches the reactor: the listener's closeAll() empties the
 *   map, which resolves the promise.
 */
export async function serve(mode: Mode, map: SocketMap = socketMap): Promise<void> {
  const stop = (): void => closeAll(map, true);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    if (mode === 'blocking') loop(30, false, map);
    else await loopAsync({ map });
  } finally {
    closeAll(map, true);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
