// Grouped bars of ratios, as a standalone SVG: one group per comparison, bars drawn from 1×
// on a log scale (up: faster than the baseline, down: slower), a dashed mark at the target.

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/**
 * groups: [{ label: string (may hold '\n'), target?: number, bars: [{ key, value, cpu?, title? }] }]
 * series: [{ key, label, color }] (legend order)
 */
export function ratioChart({ title, subtitle = '', groups, series }) {
  const barW = 26;
  const barGap = 4;
  const groupGap = 34;
  const left = 64;
  const right = 20;
  const top = 84;
  const plotH = 300;
  const bottom = 70;
  const values = groups.flatMap((g) => [...g.bars.flatMap((b) => [b.value, b.cpu ?? 1]), g.target ?? 1]).filter((v) => v > 0);
  const lo = Math.min(0.5, ...values.map((v) => v / 1.25));
  const hi = Math.max(2, ...values.map((v) => v * 1.25));
  const [l0, l1] = [Math.log10(lo), Math.log10(hi)];
  const y = (v) => top + plotH * (1 - (Math.log10(v) - l0) / (l1 - l0));
  const widths = groups.map((g) => g.bars.length * (barW + barGap) - barGap);
  const plotW = widths.reduce((a, w) => a + w + groupGap, groupGap);
  const width = left + plotW + right;
  const height = top + plotH + bottom;
  const color = new Map(series.map((s) => [s.key, s.color]));
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  if (subtitle) parts.push(`<text x="${left}" y="40" fill="#555">${esc(subtitle)}</text>`);
  // legend
  let lx = left;
  for (const s of series) {
    parts.push(`<rect x="${lx}" y="52" width="12" height="12" fill="${s.color}"/>`);
    parts.push(`<text x="${lx + 16}" y="62">${esc(s.label)}</text>`);
    lx += 24 + s.label.length * 6.2;
  }
  parts.push(`<line x1="${lx}" y1="58" x2="${lx + 18}" y2="58" stroke="#d62728" stroke-width="2" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${lx + 22}" y="62">target</text>`);
  if (groups.some((g) => g.bars.some((b) => b.cpu > 0))) {
    parts.push(`<circle cx="${lx + 72}" cy="58" r="3.2" fill="#111"/>`);
    parts.push(`<text x="${lx + 80}" y="62">same ratio by server CPU per request</text>`);
  }
  // grid
  for (const t of [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]) {
    if (t < lo || t > hi) continue;
    const ty = y(t).toFixed(1);
    parts.push(`<line x1="${left}" y1="${ty}" x2="${left + plotW}" y2="${ty}" stroke="${t === 1 ? '#333' : '#e3e3e3'}" stroke-width="${t === 1 ? 1.2 : 1}"/>`);
    parts.push(`<text x="${left - 6}" y="${(+ty + 4).toFixed(1)}" text-anchor="end" fill="#444">${t}×</text>`);
  }
  parts.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#444">ratio (log scale)</text>`);
  // groups
  let x = left + groupGap;
  groups.forEach((g, gi) => {
    g.bars.forEach((b, bi) => {
      const bx = x + bi * (barW + barGap);
      const v = b.value;
      if (!(v > 0)) return;
      const y1 = y(1);
      const yv = y(v);
      const [ry, rh] = yv < y1 ? [yv, y1 - yv] : [y1, yv - y1];
      parts.push(`<rect x="${bx}" y="${ry.toFixed(1)}" width="${barW}" height="${Math.max(rh, 0.8).toFixed(1)}" fill="${color.get(b.key) ?? '#888'}"><title>${esc(b.title ?? '')}${esc(v.toFixed(2))}×</title></rect>`);
      if (b.cpu > 0) {
        parts.push(`<circle cx="${bx + barW / 2}" cy="${y(b.cpu).toFixed(1)}" r="3.2" fill="#111" stroke="#fff" stroke-width="1"><title>${esc(b.title ?? '')}by CPU per request ${esc(b.cpu.toFixed(2))}×</title></circle>`);
      }
      const ty = v >= 1 ? yv - 4 : yv + 11;
      parts.push(`<text x="${bx + barW / 2}" y="${ty.toFixed(1)}" text-anchor="middle" font-size="9.5">${v >= 10 ? v.toFixed(0) : v.toFixed(2)}</text>`);
    });
    if (g.target) {
      const ty = y(g.target).toFixed(1);
      parts.push(`<line x1="${x - 6}" y1="${ty}" x2="${x + widths[gi] + 6}" y2="${ty}" stroke="#d62728" stroke-width="2" stroke-dasharray="4 3"/>`);
    }
    g.label.split('\n').forEach((line, li) => {
      parts.push(`<text x="${x + widths[gi] / 2}" y="${top + plotH + 18 + li * 13}" text-anchor="middle"${li === 0 ? ' font-weight="bold"' : ' fill="#444"'}>${esc(line)}</text>`);
    });
    x += widths[gi] + groupGap;
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
