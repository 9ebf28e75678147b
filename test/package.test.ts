// The published entry points: CommonJS and ESM both load the built package (dist/, made by
// `npm run build:ts`, which `npm test` runs first), and share one set of classes and one
// socketMap rather than two copies that do not know each other.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const built = existsSync(path.join(root, 'dist', 'cjs', 'index.js'));

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 15_000 }).trim();
}

describe.skipIf(!built)('package entry points', () => {
  it('loads through require()', () => {
    const out = run(['-e', `
      const a = require('asynchat');
      console.log([typeof a.AsyncChat, typeof a.Dispatcher, typeof a.loop, a.socketMap instanceof Map, typeof a.asyncore.loop, typeof a.asynchat.AsyncChat].join(','));
    `]);
    expect(out).toBe('function,function,function,true,function,function');
  });

  it('loads through import, sharing one socketMap with require()', () => {
    const out = run(['--input-type=module', '-e', `
      import { createRequire } from 'node:module';
      import def, { AsyncChat, socketMap, loopAsync } from 'asynchat';
      const cjs = createRequire(import.meta.url)('asynchat');
      console.log([typeof AsyncChat, typeof loopAsync, socketMap === cjs.socketMap, AsyncChat === cjs.AsyncChat, def.socketMap === socketMap].join(','));
    `]);
    expect(out).toBe('function,function,true,true,true');
  });

  it('ships type declarations for both', () => {
    expect(existsSync(path.join(root, 'dist', 'cjs', 'index.d.ts'))).toBe(true);
    expect(existsSync(path.join(root, 'dist', 'esm', 'index.d.mts'))).toBe(true);
  });
});
