// The markdown report of a run (bench/results/<name>.md), meant to be included by README.md.
// Its formatters and table() serve bench/lib/tls-report.mjs too.

export const num = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
export const ratio = (x) => (Number.isFinite(x) ? `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×` : '–');
export const us = (x) => (!Number.isFinite(x) ? '–' : x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${x.toFixed(0)} µs`);
export const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '–');
export const cost = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');
export const per1000 = (x) => (!Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

export function table(head, rows) {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map((h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export function renderMarkdown(result, { svg } = {}) {
  const m = result.meta;
  const out = [];
  out.push('# asynchat vs node:net and node:http');
  out.push('');
  out.push('<!-- written by `npm run bench` (bench/run.mjs); do not edit by hand -->');
  out.push('');
  out.push(
    `${m.quick ? '**Quick run** (one short round: a smoke test, not a measurement). ' : ''}` +
    `${m.date.slice(0, 16).replace('T', ' ')} UTC, Node ${m.node}, ${m.platform}, ${m.cpus} × ${m.cpuModel}, ` +
    `asynchat ${m.commit ?? '?'}${m.dirty ? ' (with uncommitted changes)' : ''}` +
    `${m.distBuilt ? ` (dist built ${m.distBuilt.slice(11, 16)}, addon ${m.addonBuilt.slice(11, 16)} UTC${m.addonStale ? ', **addon older than native/**' : ''})` : ''}; ` +
    `load average ${m.loadBefore.toFixed(2)} before, ${m.loadAfter.toFixed(2)} after.`,
  );
  out.push('');
  out.push(
    `Servers and the load generator (C, epoll, one thread) are separate processes on ${m.host}; ` +
    '**TCP_NODELAY is set on every socket**, in every server and in the load generator; every reply is ' +
    `checked byte for byte. All servers of a workload are first primed together for ${m.prime} s (JIT); then ` +
    `${m.rounds} round(s): in each, every server gets one run of ${m.warmup} s warm-up ` +
    `then ${m.duration} s measured, in an order that rotates from round to round. Numbers are medians over ` +
    'rounds; ratios are medians of the per-round ratios. CPU is utime+stime from /proc over the measured ' +
    'window, as a share of one core (a Node process can pass 100% with its helper threads).',
  );
  for (const n of m.notes) out.push(`\n> ${n}`);
  if (svg) out.push(`\n![median ratios](${svg})`);

  if (result.targets.length) {
    out.push('\n## Targets (issues #5, #14 and 20)\n');
    out.push(table(['target', 'mode', 'want', 'got', '', 'by CPU per request'], result.targets.map((t) => [
      t.text, t.mode === 'both' ? '' : t.mode === 'blocking' ? 'loop()' : 'loopAsync()', t.want, ratio(t.got),
      t.pass ? 'met' : '**not met**', t.gotCpu == null ? '' : ratio(t.gotCpu),
    ])));
    out.push('');
    out.push(
      '"got" compares throughput (the target\'s terms); "by CPU per request" compares the server CPU time ' +
      'each request cost (baseline ÷ asynchat), which other load on the machine disturbs less.',
    );
  }

  for (const c of result.cases) {
    out.push(`\n## ${c.title}, depth ${c.depth}\n`);
    out.push(`${c.description}.\n`);
    const byKey = new Map(c.entries.map((e) => [e.key, e]));
    if (c.idle && !c.pairs) {
      const rows = [];
      for (const r of c.ratios.filter((x) => x.kind === 'idle')) {
        const withIdle = byKey.get(r.of);
        const alone = byKey.get(r.to);
        rows.push([
          alone.label.replace(/, busy only$/, ''), num(alone.rate), num(withIdle.rate), ratio(r.median),
          `${us(alone.p50us)} / ${us(withIdle.p50us)}`, `${us(alone.p99us)} / ${us(withIdle.p99us)}`,
          `${pct(alone.serverShare)} / ${pct(withIdle.serverShare)}`, `${cost(alone.serverUsPerReq)} / ${cost(withIdle.serverUsPerReq)}`,
          `${pct(alone.loadgenShare)} / ${pct(withIdle.loadgenShare)}`,
        ]);
      }
      out.push(table([
        'server', `${c.unit}, busy only`, `${c.unit}, + ${c.idle} idle`, 'kept', 'p50 alone / idle', 'p99 alone / idle',
        'server CPU', 'server µs/req', 'loadgen CPU',
      ], rows));
    } else {
      const baselines = c.baselines.filter((b) => byKey.has(b));
      const rows = c.entries.map((e) => [
        e.label, num(e.rate),
        ...baselines.map((b) => {
          if (e.key === b) return '1';
          const r = c.ratios.find((x) => x.kind === 'baseline' && x.of === e.key && x.to === b);
          return r ? ratio(r.median) : ratio(e.rate / byKey.get(b).rate);
        }),
        us(e.p50us), us(e.p99us), pct(e.serverShare), cost(e.serverUsPerReq),
        `${pct(e.loadgenShare)}${e.loadgenShareMax > 0.9 ? ' (saturated)' : ''}`,
      ]);
      out.push(table(
        ['server', c.unit, ...baselines.map((b) => `× ${byKey.get(b).label}`), 'p50', 'p99', 'server CPU', 'server µs/req', 'loadgen CPU'],
        rows,
      ));
    }
    const pairs = c.ratios.filter((r) => r.kind === 'pair');
    if (pairs.length) {
      out.push('');
      out.push(`With / without: ${pairs.map((r) => `${byKey.get(r.of).label} ÷ ${byKey.get(r.to).label} ${ratio(r.median)}`).join(', ')}.`);
    }
    if (c.rounds !== undefined && c.rounds !== m.rounds) out.push(`\n${c.rounds} rounds for this workload.`);
    const refs = c.ratios.filter((r) => r.kind === 'reference');
    if (refs.length) {
      out.push('');
      out.push(`Share of ${byKey.get(refs[0].to).label}'s rate: ${refs.map((r) => `${byKey.get(r.of).label} ${pct(r.median)}`).join(', ')}.`);
    }
    const threads = c.ratios.filter((r) => r.kind === 'threads');
    if (threads.length) {
      out.push('');
      out.push(
        `Threads against one thread (throughput; server CPU per request, one thread ÷ threads: ≥ 1× means a request costs no more on threads): ${
          threads.map((r) => `${byKey.get(r.of).label} ${ratio(r.median)}; ${ratio(r.cpuMedian)}`).join(', ')}.`,
      );
    }
    const modes = c.ratios.filter((r) => r.kind === 'mode');
    if (modes.length) {
      out.push('');
      out.push(`loopAsync() / loop(): ${modes.map((r) => `${byKey.get(r.of).label.replace(/ loopAsync\(\)/, '')} ${ratio(r.median)}`).join(', ')}.`);
    }
    const withStats = c.entries.filter((e) => e.statsPer1000);
    if (withStats.length) {
      const unit = c.unit.replace(/\/s$/, '');
      out.push(`\nstats() per 1000 ${unit} over the measured window:\n`);
      out.push(table(
        ['server', 'crossings', 'waits', 'events', 'reads', 'writes', 'wakeups', 'interest syscalls', 'scans'],
        withStats.map((e) => [
          e.label, ...['crossings', 'waits', 'events', 'reads', 'writes', 'wakeups', 'interestSyscalls', 'scans']
            .map((k) => per1000(e.statsPer1000[k])),
        ]),
      ));
    }
  }
  const contenders = result.cases.flatMap((c) => c.entries.filter((e) => e.kind !== 'reference'));
  const maxShare = Math.max(...contenders.map((e) => e.loadgenShareMax));
  const saturated = result.cases.flatMap((c) => c.entries.filter((e) => e.loadgenShareMax > 0.9)
    .map((e) => `${e.label} (${c.workload}${c.frameSize ? ` ${c.frameSize} B` : ''} d${c.depth})`));
  out.push(
    `\nThe load generator used at most ${pct(maxShare)} of a core in any run against a Node server` +
    `${maxShare > 0.9 ? ': close to saturation, the fastest servers may be measured low' : ''}.` +
    `${saturated.length ? ` It was saturated (> 90%) against: ${saturated.join(', ')}.` : ''}`,
  );
  return `${out.join('\n')}\n`;
}
