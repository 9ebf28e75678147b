// Processes of a benchmark: the load generator (compiled on first use), the servers, and the
// checks that the package they import is built.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const benchDir = path.join(root, 'bench');
export const buildDir = path.join(root, 'build-bench');
const loadgenDir = path.join(benchDir, 'loadgen');
const loadgenSource = path.join(loadgenDir, 'loadgen.c');

function fail(message) {
  const err = new Error(message);
  err.benchFatal = true;
  return err;
}

/** The C compiler: $CC, else cc, gcc or clang, whichever answers --version first. */
function findCompiler() {
  const candidates = [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean);
  for (const cc of candidates) {
    const words = cc.split(/\s+/);
    const r = spawnSync(words[0], [...words.slice(1), '--version'], { stdio: 'ignore' });
    if (r.status === 0) return words;
  }
  throw fail(
    `no C compiler found (tried ${candidates.join(', ')}). The load generator (bench/loadgen/loadgen.c) ` +
    'is built with the same compiler node-gyp needs for the addon; on Debian: apt-get install build-essential, ' +
    'or set CC.',
  );
}

/**
 * Compiles a C file of bench/ (with `extra` sources and `libs`, e.g. ['-lssl']) into
 * build-bench/<name> unless it is there and newer than its sources and the headers beside them.
 */
export function ensureBinary(name, source, log = () => {}, { extra = [], libs = [] } = {}) {
  const binary = path.join(buildDir, name);
  // The load generators share the headers of bench/loadgen (common.h, tls_transport.h): a change
  // there rebuilds them too.
  const dir = path.dirname(source);
  const headers = readdirSync(dir).filter((f) => f.endsWith('.h')).map((f) => path.join(dir, f));
  const sourceTime = Math.max(...[source, ...extra, ...headers].map((f) => statSync(f).mtimeMs));
  if (existsSync(binary) && statSync(binary).mtimeMs >= sourceTime) return binary;
  const [cc, ...ccArgs] = findCompiler();
  mkdirSync(buildDir, { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  log(`compiling ${[source, ...extra].map((f) => path.relative(root, f)).join(' ')}: ${cc} -O2 ${libs.join(' ')}`.trimEnd());
  const r = spawnSync(cc, [...ccArgs, '-O2', '-Wall', '-o', tmp, source, ...extra, ...libs], { encoding: 'utf8' });
  if (r.status !== 0) throw fail(`compiling ${source} failed:\n${r.stderr || r.error}`);
  renameSync(tmp, binary);
  return binary;
}

/**
 * The load generator, compiled on first use. Without `tls`: build-bench/loadgen, which needs no
 * OpenSSL (its --tls refuses). With `tls`: build-bench/loadgen-tls, linked with the system's
 * libssl (Debian: libssl-dev); it throws, with `noOpenSsl` set, where the headers are missing.
 */
export function ensureLoadgen(log = () => {}, { tls = false } = {}) {
  if (!tls) return ensureBinary('loadgen', loadgenSource, log, { extra: [path.join(loadgenDir, 'tls_none.c')] });
  try {
    return ensureBinary('loadgen-tls', loadgenSource, log, { extra: [path.join(loadgenDir, 'tls_transport.c')], libs: ['-lssl', '-lcrypto'] });
  } catch (err) {
    if (/openssl\/\w+\.h|-lssl|-lcrypto/.test(err.message)) err.noOpenSsl = true;
    throw err;
  }
}

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(file) : statSync(file).mtimeMs);
  }
  return latest;
}

/**
 * The package must be importable as 'asynchat': dist/ is rebuilt (npm run build:ts) when it is
 * missing, or older than src/ unless build is false; an addon older than native/ is only reported (npm run
 * build:native rebuilds it). Returns when each was built, for the results.
 */
export function ensurePackage(log = () => {}, { build = true } = {}) {
  const distStamp = path.join(root, 'dist', 'esm', 'index.mjs');  // the build script writes it last
  const srcTime = newest(path.join(root, 'src'));
  const stale = existsSync(distStamp) && statSync(distStamp).mtimeMs < srcTime;
  if (stale && !build) log('warning: dist/ is older than src/ (measuring it as it is: --no-build)');
  if (!existsSync(distStamp) || (stale && build)) {
    log(`dist/ is ${existsSync(distStamp) ? 'older than src/' : 'missing'}: npm run build:ts`);
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-ts.mjs')], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) throw fail('npm run build:ts failed');
  }
  const r = spawnSync(process.execPath, ['-e', "process.stdout.write(require('asynchat').addonPath)"], { cwd: benchDir, encoding: 'utf8' });
  if (r.status !== 0) {
    throw fail(`the servers cannot load the package ('asynchat'); run npm install first.\n${r.stderr.trim()}`);
  }
  const addon = r.stdout;
  const addonTime = statSync(addon).mtimeMs;
  const addonStale = addonTime < newest(path.join(root, 'native'));
  if (addonStale) log(`warning: ${path.relative(root, addon)} is older than native/ (npm run build:native rebuilds it)`);
  return {
    distBuilt: new Date(statSync(distStamp).mtimeMs).toISOString(),
    addon: path.relative(root, addon), addonBuilt: new Date(addonTime).toISOString(), addonStale,
  };
}

