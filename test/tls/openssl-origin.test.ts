// TLS uses the OpenSSL inside Node, never a second one: the version the addon reports is Node's,
// and (on Linux, where Node carries OpenSSL statically) no libssl is mapped into the process.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/binding/native';
import { opensslVersion, tlsAvailable } from '../../src/tls/context';

describe('the OpenSSL in use', () => {
  it.skipIf(!tlsAvailable)("is Node's own", () => {
    expect(opensslVersion).toContain(process.versions.openssl.replace(/\+.*$/, ''));
    expect(native.tlsVersion).toBe(opensslVersion);
  });

  it.skipIf(!tlsAvailable || !existsSync('/proc/self/maps') || !/^\d/.test(process.versions.openssl))(
    'loads no libssl of its own', () => {
      const maps = readFileSync('/proc/self/maps', 'utf8');
      const nodeLinksLibssl = /libssl\.so/.test(maps) && process.config.variables.node_shared_openssl;
      if (!nodeLinksLibssl) expect(maps).not.toMatch(/libssl\.so/);
    },
  );
});
