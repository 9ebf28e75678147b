// TLS on the OpenSSL inside Node (see tls_init.cc). Without ASYNCHAT_HAVE_TLS only InitTls
// exists, and every TLS export throws ERR_ASYNCHAT_NO_TLS.
#pragma once

#include <napi.h>

namespace asynchat {

void InitTls(Napi::Env env, Napi::Object exports);

}  // namespace asynchat
