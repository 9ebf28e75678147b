#ifdef ASYNCHAT_HAVE_TLS
#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>

#include "addon_state.h"
#include "tls_errors.h"
#include "typed_args.h"

namespace asynchat {
namespace {

constexpr const char* kBadOption = "ERR_ASYNCHAT_TLS_OPTION";

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr PemBio(Napi::Env env, const Napi::Value& v, const char* what) {
  uint8_t* data;
  size_t len;
  if (!ByteElements(env, v, &data, &len)) throw Napi::TypeError::New(env, std::string(what) + " must be PEM bytes");
  BIO* b = BIO_new_mem_buf(data, static_cast<int>(len));
  if (b == nullptr) throw TlsError(env, kBadOption, std::string("cannot read ") + what);
  return BioPtr(b);
}

int VersionArg(Napi::Env env, const Napi::Value& v, int fallback) {
  if (v.IsUndefined() || v.IsNull()) return fallback;
  std::string s = v.ToString().Utf8Value();
  if (s == "TLSv1.2") return TLS1_2_VERSION;
  if (s == "TLSv1.3") return TLS1_3_VERSION;
  if (s == "TLSv1.1") return TLS1_1_VERSION;
  if (s == "TLSv1") return TLS1_VERSION;
  throw TlsError(env, kBadOption, "TLS version must be 'TLSv1', 'TLSv1.1', 'TLSv1.2' or 'TLSv1.3', got " + s);
}

// rejectUnauthorized: false still verifies (tlsInfo() reports why a peer is not authorized),
// but a failure does not end the handshake.
int AcceptAny(int, X509_STORE_CTX*) { return 1; }

int PassphraseCallback(char* buf, int size, int, void* userdata) {
  const std::string* pass = static_cast<const std::string*>(userdata);
  if (pass == nullptr || pass->size() > static_cast<size_t>(size)) return 0;
  std::memcpy(buf, pass->data(), pass->size());
  return static_cast<int>(pass->size());
}

}  // namespace

Napi::Function TlsContext::Define(Napi::Env env) { return DefineClass(env, "TlsContext", {}); }

// new TlsContext({ server, cert, key, passphrase, ca, ciphers, minVersion, maxVersion, alpn,
//                  requestCert, rejectUnauthorized })
TlsContext::TlsContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TlsContext>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "TlsContext(options) needs an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  server_ = o.Get("server").ToBoolean().Value();
  ERR_clear_error();
  ctx_ = SSL_CTX_new(server_ ? TLS_server_method() : TLS_client_method());
  if (ctx_ == nullptr) throw TlsError(env, kBadOption, "SSL_CTX_new failed");