function shellLimit(flag) {
  const r = spawnSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' });
  const v = r.stdout.trim();
  return v === 'unlimited' ? Infinity : Number(v) || 0;
}

/** Soft and hard limits on open files, as child processes inherit them. */
export function fdLimits() {
  return { soft: shellLimit('-Sn'), hard: shellLimit('-Hn') };
}

/**
 * Starts a server file of bench/servers; resolves once it printed READY. `fds`: descriptors it
 * will need (the soft limit is raised through sh when it is lower).
 */
export function startServer(server, { fds = 0, nodeArgs = [], limits = fdLimits() } = {}) {
  const file = path.resolve(benchDir, 'servers', server.file);
  let command = process.execPath;
  let argv = [...nodeArgs, file];
  if (file.endsWith('.c')) {
    command = ensureBinary(path.basename(file, '.c'), file);
    argv = [];
  }
  if (server.mode) argv.push('--mode', server.mode);
  if (server.threads > 1) argv.push('--threads', String(server.threads));
  if (server.args) argv.push(...server.args);
  if (fds > limits.soft) {
    argv = ['-c', `ulimit -n ${fds} 2>/dev/null; exec "$0" "$@"`, command, ...argv];
    command = 'sh';
  }
  // server.env: e.g. ASYNCHAT_ADDON, to measure another build of the addon beside this one
  const env = server.env ? { ...process.env, ...server.env } : process.env;
  const child = spawn(command, argv, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(fail(`${server.file}: no READY line within 30 s\n${stderr}`));
    }, 30000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^READY (.*)$/m.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      const info = JSON.parse(m[1]);
      resolve({ ...server, ...info, child, stderr: () => stderr });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(fail(`${server.file} exited (${signal ?? code}) before it was ready\n${stderr}`));
    });
  });
}

/** Stops a server: `quit` over its control channel (a clean exit), else SIGTERM, else SIGKILL. */
export async function stopServer(proc, { graceful = false } = {}) {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (graceful && proc.control) {
    await control(proc.control, 'quit', false).catch(() => {});
  } else {
    child.kill('SIGTERM');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), graceful ? 20000 : 3000);
  await exited;
  clearTimeout(timer);
}

/** One command on a server's control channel; resolves with the answer line (if awaited). */
export function control(port, command, answer = true) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => {
      sock.write(`${command}\n`);
      if (!answer) sock.end();
    });
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (d) => {
      data += d;
      if (data.includes('\n')) {
        sock.destroy();
        resolve(data.trim());
      }
    });
    sock.on('error', reject);
    sock.on('close', () => resolve(data.trim()));
  });
}

/**
 * Runs the load generator against a started server; resolves with its JSON result, or rejects
 * with its message (a wrong reply, a stall) and exit status.
 */
export function runLoadgen(proc, o) {
  const args = [
    '--port', proc.port, '--proto', o.proto, '--conns', o.conns, '--depth', o.depth,
    '--idle', o.idle ?? 0, '--warmup', o.warmup, '--duration', o.duration,
    '--server-pid', proc.pid, '--quiet',
  ];
  if (o.lineSize) args.push('--line-size', o.lineSize);
  if (o.frameSize) args.push('--frame-size', o.frameSize);
  if (proc.control && o.stats !== false) args.push('--control', proc.control);
  if (o.tls) args.push('--tls');
  // o.tlsBinary: the TLS build, in cleartext too (so that a cleartext row runs the same client)
  const binary = ensureLoadgen(() => {}, { tls: o.tls || o.tlsBinary });
  const child = spawn(binary, args.map(String), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const limit = (Number(o.warmup) + Number(o.duration) + 60) * 1000;
  const timer = setTimeout(() => child.kill('SIGKILL'), limit);
  return new Promise((resolve, reject) => {
    // 'close', not 'exit': stdout may still hold the result when the process has exited.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(JSON.parse(out));
        return;
      }
      const e = new Error(`${err.trim() || `loadgen exited (${signal ?? code})`}`);
      e.status = code;
      e.serverStderr = proc.stderr?.();
      reject(e);
    });
  });
}
