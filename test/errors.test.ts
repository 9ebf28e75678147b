// The coded errors: every ERR_ASYNCHAT_* code that the sources can raise is in ERROR_CODES
// (src/errors.ts), and the error guide's table (docs/errors.md) lists exactly those, so neither
// can drift.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AsynchatError, ERROR_CODES, asynchatError } from '../src/errors';

const root = path.resolve(__dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return /\.(ts|cc|h)$/.test(name) ? [file] : [];
  });
}

const CODE = /ERR_ASYNCHAT_[A-Z0-9_]+/g;

describe('error codes', () => {
  it('every code in src/ and native/ is registered, and every registered code is raised somewhere', () => {
    const raised = new Set<string>();
    for (const file of [...sourceFiles(path.join(root, 'src')), ...sourceFiles(path.join(root, 'native'))]) {
      const text = readFileSync(file, 'utf8');
      const body = file.endsWith(path.join('src', 'errors.ts')) ? '' : text;
      for (const m of body.matchAll(CODE)) raised.add(m[0]);
    }
    expect([...raised].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it("the error guide's table (docs/errors.md) lists exactly the registered codes", () => {
    const guide = readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8');
    const section = guide.slice(guide.indexOf('## Error codes'));
    const table = section.slice(0, section.indexOf('\n## ') > 0 ? section.indexOf('\n## ') : undefined);
    const listed = [...table.matchAll(/^\| `(ERR_ASYNCHAT_[A-Z0-9_]+)`/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('asynchatError makes an AsynchatError, or a TypeError with the same code', () => {
    const e = asynchatError('ERR_ASYNCHAT_BACKEND', 'no such backend');
    expect(e).toBeInstanceOf(AsynchatError);
    expect(e.code).toBe('ERR_ASYNCHAT_BACKEND');
    expect(e.message).toBe('no such backend');
    const t = asynchatError('ERR_ASYNCHAT_BAD_TERMINATOR', 'not a terminator', 'TypeError');
    expect(t).toBeInstanceOf(TypeError);
    expect(t.code).toBe('ERR_ASYNCHAT_BAD_TERMINATOR');
  });
});
