// CONTRIBUTING.md's file-by-file tables stay complete and current: every file in native/ and src/
// is named there (as a code span; `native/poller_{epoll,kqueue,poll}.cc` names three), and every
// native/ or src/ path named there exists.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function filesUnder(root, dir) {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    return statSync(path.join(root, rel)).isDirectory() ? filesUnder(root, rel) : [rel];
  });
}

/** `a/{b,c}.{h,cc}` -> a/b.h a/b.cc a/c.h a/c.cc */
export function expandBraces(text) {
  const m = /\{([^{}]*)\}/.exec(text);
  if (!m) return [text];
  return m[1].split(',').flatMap((alt) => expandBraces(text.slice(0, m.index) + alt + text.slice(m.index + m[0].length)));
}

/** Problems with the tables of `doc` (CONTRIBUTING.md, parsed), for the trees `dirs`. */
export function tableProblems(rel, doc, root, dirs = ['native', 'src']) {
  const named = new Map();
  for (const { text, line } of doc.spans) {
    if (!dirs.some((d) => text.startsWith(`${d}/`))) continue;
    for (const p of expandBraces(text)) if (!named.has(p)) named.set(p, line);
  }
  const problems = [];
  for (const [p, line] of named) {
    if (!existsSync(path.join(root, p.replace(/\/$/, '')))) problems.push(`${rel}:${line}: ${p}: no such file`);
  }
  for (const dir of dirs) {
    for (const f of filesUnder(root, dir)) {
      if (!named.has(f)) problems.push(`${rel}: ${f} is missing from the file-by-file tables`);
    }
  }
  return problems;
}
