#!/usr/bin/env node
// The docs, checked as a new user would meet them (conventions: CONTRIBUTING.md, "Code blocks in
// the docs"):
//   - every ```ts block of README.md, docs/*.md, CONTRIBUTING.md and bench/README.md compiles
//     under strict as a user's file against the PACKED package (npm pack, installed into an
//     empty project), as an ES module, and as CommonJS too where it says `cjs`;
//   - `ts run` blocks run to completion and print their ```text output block; `ts serve` blocks
//     answer what their check comment sends, then stop on SIGINT;
//   - a block marked {"knownFailure": "why"} must still fail: once it compiles, the mark goes;
//   - no relative link of a shipped doc points at something the package does not ship, none
//     of the others at a missing file, no anchor at a missing heading;
//   - CONTRIBUTING.md's file tables name every file of native/ and src/, and nothing else;
//   - the API reference builds from the installed package (docs/typedoc.json), guides included;
//   - the examples run from the installed package (dist/examples: --help, and the RESP one
//     answers a PING).
//
//   node scripts/check-docs.mjs [--json report.json] [--keep] [--only PATTERN] [--tarball FILE]
//
// --json writes the counts as scripts/ci-summary.mjs reads them; --keep leaves the temporary
// project; --only checks the blocks of the docs whose path contains PATTERN (links and tables
// are always checked); --tarball uses a tarball packed earlier (`npm pack`) instead of packing,
// while editing the docs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { consumerProject, install, pack, root, childEnv } from './packed-project.mjs';
import { parseMarkdown } from './docs/markdown.mjs';
import { linkProblems } from './docs/links.mjs';
import { tableProblems } from './docs/tables.mjs';
import { compileBlocks, runToEnd, serveAndProbe, writeBlocks } from './docs/blocks.mjs';

const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : null);
const jsonOut = option('--json') && path.resolve(option('--json'));
const only = option('--only');
const keep = args.includes('--keep');
const work = mkdtempSync(path.join(os.tmpdir(), 'asynchat-docs-'));
const started = Date.now();
const counts = { passed: 0, failed: 0, pending: 0 };

function report(status, what, detail = '') {
  counts[status === 'ok' ? 'passed' : status === 'FAIL' ? 'failed' : 'pending']++;
  console.log(`  ${status.padEnd(5)} ${what}${detail ? `\n${detail.replace(/^/gm, '        ')}` : ''}`);
}

