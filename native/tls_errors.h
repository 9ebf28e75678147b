// Errors of the TLS layer: OpenSSL's error queue drained into the message, a stable
// code of the TLS family, and `reason` (OpenSSL's reason, or the verify result's name).
#pragma once
#ifdef ASYNCHAT_HAVE_TLS

#include <napi.h>
#include <openssl/ssl.h>

#include <string>

namespace asynchat {

// Empties this thread's OpenSSL error queue; returns the first reason ("wrong version number")
// and sets *all to every entry's text, joined, and *last (if given) to the last entry's code
// (what Python's ssl module reports), 0 when the queue was empty.
std::string DrainOpenSslErrors(std::string* all, unsigned long* last = nullptr);

// The name Node gives a certificate verify result (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ->
// "DEPTH_ZERO_SELF_SIGNED_CERT"), or "X509_V_ERR_<n>" for one it does not know.
std::string VerifyResultName(long result);

// code, message, reason; the OpenSSL queue is drained into the message (and Python's fields).
Napi::Error TlsError(Napi::Env env, const char* code, const std::string& what, std::string reason = std::string());

// Python's ssl.SSLError fields, set on the TLS errors beside code and reason, so that a port
// switches on what it switched on in Python:
//   library        the OpenSSL library that raised it, as Python names it ("SSL", "PEM", "X509")
//   sslReason      the reason's name as Python has it ("WRONG_VERSION_NUMBER", "HTTP_REQUEST")
//   sslErrno       Python's SSLError.errno: SSL_ERROR_SSL (1), SSL_ERROR_SYSCALL (5), SSL_ERROR_EOF (8)
//   verifyCode, verifyMessage   for a certificate that did not verify (X509_V_ERR_*, its text)
// Each is absent where Python's is None.
constexpr int kPySslErrorSsl = 1;
constexpr int kPySslErrorSyscall = 5;
constexpr int kPySslErrorEof = 8;  // Python's own: OpenSSL has no SSL_ERROR_EOF

// From the last code of the error queue (0: the queue was empty), as Python's PySSL_SetError
// does: SSL_ERROR_SSL, or SSL_ERROR_EOF for an unexpected EOF; SSL_ERROR_SYSCALL when OpenSSL
// said nothing.
void SetSslErrorFields(Napi::Error& error, unsigned long last);
// A certificate that did not verify: verifyCode, and verifyMessage as Python words it (its own
// text for a hostname or IP address mismatch, OpenSSL's otherwise).
void SetVerifyFields(Napi::Error& error, SSL* ssl, long verify);
// The peer closed without close_notify: SSL_ERROR_EOF, library "SSL" and sslReason
// "UNEXPECTED_EOF_WHILE_READING", as Python's OpenSSL 3 reports it (our memory BIOs never
// report an EOF to OpenSSL, so it is not in the error queue to be read from).
void SetEofFields(Napi::Error& error);
// An end of stream where TLS needed more (a truncation): `code` (ERR_ASYNCHAT_TLS_EOF, or
// ERR_ASYNCHAT_TLS_HANDSHAKE during the handshake), reason "unexpected eof while reading" as
// OpenSSL 3 words it, and the EOF fields above.
Napi::Error TlsEofError(Napi::Env env, const char* code, const std::string& message);

}  // namespace asynchat

#endif
