// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function, and total
// (inclusive) time per function over the call tree.
import { readFileSync } from 'node:fs';
import path from 'node:path';

function frameName(cf, root) {
  const fn = cf.functionName || '(anonymous)';
  if (!cf.url) return fn;
  let file = cf.url.replace(/^file:\/\//, '');
  if (file.startsWith(root)) file = path.relative(root, file);
  return `${fn} ${file}:${cf.lineNumber + 1}`;
}

/** { totalMs, self: [{ name, ms, share }], inclusive: [...] , categories: {...} } */
export function summarize(file, { root = '', top = 25 } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map();
  const inclusive = new Map();
  const categories = { idle: 0, program: 0, gc: 0, javascript: 0, native: 0, node: 0 };
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    const cf = node.callFrame;
    const name = frameName(cf, root);
    total += us;
    self.set(name, (self.get(name) ?? 0) + us);
    if (cf.functionName === '(idle)') categories.idle += us;
    else if (cf.functionName === '(program)') categories.program += us;
    else if (cf.functionName === '(garbage collector)') categories.gc += us;
    else if (!cf.url) categories.native += us;
    else if (cf.url.startsWith('node:')) categories.node += us;
    else categories.javascript += us;
    // Inclusive: every distinct function on the stack gets the sample once.
    const seen = new Set();
    for (let p = id; p !== undefined; p = parent.get(p)) {
      const pn = frameName(byId.get(p).callFrame, root);
      if (seen.has(pn)) continue;
      seen.add(pn);
      inclusive.set(pn, (inclusive.get(pn) ?? 0) + us);
    }
  }
  const rank = (m) => [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / total }));
  const cat = Object.fromEntries(Object.entries(categories).map(([k, us]) => [k, { ms: us / 1000, share: us / total }]));
  return {
    totalMs: total / 1000,
    self: rank(self),
    inclusive: rank(new Map([...inclusive].filter(([n]) => !n.startsWith('(root)')))),
    categories: cat,
  };
}

/**
 * Self time of a profile (the parsed .cpuprofile object) charged to owners: each sample goes to
 * the innermost frame on its stack whose script URL an owner claims ({ name, claims(url) }), so
 * that the builtins and the GC a function triggers count for it. Returns { total (µs), shares:
 * { owner: share } }, with 'other' for samples no owner claims (idle, the program, the harness).
 */
export function selfTimeByOwner(profile, owners) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ownerOf = new Map();
  const owner = (id) => {
    if (ownerOf.has(id)) return ownerOf.get(id);
    const url = byId.get(id).callFrame.url;
    const found = owners.find((o) => url && o.claims(url));
    const p = parent.get(id);
    const name = found ? found.name : p === undefined ? 'other' : owner(p);
    ownerOf.set(id, name);
    return name;
  };
  const us = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const t = profile.timeDeltas[i] ?? 0;
    const name = owner(profile.samples[i]);
    us.set(name, (us.get(name) ?? 0) + t);
    total += t;
  }
  return { total, shares: Object.fromEntries([...us].map(([k, v]) => [k, v / total])) };
}
