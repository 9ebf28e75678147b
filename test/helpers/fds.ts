// Counting this process's open file descriptors, to prove that a scenario closes all it opens.
import fs from 'node:fs';
import path from 'node:path';
import { execSync } from 'node:child_process';

const fdDir = fs.existsSync('/proc/self/fd') ? '/proc/self/fd' : fs.existsSync('/dev/fd') ? '/dev/fd' : null;

/** Whether open fds can be listed here (Linux /proc/self/fd, or /dev/fd on macOS and BSDs). */
export const canListFds = fdDir !== null;

function describeFd(fd: number): string | null {
  if (fdDir === '/proc/self/fd') {
    try {
      return fs.readlinkSync(`${fdDir}/${fd}`);
    } catch {
      return null; // closed in the meantime: the directory listing's own fd
    }
  }
  try {
    fs.fstatSync(fd);
    return 'open';
  } catch {
    return null;
  }
}

/** Open fds as a map fd -> what it is ("socket:[123]", "anon_inode:[eventpoll]", a path). */
export function openFds(): Map<number, string> {
  if (fdDir === null) throw new Error('cannot list open fds on this platform');
  const out = new Map<number, string>();
  for (const name of fs.readdirSync(fdDir)) {
    const fd = Number(name);
    const what = describeFd(fd);
    // readdir's own fd shows up in the listing and is gone by the time it is described.
    if (what === null || what.endsWith(`${process.pid}/fd`) || what === '/proc/self/fd') continue;
    out.set(fd, what);
  }
  return out;
}

// Files Node itself opens and closes on a schedule of its own, which no test controls, by path.
// The library opens no file (TLS material reaches it as PEM text), so a file named here cannot
// be one of its leaks; sockets, pipes, epoll and every other kind of fd are always counted.
export function nodesOwnFiles(env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const files = new Map<string, string>();
  const extraCa = env.NODE_EXTRA_CA_CERTS;
  if (extraCa) {
    // Node 22 and later read it in the background once node:tls is loaded (the library imports
    // it), and keep it open for tens of milliseconds: a short test file can end in between.
    const why = 'NODE_EXTRA_CA_CERTS, which Node 22 and later read in the background after node:tls loads';
    files.set(path.resolve(extraCa), why);
    try {
      files.set(fs.realpathSync(extraCa), why);
    } catch {
      // missing: Node warns about it and opens nothing
    }
  }
  return files;
}
const nodesOwn = nodesOwnFiles();
const said = new Set<string>();

/**
 * What `after` has that `before` had not (by fd and by what it is): the leaks. Files Node itself
 * opens (`notOurs`, nodesOwnFiles() by default) are not counted; each one left out is said once,
 * on stdout.
 */
export function diffFds(before: Map<number, string>, after: Map<number, string>, notOurs = nodesOwn): string[] {
  const leaked: string[] = [];
  for (const [fd, what] of after) {
    if (before.get(fd) === what) continue;
    const why = notOurs.get(what);
    if (why === undefined) {
      leaked.push(`${fd} -> ${what}`);
    } else if (!said.has(`${fd} ${what}`)) {
      said.add(`${fd} ${what}`);
      console.info(`fd leak check: not counted: fd ${fd} -> ${what} (${why})`);
    }
  }
  return leaked;
}

/** Runs `scenario` and returns the fds it left open (an empty list when it cleaned up). */
export async function leakedFds(scenario: () => unknown): Promise<string[]> {
  const before = openFds();
  await scenario();
  return diffFds(before, openFds());
}

/** The soft limit on open fds (RLIMIT_NOFILE), from /proc or the shell; Infinity if unknown. */
export function fdLimit(): number {
  try {
    const limits = fs.readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\S+)/m.exec(limits);
    if (m) return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    // not Linux: ask a shell, which inherits our limit
  }
  try {
    const out = execSync('ulimit -n', { encoding: 'utf8', shell: '/bin/sh' }).trim();
    return out === 'unlimited' ? Infinity : Number(out);
  } catch {
    return Infinity;
  }
}
