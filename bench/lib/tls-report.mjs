// The markdown report of bench/tls.mjs (bench/results/tls-<name>.md).
import { cost, num, pct, per1000, ratio, table, us } from './report.mjs';

export function renderTlsMarkdown(result) {
  const m = result.meta;
  const out = [];
  out.push('# asynchat over TLS vs node:tls and node:https');
  out.push('');
  out.push('<!-- written by `node bench/tls.mjs`; do not edit by hand -->');
  out.push('');
  out.push(
    `${m.quick ? '**Quick run** (one short round: a smoke test, not a measurement). ' : ''}` +
    `${m.date.slice(0, 16).replace('T', ' ')} UTC, Node ${m.node} (OpenSSL ${m.openssl}), ${m.platform}, ${m.cpus} × ${m.cpuModel}, ` +
    `asynchat ${m.commit ?? '?'}${m.dirty ? ' (with uncommitted changes)' : ''}` +
    `${m.addonStale ? ', **addon older than native/**' : ''}; load average ${m.loadBefore.toFixed(2)} before, ${m.loadAfter.toFixed(2)} after.`,
  );
  out.push('');
  const session = result.cases.flatMap((c) => c.entries).find((e) => e.session)?.session;
  out.push(
    (m.client === 'c'
      ? `Client: the C load generator (bench/loadgen, one thread, epoll) built with the system's OpenSSL, ${session ?? 'TLS'}; ` +
        'every handshake is done before the measured window, and every reply is checked byte for byte. ' +
        'The cleartext rows run the same binary without `--tls`. '
      : 'Client: the Node fallback (bench/lib/node-tls-client.mjs; replies counted, not checked). ') +
    `Servers on 127.0.0.1, TCP_NODELAY everywhere, a throwaway P-256 certificate. All servers of a workload are primed ` +
    `together for ${m.prime} s; then ${m.rounds} round(s), each giving every server one run of ${m.warmup} s warm-up and ` +
    `${m.duration} s measured, the order rotating. Numbers are medians over rounds; ratios are medians of per-round ratios; ` +
    'CPU is utime+stime from /proc over the measured window (a share of one core).',
  );
  for (const n of m.notes) out.push(`\n> ${n}`);
  out.push('\n## Targets (issue 12)\n');
  const rows = result.cases.flatMap((c) => c.ratios.map((r) => [
    r.text, r.mode === 'blocking' ? 'loop()' : 'loopAsync()', r.min === null ? '' : `≥ ${r.min}×`, ratio(r.median),
    r.pass === null ? '' : r.pass ? 'met' : '**not met**', ratio(r.cpuMedian),
  ]));
  out.push(table(['comparison', 'mode', 'want', 'got', '', 'by CPU per request'], rows));
  out.push('');
  out.push('"got" compares throughput (the target\'s terms); "by CPU per request" compares the server CPU time each ' +
    'request cost (baseline ÷ asynchat), which other load on the machine disturbs less.');
  for (const c of result.cases) {
    out.push(`\n## ${c.title}\n`);
    out.push(`${c.description}.\n`);
    out.push(table(['server', c.unit, 'p50', 'p99', 'server CPU', 'server µs/req', 'loadgen CPU'], c.entries.map((e) => [
      e.label, num(e.rate), us(e.p50us), us(e.p99us), pct(e.serverShare), cost(e.serverUsPerReq),
      `${pct(e.loadgenShare)}${e.loadgenShareMax > 0.9 ? ' (saturated)' : ''}`,
    ])));
    out.push('');
    out.push(`Per-round ratios: ${c.ratios.map((r) => `${r.of} ÷ ${r.to} ${r.rounds.map((x) => x.toFixed(2)).join(', ')}`).join('; ')}.`);
    const withStats = c.entries.filter((e) => e.statsPer1000);
    if (withStats.length) {
      const keys = Object.keys(withStats[0].statsPer1000);
      out.push(`\nstats() per 1000 ${c.unit.replace(/\/s$/, '')}:\n`);
      out.push(table(['server', ...keys], withStats.map((e) => [e.label, ...keys.map((k) => per1000(e.statsPer1000[k]))])));
    }
  }
  return `${out.join('\n')}\n`;
}
