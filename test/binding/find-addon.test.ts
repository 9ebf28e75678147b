// Which addon file loads: ASYNCHAT_ADDON first, then a build from source, then a prebuild whose
// platform, arch and libc fit (the names prebuildify writes); when none fits, ERR_ASYNCHAT_NO_ADDON
// says what was looked for and the two ways out. ASYNCHAT_PREBUILD points the search at a
// temporary folder laid out as a package would be.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addonPath } from '../../src/binding/native';
import { addonTarget, findAddon } from '../../src/binding/find-addon';
import { AsynchatError } from '../../src/errors';

const saved = { addon: process.env.ASYNCHAT_ADDON, prebuild: process.env.ASYNCHAT_PREBUILD };
let dir: string;

function restore(name: 'ASYNCHAT_ADDON' | 'ASYNCHAT_PREBUILD', value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function place(relative: string): string {
  const file = path.join(dir, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  copyFileSync(addonPath, file);
  return file;
}

function noAddon(): AsynchatError {
  try {
    findAddon();
  } catch (err) {
    return err as AsynchatError;
  }
  throw new Error('findAddon() found an addon');
}

describe('findAddon', () => {
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'asynchat-find-addon-'));
    writeFileSync(path.join(dir, 'package.json'), '{ "name": "asynchat" }');
    delete process.env.ASYNCHAT_ADDON;
    process.env.ASYNCHAT_PREBUILD = dir;
  });
  afterEach(() => {
    restore('ASYNCHAT_ADDON', saved.addon);
    restore('ASYNCHAT_PREBUILD', saved.prebuild);
    rmSync(dir, { recursive: true, force: true });
  });

  const { platform, arch, libc } = addonTarget();

  it('ASYNCHAT_ADDON wins over everything', () => {
    place('build/Release/asynchat.node');
    process.env.ASYNCHAT_ADDON = 'some/other/asynchat.node';
    expect(findAddon()).toBe(path.resolve('some/other/asynchat.node'));
  });

  it("finds prebuildify's file for this platform, arch and libc", () => {
    place(`prebuilds/other-arch/asynchat.${libc}.node`);
    const fits = place(`prebuilds/${platform}-${arch}/asynchat.${libc}.node`);
    expect(findAddon()).toBe(fits);
  });

  it('prefers a build from source to the prebuild (a forced or fallback compile is what loads)', () => {
    place(`prebuilds/${platform}-${arch}/asynchat.${libc}.node`);
    const built = place('build/Release/asynchat.node');
    expect(findAddon()).toBe(built);
  });

  it('skips a prebuild for another libc, and says what it looked for and the two ways out', () => {
    const other = libc === 'musl' ? 'glibc' : 'musl';
    place(`prebuilds/${platform}-${arch}/asynchat.${other}.node`);
    const err = noAddon();
    expect(err).toBeInstanceOf(AsynchatError);
    expect(err.code).toBe('ERR_ASYNCHAT_NO_ADDON');
    for (const fact of [`platform ${platform}`, `arch ${arch}`, `libc ${libc}`,
      `Node-API ${process.versions.napi}`, `Node ABI ${process.versions.modules}`,
      path.join(dir, 'build', 'Release'), path.join(dir, 'prebuilds', `${platform}-${arch}`),
      `${platform}-${arch}/asynchat.${other}.node`, 'npm rebuild asynchat', 'a platform that has a prebuilt binary']) {
      expect(err.message).toContain(fact);
    }
  });

  it('with nothing at all, says the package has no prebuilt binaries', () => {
    expect(noAddon().message).toContain('no prebuilt binaries');
  });
});
