// Links in the docs lead somewhere: in a shipped file, to a file the package ships (an installed
// user has nothing else), in a file that stays in the repository, to a file of the repository;
// an anchor, to a heading of its file. Paths into the installed package
// (`node_modules/asynchat/...`) that the docs tell users to run or read must be shipped too.
import { existsSync } from 'node:fs';
import path from 'node:path';

const posix = path.posix;

/**
 * Problems with the links of one parsed file (`rel`: its path in the repository).
 * parsed: every parsed doc by path, for anchors in other files; shipped: the tarball's paths.
 */
export function linkProblems(rel, doc, parsed, shipped, root) {
  const problems = [];
  const isShipped = shipped.has(rel);
  const present = (p) => (isShipped
    ? shipped.has(p) || [...shipped].some((f) => f.startsWith(`${p.replace(/\/$/, '')}/`))
    : existsSync(path.join(root, p)));
  for (const { target, line } of doc.links) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const [file, anchor] = target.split('#');
    const to = file === '' ? rel : posix.normalize(posix.join(posix.dirname(rel), decodeURI(file)));
    if (file !== '' && !present(to)) {
      problems.push(`${rel}:${line}: ${target}: ${isShipped ? 'not in the package' : 'no such file'}`);
      continue;
    }
    if (anchor !== undefined && to.endsWith('.md')) {
      const anchors = parsed.get(to)?.anchors;
      if (anchors === undefined) problems.push(`${rel}:${line}: ${target}: anchors into ${to} are not checked (add it to the docs read)`);
      else if (!anchors.has(anchor)) problems.push(`${rel}:${line}: ${target}: no heading with that anchor in ${to}`);
    }
  }
  if (isShipped) {
    const code = [...doc.spans.map((s) => ({ text: s.text, line: s.line })),
      ...doc.blocks.map((b) => ({ text: b.code, line: b.line }))];
    for (const { text, line } of code) {
      for (const m of text.matchAll(/node_modules\/asynchat\/([\w./-]*[\w/])/g)) {
        // build/ is made at install time, by a build from source (docs/platforms.md)
        if (!m[1].startsWith('build/') && !present(m[1].replace(/\/$/, ''))) problems.push(`${rel}:${line}: node_modules/asynchat/${m[1]}: not in the package`);
      }
    }
  }
  return problems;
}
