#!/usr/bin/env node
// Builds test/fuzz/framer_fuzz.cc with libFuzzer, AddressSanitizer and UBSan (clang, Debian:
// apt-get install clang-14 libfuzzer-14-dev) into build-fuzz/, and runs it for the seconds given
// (default 60) on the seeds in test/fuzz/seeds/. Not part of the addon's build or of npm test.
//
//   node scripts/fuzz-framers.mjs [seconds] [-- libFuzzer options]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build-fuzz');
const clang = ['clang++', 'clang++-19', 'clang++-16', 'clang++-15', 'clang++-14']
  .find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
if (clang === undefined) {
  process.stderr.write('fuzz-framers: no clang++ found (Debian: apt-get install clang-14 libfuzzer-14-dev)\n');
  process.exit(2);
}
const dash = process.argv.indexOf('--');
const seconds = Number(process.argv[2] && process.argv[2] !== '--' ? process.argv[2] : 60);
const extra = dash >= 0 ? process.argv.slice(dash + 1) : [];
mkdirSync(path.join(out, 'corpus'), { recursive: true });
const binary = path.join(out, 'framer_fuzz');
const sources = [path.join(root, 'test', 'fuzz', 'framer_fuzz.cc'),
  ...['framer.cc', 'framer_resp.cc', 'framer_length.cc', 'framer_netstring.cc'].map((f) => path.join(root, 'native', f))];
execFileSync(clang, ['-std=c++17', '-g', '-O1', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=undefined',
  ...sources, '-o', binary], { stdio: 'inherit' });
const r = spawnSync(binary, [`-max_total_time=${seconds}`, '-max_len=512', `-artifact_prefix=${out}/`, ...extra, path.join(out, 'corpus'),
  path.join(root, 'test', 'fuzz', 'seeds')], { stdio: 'inherit' });
process.exit(r.status ?? 1);
