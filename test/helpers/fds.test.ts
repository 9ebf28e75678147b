// The fd leak check counts every fd a scenario leaves open except the files Node itself opens on
// a schedule of its own (NODE_EXTRA_CA_CERTS's, read in the background on Node 22 and later):
// those are left out and said; sockets and every other file are counted.
import { closeSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canListFds, diffFds, nodesOwnFiles, openFds } from './fds';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'asynchat-fds-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('nodesOwnFiles', () => {
  it('names NODE_EXTRA_CA_CERTS by its path and by the file a link points at', () => {
    const ca = path.join(dir, 'extra-ca.pem');
    writeFileSync(ca, '');
    const link = path.join(dir, 'link.pem');
    symlinkSync(ca, link);
    const files = nodesOwnFiles({ NODE_EXTRA_CA_CERTS: link });
    expect([...files.keys()].sort()).toEqual([ca, link].sort());
    expect(files.get(ca)).toContain('NODE_EXTRA_CA_CERTS');
  });

  it('is empty without NODE_EXTRA_CA_CERTS', () => {
    expect(nodesOwnFiles({}).size).toBe(0);
  });
});

describe.skipIf(!canListFds)('diffFds', () => {
  it("leaves out Node's own file, says so once, and counts a socket and any other file", async () => {
    const ca = path.join(dir, 'extra-ca.pem');
    const other = path.join(dir, 'other.pem');
    writeFileSync(ca, '');
    writeFileSync(other, '');
    const notOurs = nodesOwnFiles({ NODE_EXTRA_CA_CERTS: ca });
    const said = vi.spyOn(console, 'info').mockImplementation(() => {});

    const before = openFds();
    const caFd = openSync(ca, 'r');
    const otherFd = openSync(other, 'r');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const leaks = diffFds(before, openFds(), notOurs);
      expect(leaks).toContain(`${otherFd} -> ${other}`);
      expect(leaks.some((l) => l.startsWith(`${caFd} `))).toBe(false);
      expect(leaks.some((l) => /socket:\[/.test(l))).toBe(true);
      diffFds(before, openFds(), notOurs);
      expect(said).toHaveBeenCalledTimes(1);
      expect(String(said.mock.calls[0][0])).toContain(`fd ${caFd} -> ${ca} (NODE_EXTRA_CA_CERTS`);
    } finally {
      closeSync(caFd);
      closeSync(otherFd);
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
