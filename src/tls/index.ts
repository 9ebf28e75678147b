// TLS for dispatchers: contexts (Python's SSLContext) and what startTls() reports.
export { TlsContext, createTlsContext, tlsAvailable, opensslVersion } from './context';
export type { Pem, TlsContextOptions, TlsVersion } from './context';
export type { TlsInfo, PeerCertificate } from './info';
export type { StartTlsOptions } from './dispatcher-tls';
