// The TLS exports. With OpenSSL (Node's own: headers from Node's include folder, symbols from
// the node binary) they are the TlsContext and TlsConnection classes; without, functions of
// the same names that throw ERR_ASYNCHAT_NO_TLS, so that the addon still builds and loads.
#include "tls.h"

#include "errors.h"

#ifdef ASYNCHAT_HAVE_TLS
#include <openssl/crypto.h>

#include "tls_connection.h"
#include "tls_context.h"
#endif

namespace asynchat {

#ifndef ASYNCHAT_HAVE_TLS
namespace {
Napi::Value NoTls(const Napi::CallbackInfo& info) {
  throw CodedError(info.Env(), "ERR_ASYNCHAT_NO_TLS",
                   "TLS is not available: this build of the addon has no OpenSSL (the build found no openssl/ssl.h in "
                   "Node's include folder, or ran with ASYNCHAT_NO_TLS=1)");
}
}  // namespace
#endif

void InitTls(Napi::Env env, Napi::Object exports) {
#ifdef ASYNCHAT_HAVE_TLS
  exports.Set("TlsContext", TlsContext::Define(env));
  exports.Set("TlsConnection", TlsConnection::Define(env));
  exports.Set("tlsVersion", OpenSSL_version(OPENSSL_VERSION));
#else
  exports.Set("TlsContext", Napi::Function::New<NoTls>(env, "TlsContext"));
  exports.Set("TlsConnection", Napi::Function::New<NoTls>(env, "TlsConnection"));
  exports.Set("tlsVersion", env.Null());
#endif
}

}  // namespace asynchat
