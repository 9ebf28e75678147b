// Errors of the TLS layer: OpenSSL's error queue drained into the message, a stable
// code of the TLS family, and `reason` (OpenSSL's reason, or the verify result's name).
#pragma once
#ifdef ASYNCHAT_HAVE_TLS

#include <napi.h>
#include <openssl/ssl.h>

#include <string>

namespace asynchat {

// Empties this thread's OpenSSL error queue; returns the first reason ("wrong version number")
// and sets *all to every entry's text, joined.
std::string DrainOpenSslErrors(std::string* all);

// The name Node gives a certificate verify result (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ->
// "DEPTH_ZERO_SELF_SIGNED_CERT"), or "X509_V_ERR_<n>" for one it does not know.
std::string VerifyResultName(long result);

// code, message, reason; the OpenSSL queue is drained into the message.
Napi::Error TlsError(Napi::Env env, const char* code, const std::string& what, std::string reason = std::string());

}  // namespace asynchat

#endif
