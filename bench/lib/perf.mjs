// Reads a `perf record -g` of a Node process started with --perf-basic-prof, and sums the samples
// (CPU time, kernel included) two ways: by where the CPU was (kernel, V8 builtins and runtime,
// JIT-compiled JavaScript, libc, the addon), and by the innermost JavaScript function on the
// stack, so that a syscall, a builtin or a GC triggered by a function counts for that function.
import { spawnSync } from 'node:child_process';

function category(frame) {
  if (frame.includes('[kernel')) return 'kernel';
  if (frame.includes('JS:')) return 'JavaScript (JIT)';
  if (frame.includes('asynchat.node')) return 'addon';
  if (/\blibc[.-]/.test(frame)) return 'libc';
  if (/\(\/usr\/(local\/)?bin\/node\)|\/node\)$/.test(frame)) return 'node and V8 (builtins, runtime, GC)';
  return 'other';
}

const clean = (frame, root) => frame
  .replace(/^[0-9a-f]+\s+/, '')
  .replace(/\s+\([^()]*\)$/, '')
  .replace(/^JS:[*^~]?/, '')
  .replaceAll(`file://${root}`, '')
  .replaceAll(root, '');

export function perfAvailable() {
  return spawnSync('perf', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function summarizePerf(dataFile, { root = '', top = 20 } = {}) {
  const r = spawnSync('perf', ['script', '-i', dataFile, '-F', 'ip,sym,dso'], {
    encoding: 'utf8', maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`perf script failed: ${r.stderr}`);
  const categories = new Map();
  const byJs = new Map();
  const leaves = new Map();
  let total = 0;
  for (const block of r.stdout.split('\n\n')) {
    const frames = block.split('\n').map((l) => l.trim()).filter(Boolean);
    if (frames.length === 0) continue;
    total++;
    const cat = category(frames[0]);
    categories.set(cat, (categories.get(cat) ?? 0) + 1);
    const leaf = clean(frames[0], root);
    leaves.set(leaf, (leaves.get(leaf) ?? 0) + 1);
    const js = frames.find((f) => f.includes('JS:'));
    const owner = js ? clean(js, root) : `(no JavaScript on the stack: ${cat})`;
    byJs.set(owner, (byJs.get(owner) ?? 0) + 1);
  }
  const rank = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, c]) => ({ name, share: c / total }));
  return { samples: total, categories: rank(categories, 10), byJs: rank(byJs, top), leaves: rank(leaves, top) };
}
