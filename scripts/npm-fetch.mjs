// One package from the npm registry, unpacked into a folder of its own and checked against an
// integrity known in advance (pinned in a script, or package-lock.json's), for what must not be
// a dependency of this package: official Node binaries (scripts/node-dist.mjs), the arm64 native
// bindings of the test tools (scripts/emulation.mjs). Downloaded with the npm client (its cache,
// its registry configuration); a folder already unpacked is not fetched again.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Unpacks `spec` ("name@version") into `dir` unless done before; `integrity` is the expected
 * dist.integrity; `only` limits what is unpacked to those paths inside the package (all if
 * omitted). `scratch` holds the tarball while it is checked. Returns `dir`.
 */
export function fetchPackage({ spec, integrity, dir, scratch, only = [] }) {
  const stamp = path.join(dir, '.fetched');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === `${spec} ${integrity}\n`) return dir;

  mkdirSync(scratch, { recursive: true });
  console.log(`npm-fetch: downloading ${spec} (npm pack)`);
  const r = spawnSync('npm', ['pack', spec, '--pack-destination', scratch, '--json', '--silent'], { cwd: scratch, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm pack ${spec} failed (${r.status ?? r.signal}): ${r.stderr.trim()}`);
  const tgz = path.join(scratch, JSON.parse(r.stdout)[0].filename);
  const got = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  if (got !== integrity) {
    rmSync(tgz, { force: true });
    throw new Error(`${spec}: integrity ${got}, expected ${integrity}`);
  }
  // Unpacked beside its final name and renamed into place, so an interrupted run leaves no
  // half folder that a later run would take for complete.
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const members = only.map((p) => `package/${p}`);
  const tar = spawnSync('tar', ['-xzf', tgz, '-C', partial, '--strip-components=1', ...members], { encoding: 'utf8' });
  rmSync(tgz, { force: true }); // npm's own cache keeps a copy
  if (tar.status !== 0) throw new Error(`unpacking ${spec} failed: ${tar.stderr.trim()}`);
  writeFileSync(path.join(partial, '.fetched'), `${spec} ${integrity}\n`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  renameSync(partial, dir);
  return dir;
}
