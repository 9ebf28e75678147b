// Every test file runs once per backend: epoll and poll here (kqueue where it is native, or
// on Linux against an emulation library: scripts/test-backends.mjs). ASYNCHAT_TEST_BACKENDS
// narrows the list, e.g. ASYNCHAT_TEST_BACKENDS=poll.
import { defineConfig } from 'vitest/config';
import { createRequire } from 'node:module';

function testBackends(): string[] {
  if (process.env.ASYNCHAT_TEST_BACKENDS) return process.env.ASYNCHAT_TEST_BACKENDS.split(',');
  const addon = process.env.ASYNCHAT_ADDON ?? './build/Release/asynchat.node';
  try {
    const built: string[] = createRequire(import.meta.url)(addon.startsWith('/') ? addon : `./${addon.replace(/^\.\//, '')}`).backends.split(',');
    // An emulated kqueue (Linux) runs only when asked for by name.
    return process.platform === 'linux' ? built.filter((b) => b !== 'kqueue') : built;
  } catch {
    return ['poll'];
  }
}

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // Each test file must close every fd it opened and free every SSL object it made.
    setupFiles: ['./test/setup/fd-leaks.ts', './test/setup/tls-leaks.ts'],
    projects: testBackends().map((backend) => ({
      extends: true,
      test: {
        name: backend,
        include: ['test/**/*.test.ts'],
        env: { ASYNCHAT_BACKEND: backend, ASYNCHAT_DEBUG: '1' },
      },
    })),
  },
});
