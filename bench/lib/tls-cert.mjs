// A throwaway certificate for the TLS benchmarks (bench/tls.mjs, bench/profile.mjs --tls): a
// self-signed P-256 pair for CN=localhost, made with the openssl CLI into a temporary folder.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** { args: ['--tls-cert', file, '--tls-key', file] for a bench server, remove() }. */
export function makeCertificate() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'asynchat-bench-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1', '-subj', '/CN=localhost'], { cwd: dir, stdio: 'ignore' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw Object.assign(new Error(`the TLS benchmarks need the openssl command to make a certificate: ${err.message}`), { benchFatal: true });
  }
  return {
    args: ['--tls-cert', path.join(dir, 'c.pem'), '--tls-key', path.join(dir, 'k.pem')],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
