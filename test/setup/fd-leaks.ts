// Per-file fd leak check (vitest setupFiles): every fd a test file opens must be closed by the
// time its last test has finished. Node closes its own handles (net sockets, child process
// pipes) asynchronously, so the check waits for two turns of the loop first. Files Node opens on
// its own (NODE_EXTRA_CA_CERTS's, read in the background on Node 22 and later) are not counted,
// and each one left out is said (helpers/fds.ts). Linux and the BSDs/macOS only (where open fds
// can be listed); elsewhere it does nothing.
import { afterAll, beforeAll, expect } from 'vitest';
import { canListFds, diffFds, openFds } from '../helpers/fds';

let before: Map<number, string> | undefined;

beforeAll(() => {
  if (canListFds) before = openFds();
});

afterAll(async () => {
  if (!before) return;
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  expect(diffFds(before, openFds()), 'fds this test file left open').toEqual([]);
});
