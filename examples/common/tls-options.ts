// --tls-cert FILE --tls-key FILE, shared by the example servers: a server-side TLS context
// when both are given (every accepted connection then starts TLS), null otherwise.
import { readFileSync } from 'node:fs';
import { createTlsContext, type TlsContext } from '../../src';
import type { Cli } from './cli';

/** The option names, for parseArgs(usage, [...theirs, ...TLS_FLAGS]). */
export const TLS_FLAGS = ['tls-cert', 'tls-key'];

/** The usage lines of the TLS options. */
export const TLS_USAGE = `  --tls-cert FILE serve TLS with this certificate chain (PEM), with --tls-key
  --tls-key FILE  the certificate's private key (PEM)
`;

export function tlsContextOf(cli: Cli): TlsContext | undefined {
  const cert = cli.options.get('tls-cert');
  const key = cli.options.get('tls-key');
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    process.stderr.write('--tls-cert and --tls-key go together\n');
    process.exit(2);
  }
  return createTlsContext({ cert: readFileSync(cert), key: readFileSync(key) });
}
