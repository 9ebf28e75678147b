// The docs' TypeScript blocks as a user's files: written into a consumer project that installed
// the packed package, compiled by tsc under the settings `tsc --init` writes (TypeScript 5.9:
// strict, noUncheckedIndexedAccess, exactOptionalPropertyTypes, module nodenext...), then run.
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { childEnv, tsc, typeRoots } from '../packed-project.mjs';

// What `npx tsc --init` writes with TypeScript 5.9, less what only matters for JSX and for
// libraries, and with `types: ["node"]` (--init writes [], with which Buffer is unknown: the
// README's install section says to add it).
const USER_OPTIONS = {
  module: 'nodenext', target: 'esnext', types: ['node'], sourceMap: true,
  noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, strict: true,
  verbatimModuleSyntax: true, isolatedModules: true, noUncheckedSideEffectImports: true,
  moduleDetection: 'force', skipLibCheck: true,
};
// A CommonJS project (npm init's "type": "commonjs") cannot keep verbatimModuleSyntax and write
// `import` (TS1295): the README says to turn it off there.
const KINDS = {
  esm: { ext: '.mts', out: '.mjs', options: USER_OPTIONS },
  cjs: { ext: '.cts', out: '.cjs', options: { ...USER_OPTIONS, verbatimModuleSyntax: false } },
};

/**
 * Writes every TypeScript block into project/blocks/ (b<N>.mts, and b<N>.cts for `cjs`
 * blocks), each preceded by its prelude. Returns one entry per block.
 */
export function writeBlocks(project, docs) {
  mkdirSync(path.join(project, 'blocks'), { recursive: true });
  const entries = [];
  for (const { file, blocks } of docs) {
    for (const block of blocks) {
      if (block.lang !== 'ts') continue;
      const id = `b${entries.length}`;
      const kinds = block.attrs.has('cjs') ? ['esm', 'cjs'] : ['esm'];
      const preludeLines = block.prelude === '' ? 0 : block.prelude.split('\n').length - 1;
      for (const kind of kinds) {
        writeFileSync(path.join(project, 'blocks', id + KINDS[kind].ext), block.prelude + block.code + '\n');
      }
      entries.push({ id, file, block, kinds, preludeLines, errors: { esm: [], cjs: [] } });
    }
  }
  return entries;
}

/** Compiles the blocks (one tsc per module kind) and files each error under its block. */
export function compileBlocks(project, entries) {
  const byFile = new Map(entries.flatMap((e) => e.kinds.map((k) => [e.id + KINDS[k].ext, { entry: e, kind: k }])));
  for (const [kind, { ext, options }] of Object.entries(KINDS)) {
    const files = entries.filter((e) => e.kinds.includes(kind)).map((e) => `blocks/${e.id}${ext}`);
    if (files.length === 0) continue;
    const config = `tsconfig.${kind}.json`;
    writeFileSync(path.join(project, config), JSON.stringify({
      compilerOptions: { ...options, typeRoots, rootDir: 'blocks', outDir: 'out' }, files,
    }, null, 2));
    const r = spawnSync(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: project, encoding: 'utf8', env: childEnv });
    let last = null;
    for (const text of r.stdout.split('\n')) {
      const m = /^blocks\/(b\d+\.[cm]ts)\((\d+),(\d+)\): (error TS\d+: .*)$/.exec(text);
      if (m) {
        const at = byFile.get(m[1]);
        const line = Number(m[2]) - at.entry.preludeLines;
        last = { line: line > 0 ? at.entry.block.line + line - 1 : null, message: m[4] };
        at.entry.errors[at.kind].push(last);
      } else if (text.startsWith('  ') && last) {
        last.message += `\n${text}`;
      } else if (text.trim() !== '') {
        throw new Error(`tsc (${kind}): ${text}`);
      }
    }
  }
}

