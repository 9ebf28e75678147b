// Python's ssl.SSLContext, shaped like Node's tls options: createTlsContext() checks and keeps
// the options, and builds the native SSL_CTX for each side the first time a channel uses it.
import { rootCertificates } from 'node:tls';
import { native, type NativeTlsContext } from '../binding/native';
import { asynchatError } from '../errors';

/** PEM text, or its bytes. */
export type Pem = string | Uint8Array;

/** The options of createTlsContext(), as Node's tls.createSecureContext/connect take them. */
export interface TlsContextOptions {
  /** Certificate chain (leaf first), PEM: needed by a server, optional for a client. */
  cert?: Pem;
  /** Private key of cert, PEM (encrypted keys need passphrase). */
  key?: Pem;
  passphrase?: string;
  /** Trusted CA certificates, PEM (one or many); default: Node's bundled roots (tls.rootCertificates). */
  ca?: Pem | Pem[];
  /** OpenSSL cipher list; TLS 1.3 suites (TLS_AES_...) may be given in the same list, as Node takes them. */
  ciphers?: string;
  /** Lowest protocol: 'TLSv1.2' (default) or 'TLSv1.3'. */
  minVersion?: TlsVersion;
  /** Highest protocol (default: the highest OpenSSL has). */
  maxVersion?: TlsVersion;
  /** ALPN protocols, most preferred first ('h2', 'http/1.1'). */
  alpnProtocols?: string[];
  /** A server asks clients for a certificate. */
  requestCert?: boolean;
  /**
   * Fail the handshake when the peer's certificate does not verify (default true). A client
   * always verifies the server; a server verifies clients when requestCert is set (and then
   * refuses clients without one). When false, tlsInfo() still tells why a peer is not authorized.
   */
  rejectUnauthorized?: boolean;
  /** A client's default server name (SNI and the name verified), overridden by startTls's serverHostname. */
  servername?: string;
}

/** A TLS protocol version, as Node's tls names them (minVersion, maxVersion, tlsInfo().protocol). */
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** TLS is built into this addon (false: the build found no OpenSSL headers; see ERR_ASYNCHAT_NO_TLS). */
export const tlsAvailable = native.tlsVersion !== null && native.tlsVersion !== undefined;
/** The OpenSSL in use (Node's own: process.versions.openssl), or null without TLS. */
export const opensslVersion: string | null = native.tlsVersion ?? null;

/**
 * @internal What a TLS call throws in an addon built without TLS, and why there is none: the
 * build found no OpenSSL headers in Node's include folder, or was asked not to (ASYNCHAT_NO_TLS=1).
 */
export function noTlsError(call: string): Error {
  return asynchatError('ERR_ASYNCHAT_NO_TLS', `${call}: TLS is not available: this build of the addon has no OpenSSL ` +
    "(the build found no openssl/ssl.h in Node's include folder, or ran with ASYNCHAT_NO_TLS=1); " +
    'rebuild it against a Node that ships its OpenSSL headers');
}

const VERSIONS = new Set(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);
let defaultCa: Buffer | null = null;

function optionError(message: string): Error {
  return asynchatError('ERR_ASYNCHAT_TLS_OPTION', message);
}

function pemBytes(name: string, v: Pem | undefined): Buffer | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.length);
  throw asynchatError('ERR_ASYNCHAT_TLS_OPTION', `${name} must be a PEM string or Buffer`, 'TypeError');
}

/** ALPN's wire format: each protocol prefixed by its length. */
function alpnWire(protocols: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of protocols) {
    const b = Buffer.from(p, 'utf8');
    if (b.length === 0 || b.length > 255) throw optionError(`ALPN protocol ${JSON.stringify(p)} must be 1 to 255 bytes`);
    parts.push(Buffer.from([b.length]), b);
  }
  return Buffer.concat(parts);
}

/** A TLS configuration for startTls(): certificates, trust, versions, ciphers, ALPN, verification. */
export class TlsContext {
  readonly options: Readonly<TlsContextOptions>;
  private readonly natives: [NativeTlsContext | null, NativeTlsContext | null] = [null, null];

  constructor(options: TlsContextOptions = {}) {
    if (!tlsAvailable) throw noTlsError('createTlsContext');
    for (const v of [options.minVersion, options.maxVersion]) {
      if (v !== undefined && !VERSIONS.has(v)) throw optionError(`unknown TLS version ${JSON.stringify(v)}`);
    }
    if (options.alpnProtocols !== undefined && !Array.isArray(options.alpnProtocols)) {
      throw asynchatError('ERR_ASYNCHAT_TLS_OPTION', 'alpnProtocols must be an array of strings', 'TypeError');
    }
    this.options = { ...options };
    if (options.cert !== undefined || options.key !== undefined) this.side(true);  // bad PEM fails here, not at accept
  }

  /** @internal The SSL_CTX for one side, made once. */
  side(server: boolean): NativeTlsContext {
    const i = server ? 1 : 0;
    const made = this.natives[i];
    if (made !== null) return made;
    const o = this.options;
    if (server && (o.cert === undefined || o.key === undefined)) {
      throw optionError('a server-side TLS context needs cert and key');
    }
    let ca: Buffer | undefined;
    if (o.ca !== undefined) ca = Buffer.concat((Array.isArray(o.ca) ? o.ca : [o.ca]).map((p) => pemBytes('ca', p)!));
    else if (!server || o.requestCert) ca = defaultCa ??= Buffer.from(rootCertificates.join('\n'), 'utf8');
    const made2 = new native.TlsContext({
      server,
      cert: pemBytes('cert', o.cert),
      key: pemBytes('key', o.key),
      passphrase: o.passphrase,
      ca,
      ciphers: o.ciphers,
      minVersion: o.minVersion,
      maxVersion: o.maxVersion,
      alpn: o.alpnProtocols === undefined || o.alpnProtocols.length === 0 ? undefined : alpnWire(o.alpnProtocols),
      requestCert: o.requestCert === true,
      rejectUnauthorized: o.rejectUnauthorized !== false,
    });
    this.natives[i] = made2;
    return made2;
  }
}

/** Python's ssl.create_default_context, with Node's option names. */
export function createTlsContext(options: TlsContextOptions = {}): TlsContext {
  return new TlsContext(options);
}