  // No renegotiation (a DoS vector and a source of mid-stream surprises), no compression (CRIME).
  SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS);
  int min = VersionArg(env, o.Get("minVersion"), TLS1_2_VERSION);
  int max = VersionArg(env, o.Get("maxVersion"), 0);
  if (SSL_CTX_set_min_proto_version(ctx_, min) != 1 || SSL_CTX_set_max_proto_version(ctx_, max) != 1)
    throw TlsError(env, kBadOption, "cannot set the TLS versions");

  Napi::Value ciphers = o.Get("ciphers");
  if (ciphers.IsString()) {
    // One list as Node takes it: TLS 1.3 suites (TLS_*) apart from the TLS 1.2 cipher list.
    std::string all = ciphers.As<Napi::String>().Utf8Value(), v12, v13;
    size_t start = 0;
    while (start <= all.size()) {
      size_t end = all.find(':', start);
      if (end == std::string::npos) end = all.size();
      std::string item = all.substr(start, end - start);
      if (!item.empty()) {
        std::string& list = item.rfind("TLS_", 0) == 0 ? v13 : v12;
        if (!list.empty()) list += ':';
        list += item;
      }
      start = end + 1;
    }
    if (!v12.empty() && SSL_CTX_set_cipher_list(ctx_, v12.c_str()) != 1)
      throw TlsError(env, kBadOption, "no usable cipher in '" + v12 + "'");
    if (!v13.empty() && SSL_CTX_set_ciphersuites(ctx_, v13.c_str()) != 1)
      throw TlsError(env, kBadOption, "no usable TLS 1.3 cipher suite in '" + v13 + "'");
  }

  std::string passphrase = o.Get("passphrase").IsString() ? o.Get("passphrase").As<Napi::String>().Utf8Value() : "";
  Napi::Value cert = o.Get("cert"), key = o.Get("key");
  if (!cert.IsUndefined()) LoadCertificateChain(env, cert);
  if (!key.IsUndefined()) LoadKey(env, key, passphrase);
  if (!cert.IsUndefined() && !key.IsUndefined() && SSL_CTX_check_private_key(ctx_) != 1)
    throw TlsError(env, kBadOption, "the key does not match the certificate");
  if (!o.Get("ca").IsUndefined()) LoadCa(env, o.Get("ca"));

  bool reject = o.Get("rejectUnauthorized").ToBoolean().Value();
  bool request = o.Get("requestCert").ToBoolean().Value();
  if (!server_ || request) {
    int mode = SSL_VERIFY_PEER;
    if (server_ && reject) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx_, mode, reject ? nullptr : AcceptAny);
  }

  Napi::Value alpn = o.Get("alpn");
  if (!alpn.IsUndefined()) {
    uint8_t* data;
    size_t len;
    if (!ByteElements(env, alpn, &data, &len)) throw Napi::TypeError::New(env, "alpn must be wire-format bytes");
    alpn_.assign(reinterpret_cast<char*>(data), len);
    if (server_) {
      SSL_CTX_set_alpn_select_cb(ctx_, SelectAlpn, this);
    } else if (SSL_CTX_set_alpn_protos(ctx_, data, static_cast<unsigned>(len)) != 0) {
      throw TlsError(env, kBadOption, "cannot set the ALPN protocols");
    }
  }
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

void TlsContext::LoadCertificateChain(Napi::Env env, const Napi::Value& pem) {
  BioPtr bio = PemBio(env, pem, "cert");
  X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr);
  if (leaf == nullptr) throw TlsError(env, kBadOption, "cert holds no PEM certificate");
  int ok = SSL_CTX_use_certificate(ctx_, leaf);
  X509_free(leaf);
  if (ok != 1) throw TlsError(env, kBadOption, "cannot use the certificate");
  // The rest of the file is the chain, sent after the leaf.
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx_, ca) != 1) {
      X509_free(ca);
      throw TlsError(env, kBadOption, "cannot add a chain certificate");
    }
  }
  ERR_clear_error();  // the end of the file reads as "no start line"
}

void TlsContext::LoadKey(Napi::Env env, const Napi::Value& pem, const std::string& passphrase) {
  BioPtr bio = PemBio(env, pem, "key");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, PassphraseCallback, const_cast<std::string*>(&passphrase));
  if (pkey == nullptr) throw TlsError(env, kBadOption, "cannot read the private key (wrong passphrase?)");
  int ok = SSL_CTX_use_PrivateKey(ctx_, pkey);
  EVP_PKEY_free(pkey);
  if (ok != 1) throw TlsError(env, kBadOption, "cannot use the private key");
}

void TlsContext::LoadCa(Napi::Env env, const Napi::Value& pem) {
  BioPtr bio = PemBio(env, pem, "ca");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
  int count = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    int ok = X509_STORE_add_cert(store, ca);
    X509_free(ca);
    if (ok != 1) throw TlsError(env, kBadOption, "cannot add a CA certificate");
    count++;
  }
  ERR_clear_error();
  if (count == 0) throw TlsError(env, kBadOption, "ca holds no PEM certificate");
}

int TlsContext::SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                           unsigned int inlen, void* arg) {
  const std::string& ours = static_cast<TlsContext*>(arg)->alpn_;
  unsigned char* selected = nullptr;
  int rc = SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(ours.data()),
                                 static_cast<unsigned>(ours.size()), in, inlen);
  if (rc != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol, as Node
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace asynchat
#endif