function collect(child) {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => { stdout += c; });
  child.stderr.on('data', (c) => { stderr += c; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { exited, out: () => stdout, err: () => stderr };
}

function within(ms, promise, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms / 1000} s`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const tail = (text) => text.trim().split('\n').slice(-12).join('\n');

function start(project, entry, kind, port) {
  const file = path.join(project, 'out', entry.id + KINDS[kind].out);
  const child = spawn(process.execPath, ['--enable-source-maps', file], {
    cwd: project, env: { ...childEnv, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, ...collect(child) };
}

/** A free loopback port (TCP or UDP) for a block to listen on (its process.env.PORT). */
export function freePort(udp = false) {
  return new Promise((resolve, reject) => {
    if (udp) {
      const s = dgram.createSocket('udp4');
      s.on('error', reject);
      s.bind(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
      return;
    }
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** A `ts run` block: exits 0 within 20 s, and prints exactly its output block, if it has one. */
export async function runToEnd(project, entry, kind) {
  const p = start(project, entry, kind, await freePort());
  let exit;
  try {
    exit = await within(20_000, p.exited, 'the run did not end');
  } catch (err) {
    p.child.kill('SIGKILL');
    throw new Error(`${err.message}; it printed:\n${tail(p.out() + p.err())}`);
  }
  if (exit.code !== 0) throw new Error(`exited ${exit.code ?? exit.signal}:\n${tail(p.err() || p.out())}`);
  const want = entry.block.output;
  if (want !== null && p.out().trimEnd() !== want.trimEnd()) {
    throw new Error(`printed:\n${p.out().trimEnd()}\ninstead of:\n${want.trimEnd()}`);
  }
}

async function exchangeTcp(port, send, expect) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        let got = '';
        sock.setTimeout(5_000, () => { sock.destroy(); reject(new Error(`got ${JSON.stringify(got)} after 5 s`)); });
        sock.on('connect', () => {
          sock.write(send);
          if (expect === '') { sock.destroy(); resolve(''); }
        });
        sock.on('data', (c) => {
          got += c;
          if (got.length >= expect.length) { sock.destroy(); resolve(got); }
        });
        sock.on('error', reject);
        sock.on('close', () => resolve(got));
      });
    } catch (err) {
      if (err.code !== 'ECONNREFUSED' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function exchangeUdp(port, send) {
  const sock = dgram.createSocket('udp4');
  try {
    return await within(10_000, new Promise((resolve) => {
      sock.on('message', (m) => resolve(m.toString()));
      // Resent until answered: the server may not be bound yet, and a datagram to a closed port is lost.
      const again = () => sock.send(send, port, '127.0.0.1');
      const timer = setInterval(again, 200);
      sock.on('close', () => clearInterval(timer));
      again();
    }), 'no datagram came back');
  } finally {
    sock.close();
  }
}

/**
 * A `ts serve` block: it listens on process.env.PORT; `serve` ({ send, expect, udp }) is sent
 * to it and what comes back must be `expect` (with "" only the connection is made); then SIGINT
 * (Ctrl-C) must stop it within 5 s, and if `serve.stdout` is given, it must have printed that.
 */
export async function serveAndProbe(project, entry, kind) {
  const spec = entry.block.check?.serve;
  if (!spec) throw new Error('a ts serve block needs <!-- check {"serve": {"send": ..., "expect": ...}} -->');
  const port = await freePort(spec.udp === true);
  const p = start(project, entry, kind, port);
  try {
    const got = await Promise.race([
      spec.udp ? exchangeUdp(port, spec.send) : exchangeTcp(port, spec.send, spec.expect),
      p.exited.then((e) => { throw new Error(`exited ${e.code ?? e.signal} before answering`); }),
    ]);
    if (got !== spec.expect) throw new Error(`answered ${JSON.stringify(got)}, not ${JSON.stringify(spec.expect)}`);
    p.child.kill('SIGINT');
    await within(5_000, p.exited, 'SIGINT did not stop it');
    if (spec.stdout !== undefined && p.out() !== spec.stdout) {
      throw new Error(`printed ${JSON.stringify(p.out())}, not ${JSON.stringify(spec.stdout)}`);
    }
  } catch (err) {
    p.child.kill('SIGKILL');
    throw new Error(`${err.message}\n${tail(p.err() || p.out())}`);
  }
}
