// What tlsInfo() reports of a TLS channel: the native connection's info(), typed.

/** The protocol, cipher, ALPN and peer certificate of a TLS channel (tlsInfo()). */
export interface TlsInfo {
  protocol: string;
  cipher: string;
  standardName: string;
  bits: number;
  alpnProtocol: string | null;
  servername: string | null;
  sessionReused: boolean;
  peerCertificate: PeerCertificate | null;
  /** The peer's certificate verified (chain and name). */
  authorized: boolean;
  /** Why not: the verify result's name (DEPTH_ZERO_SELF_SIGNED_CERT, HOSTNAME_MISMATCH, NO_PEER_CERTIFICATE...). */
  authorizationError: string | null;
}

/** A summary of the peer's certificate. */
export interface PeerCertificate {
  subject: string;
  issuer: string;
  commonName: string;
  subjectAltName: string;
  validFrom: string;
  validTo: string;
  fingerprint256: string;
  serialNumber: string;
}
