// What scripts/check-docs.mjs reads in a markdown file: fenced code blocks (with the hidden
// comments that steer their check), links, headings (as GitHub's anchors) and code spans.
//
// The conventions (CONTRIBUTING.md, "Code blocks in the docs"):
//   ```ts                 compiles, under strict, as an ES module of a user's project
//   ```ts cjs             ... and as a CommonJS one
//   ```ts run             ... and runs to completion; the ```text output block after it, if
//                         any, is what it must print
//   ```ts serve           ... and serves: the check talks to it as its <!-- check --> says
//   ```sh + <!-- check {"setup": true} -->   commands run in the project before the runs
//   <!-- prelude ... -->  hidden code put before the block (imports, declarations)
//   <!-- check {JSON} --> knownFailure, serve, files: see check-docs.mjs
import { readFileSync } from 'node:fs';

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
export function slug(heading) {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/**
 * Parses a markdown file: { blocks, links, anchors, spans }.
 *   blocks:  { lang, attrs: Set, code, line (of the first code line), check (object or null),
 *              prelude (string), output (string or null) }
 *   links:   { target, line }   (inline links, images and reference definitions)
 *   anchors: Set of heading anchors
 *   spans:   { text, line }     (inline code spans outside fenced blocks)
 */
export function parseMarkdown(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks = [];
  const links = [];
  const spans = [];
  const anchors = new Set();
  const seen = new Map();
  const prose = [];  // the lines outside code blocks and comments ('' in their place), for links
  let pending = [];  // hidden comments since the last content line
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    prose.length = i;
    const fence = /^(\s*)(`{3,}|~{3,})\s*(.*)$/.exec(line);
    if (fence) {
      const [, , marker, info] = fence;
      const [lang = '', ...attrs] = info.trim().split(/\s+/);
      const start = i + 1;
      let end = start;
      while (end < lines.length && !lines[end].trim().startsWith(marker)) end++;
      if (end === lines.length) throw new Error(`${file}:${i + 1}: a code block that never closes`);
      const block = { lang, attrs: new Set(attrs), code: lines.slice(start, end).join('\n'), line: start + 1, check: null, prelude: '', output: null };
      for (const c of pending) {
        if (c.kind === 'check') block.check = { ...block.check, ...c.value };
        else block.prelude += `${c.value}\n`;
      }
      pending = [];
      if (lang === 'text' && block.attrs.has('output')) {
        const owner = blocks.at(-1);
        if (!owner || !owner.attrs.has('run')) throw new Error(`${file}:${i + 1}: a text output block must follow a ts run block`);
        owner.output = block.code;
      } else {
        blocks.push(block);
      }
      i = end;
      continue;
    }
    if (line.trimStart().startsWith('<!--')) {
      let end = i;
      while (end < lines.length && !lines[end].includes('-->')) end++;
      const body = lines.slice(i, end + 1).join('\n').replace(/^\s*<!--/, '').replace(/-->\s*$/, '');
      const where = `${file}:${i + 1}`;
      if (/^\s*check\s/.test(body)) {
        try {
          pending.push({ kind: 'check', value: JSON.parse(body.replace(/^\s*check\s/, '')) });
        } catch (err) {
          throw new Error(`${where}: a check comment that is not JSON: ${err.message}`);
        }
      } else if (/^\s*prelude\s/.test(body)) {
        pending.push({ kind: 'prelude', value: body.replace(/^\s*prelude\s*\n?/, '') });
      }
      i = end;
      continue;
    }
    if (line.trim() !== '') pending = [];
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = slug(heading[2]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    prose[i] = line;
  }
  // Code spans and links may wrap over lines: matched over the prose as a whole, then placed by
  // line (the prose keeps every line in its place, code blocks and comments as empty lines).
  const raw = Array.from(prose, (l) => l ?? '').join('\n');
  const lineAt = (index) => raw.slice(0, index).split('\n').length;
  for (const m of raw.matchAll(/(`+)([\s\S]*?)\1/g)) spans.push({ text: m[2].replace(/\s+/g, ' ').trim(), line: lineAt(m.index) });
  const text = raw.replace(/(`+)[\s\S]*?\1/g, (m) => m.replace(/[^\n]/g, ' '));
  for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ target: m[1], line: lineAt(m.index) });
  for (const m of text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) links.push({ target: m[1], line: lineAt(m.index) });
  return { blocks, links, anchors, spans };
}