try {
  const docFiles = ['README.md', 'CONTRIBUTING.md', 'bench/README.md',
    ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const parsed = new Map(docFiles.map((f) => [f, parseMarkdown(path.join(root, f))]));

  console.log('== the package, packed as npm publishes it');
  const packed = option('--tarball') ? listTarball(path.resolve(option('--tarball'))) : pack(root, path.join(work, 'tarball'));
  const shipped = new Set(packed.files.map((f) => f.path));
  console.log(`  ${packed.filename}: ${shipped.size} files, ${(packed.size / 1024).toFixed(1)} kB packed`);

  console.log('== links, anchors, and the file tables');
  for (const [rel, doc] of parsed) {
    const problems = linkProblems(rel, doc, parsed, shipped, root);
    report(problems.length ? 'FAIL' : 'ok', `${rel}: ${doc.links.length} links${shipped.has(rel) ? ' (shipped)' : ''}`, problems.join('\n'));
  }
  for (const f of docFiles.filter((f) => f.startsWith('docs/') || f === 'README.md')) {
    if (!shipped.has(f)) report('FAIL', `${f} is not in the package (package.json "files")`);
  }
  {
    const problems = tableProblems('CONTRIBUTING.md', parsed.get('CONTRIBUTING.md'), root);
    report(problems.length ? 'FAIL' : 'ok', 'CONTRIBUTING.md names every file of native/ and src/', problems.join('\n'));
  }

  console.log('== the code blocks, in a project that installed the tarball');
  const project = consumerProject(path.join(work, 'user'), 'docs');
  install(project, packed.tarball);
  const docs = [...parsed].filter(([f]) => only === null || f.includes(only)).map(([file, doc]) => ({ file, blocks: doc.blocks }));
  for (const { file, blocks } of docs) {
    for (const b of blocks.filter((b) => b.check?.setup)) {
      const r = spawnSync('sh', ['-ec', b.code], { cwd: project, encoding: 'utf8', env: childEnv });
      report(r.status === 0 ? 'ok' : 'FAIL', `${file}:${b.line}: setup (${b.lang})`, r.status === 0 ? '' : r.stderr);
    }
  }
  const entries = writeBlocks(project, docs);
  compileBlocks(project, entries);
  for (const e of entries) {
    const where = `${e.file}:${e.block.line}`;
    const what = [...e.block.attrs].filter((a) => a !== 'cjs').join(' ') || 'compiles';
    const errors = e.kinds.flatMap((k) => e.errors[k].map((err) => `${k} ${err.line ?? 'prelude'}: ${err.message}`));
    const known = e.block.check?.knownFailure;
    if (known) {
      if (errors.length) report('known', `${where}: known failure, ${known}`, errors.slice(0, 3).join('\n'));
      else report('FAIL', `${where}: compiles now: remove its knownFailure mark (${known})`);
      continue;
    }
    if (errors.length) {
      report('FAIL', `${where}: does not compile (${e.kinds.join(', ')})`, errors.join('\n'));
      continue;
    }
    for (const kind of e.kinds) {
      const label = `${where}: ${what} (${kind})`;
      try {
        if (e.block.attrs.has('run')) await runToEnd(project, e, kind);
        else if (e.block.attrs.has('serve')) await serveAndProbe(project, e, kind);
        report('ok', label);
      } catch (err) {
        report('FAIL', label, err.message);
      }
    }
  }

  console.log('== the API reference, built from the installed package as the README says');
  {
    const typedoc = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const r = spawnSync(process.execPath, [typedoc, '--options', 'node_modules/asynchat/docs/typedoc.json', '--out', 'asynchat-api',
      '--treatWarningsAsErrors', '--logLevel', 'Warn'], { cwd: project, encoding: 'utf8', env: childEnv });
    const ok = r.status === 0 && existsSync(path.join(project, 'asynchat-api', 'documents', 'porting-from-python.html'));
    report(ok ? 'ok' : 'FAIL', 'typedoc --options node_modules/asynchat/docs/typedoc.json: the reference with the guides', ok ? '' : `${r.stdout}${r.stderr}`);
  }

  console.log('== the examples, run from the installed package');
  const examples = path.join(project, 'node_modules', 'asynchat', 'dist', 'examples');
  for (const name of readdirSync(examples).filter((n) => !['common', 'package.json'].includes(n))) {
    const r = spawnSync(process.execPath, [path.join(examples, name, 'main.js'), '--help'], { encoding: 'utf8', env: childEnv, timeout: 20_000 });
    report(r.status === 0 && r.stdout.includes('usage') ? 'ok' : 'FAIL', `dist/examples/${name}/main.js --help`, r.status === 0 ? '' : r.stderr);
  }
  try {
    await respPing(path.join(examples, 'resp', 'main.js'));
    report('ok', 'dist/examples/resp/main.js serves: PING answered +PONG, SIGINT stops it');
  } catch (err) {
    report('FAIL', 'dist/examples/resp/main.js serves', err.message);
  }

} catch (err) {
  report('FAIL', 'the check itself stopped', err.stack ?? String(err));
}
finish();

/** What pack() says of a tarball packed earlier: its files (and size). */
function listTarball(tarball) {
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n')
    .map((f) => ({ path: f.replace(/^package\//, '') }));
  return { filename: path.basename(tarball), tarball, files, size: statSync(tarball).size };
}

/** Starts the RESP example on a free port, asks PING, and stops it with SIGINT. */
async function respPing(main) {
  const child = spawn(process.execPath, [main, '--port', '0'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    const port = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const m = /listening on [\d.]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      exited.then((code) => reject(new Error(`exited ${code} before listening`)));
    });
    const reply = await new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => sock.write('*1\r\n$4\r\nPING\r\n'));
      sock.on('data', (c) => { sock.destroy(); resolve(c.toString()); });
      sock.on('error', reject);
    });
    if (reply !== '+PONG\r\n') throw new Error(`answered ${JSON.stringify(reply)}`);
    child.kill('SIGINT');
    const code = await exited;
    if (code !== 0) throw new Error(`exited ${code} on SIGINT`);
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
  }
}

function finish() {
  const { passed, failed, pending } = counts;
  console.log(`docs check: ${passed} passed, ${failed} failed, ${pending} known failures (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numPendingTests: pending }));
  if (keep) console.log(`kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
  process.exit(failed > 0 ? 1 : 0);
}
