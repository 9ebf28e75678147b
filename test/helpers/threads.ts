// What the thread tests share: whether this platform can run serveThreads() on more than one
// thread, and the listening sockets of a port as the kernel lists them.
import fs from 'node:fs';
import { reusePortOption } from '../../src/threads';

export const canReusePort = (() => {
  try {
    reusePortOption();
    return true;
  } catch {
    return false;
  }
})();

/** Listening TCP sockets on `port` in this network namespace (Linux: /proc/net/tcp). */
export function listenersOn(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)
    .filter((line) => {
      const f = line.trim().split(/\s+/);
      return f.length > 3 && f[1].endsWith(`:${hex}`) && f[3] === '0A';
    }).length;
}
