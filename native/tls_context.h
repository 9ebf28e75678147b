// A TLS context (Python's SSLContext): one SSL_CTX with its certificate, key, trusted CAs,
// versions, ciphers, ALPN list and verification policy. Connections keep their context alive.
#pragma once
#ifdef ASYNCHAT_HAVE_TLS

#include <napi.h>
#include <openssl/ssl.h>

#include <string>

namespace asynchat {

class TlsContext : public Napi::ObjectWrap<TlsContext> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit TlsContext(const Napi::CallbackInfo& info);
  ~TlsContext() override;

  SSL_CTX* ctx() const { return ctx_; }
  bool server() const { return server_; }
  // The ALPN protocols, wire format (length-prefixed), the server's in preference order.
  const std::string& alpn() const { return alpn_; }

 private:
  void LoadCertificateChain(Napi::Env env, const Napi::Value& pem);
  void LoadKey(Napi::Env env, const Napi::Value& pem, const std::string& passphrase);
  void LoadCa(Napi::Env env, const Napi::Value& pem);
  static int SelectAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                        unsigned int inlen, void* arg);

  SSL_CTX* ctx_ = nullptr;
  bool server_ = false;
  std::string alpn_;
};

}  // namespace asynchat

#endif
