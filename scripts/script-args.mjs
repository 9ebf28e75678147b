// The test scripts' command line: their own flags, then `--` and what goes on to vitest
// (`npm run test:node -- 24 -- test/tls`).

/** Splits the arguments at the first `--`: the script's own, and vitest's. */
export function splitArgs(argv = process.argv.slice(2)) {
  const dashdash = argv.indexOf('--');
  if (dashdash < 0) return { ours: argv, vitestArgs: [] };
  return { ours: argv.slice(0, dashdash), vitestArgs: argv.slice(dashdash + 1) };
}
