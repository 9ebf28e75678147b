// Per-file check of OpenSSL objects (vitest setupFiles): once a test file's last test has
// finished, no SSL object may be alive in its addon instance (stats().tlsConnections). A TLS
// channel frees its SSL object when it closes, so a count left over is a channel that a test or
// the library forgot, or an SSL object the library leaked. An addon built without TLS, or one
// that does not load (the tests of the loader's errors), has nothing to count.
import { afterAll, expect } from 'vitest';

afterAll(async () => {
  let stats: { tlsConnections?: number } | undefined;
  try {
    const { native } = await import('../../src/binding/native');
    stats = native.stats();
  } catch {
    return;
  }
  expect(stats.tlsConnections ?? 0, 'SSL objects this test file left alive').toBe(0);
});
