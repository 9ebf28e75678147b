// Which addon file loads: ASYNCHAT_ADDON first, then a build from source, then a prebuild whose
// platform, arch and libc fit (the names prebuildify writes); when none fits, ERR_ASYNCHAT_NO_ADDON
// says what was looked for and the two ways out. ASYNCHAT_PREBUILD points the search at a
// temporary folder laid out as a package would be. musl is simulated twice over: detect-libc
// answering musl while node-gyp-build (which looks for /etc/alpine-release only) takes the system
// for glibc, and LIBC=musl, which node-gyp-build reads too. Another CPU is simulated with
// npm_config_arch, which node-gyp-build reads when it loads (so it is loaded afresh for it).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { addonPath } from '../../src/binding/native';
import { addonTarget, findAddon } from '../../src/binding/find-addon';
import { AsynchatError } from '../../src/errors';

const saved = { addon: process.env.ASYNCHAT_ADDON, prebuild: process.env.ASYNCHAT_PREBUILD, libc: process.env.LIBC };
let dir: string;

function restore(name: 'ASYNCHAT_ADDON' | 'ASYNCHAT_PREBUILD' | 'LIBC', value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

// The very modules find-addon.ts requires (one CommonJS cache).
const requireLoader = createRequire(path.join(__dirname, '..', '..', 'src', 'binding', 'find-addon.ts'));
const detectLibc = requireLoader('detect-libc') as { familySync(): string | null };

/** Runs fn with node-gyp-build loaded afresh under `env` (it reads arch and libc when it loads). */
function withFreshNodeGypBuild<T>(env: Record<string, string>, fn: () => T): T {
  const pkg = path.dirname(requireLoader.resolve('node-gyp-build/package.json')) + path.sep;
  const ids = Object.keys(requireLoader.cache).filter((id) => id.startsWith(pkg));
  const cached = ids.map((id) => [id, requireLoader.cache[id]] as const);
  const forget = (): void => {
    for (const id of Object.keys(requireLoader.cache)) if (id.startsWith(pkg)) delete requireLoader.cache[id];
  };
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  forget();
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    forget();
    for (const [id, mod] of cached) requireLoader.cache[id] = mod;
  }
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
    vi.restoreAllMocks();
    restore('ASYNCHAT_ADDON', saved.addon);
    restore('ASYNCHAT_PREBUILD', saved.prebuild);
    restore('LIBC', saved.libc);
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

  it('picks the linux-arm64 prebuild on arm64, and the x64 one on x64', () => {
    if (platform !== 'linux') return;
    const arm64 = place('prebuilds/linux-arm64/asynchat.glibc.node');
    const x64 = place('prebuilds/linux-x64/asynchat.glibc.node');
    delete process.env.LIBC;
    vi.spyOn(detectLibc, 'familySync').mockReturnValue('glibc');
    expect(withFreshNodeGypBuild({ npm_config_arch: 'arm64' }, findAddon)).toBe(arm64);
    expect(withFreshNodeGypBuild({ npm_config_arch: 'x64' }, findAddon)).toBe(x64);
  });

  describe('on musl', () => {
    function glibcOnly(): void {
      place(`prebuilds/${platform}-${arch}/asynchat.glibc.node`);
    }
    function expectMuslAdvice(err: AsynchatError): void {
      expect(err).toBeInstanceOf(AsynchatError);
      expect(err.code).toBe('ERR_ASYNCHAT_NO_ADDON');
      for (const fact of ['libc musl', 'built for glibc', 'apk add python3 make g++', 'npm rebuild asynchat',
        `${platform}-${arch}/asynchat.glibc.node`]) {
        expect(err.message).toContain(fact);
      }
    }

    it('never loads the glibc prebuild where detect-libc finds musl but node-gyp-build sees no Alpine', () => {
      if (platform !== 'linux') return;
      glibcOnly();
      delete process.env.LIBC;
      const familySync = vi.spyOn(detectLibc, 'familySync').mockReturnValue('musl');
      expectMuslAdvice(noAddon());
      expect(familySync).toHaveBeenCalled();
    });

    it('never loads it under LIBC=musl, which node-gyp-build obeys too', () => {
      if (platform !== 'linux') return;
      glibcOnly();
      const err = withFreshNodeGypBuild({ LIBC: 'musl' }, noAddon);
      expectMuslAdvice(err);
    });

    it('loads a build from source (compiled here, for musl)', () => {
      if (platform !== 'linux') return;
      glibcOnly();
      const built = place('build/Release/asynchat.node');
      delete process.env.LIBC;
      vi.spyOn(detectLibc, 'familySync').mockReturnValue('musl');
      expect(findAddon()).toBe(built);
    });

    it('loads a prebuild tagged musl', () => {
      if (platform !== 'linux') return;
      glibcOnly();
      const musl = place(`prebuilds/${platform}-${arch}/asynchat.musl.node`);
      expect(withFreshNodeGypBuild({ LIBC: 'musl' }, findAddon)).toBe(musl);
    });
  });
});
