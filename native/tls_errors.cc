#ifdef ASYNCHAT_HAVE_TLS
#include "tls_errors.h"

#include "errors.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

namespace asynchat {

std::string DrainOpenSslErrors(std::string* all, unsigned long* last) {
  std::string first;
  unsigned long e;
  char buf[256];
  if (last != nullptr) *last = 0;
  while ((e = ERR_get_error()) != 0) {
    if (last != nullptr) *last = e;
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!all->empty()) *all += "; ";
    *all += buf;
    if (first.empty()) {
      const char* r = ERR_reason_error_string(e);
      first = r != nullptr ? r : buf;
    }
  }
  return first;
}

namespace {
struct VerifyName {
  long value;
  const char* name;
};
#define V(n) {X509_V_ERR_##n, #n}
const VerifyName kVerifyNames[] = {
    V(UNABLE_TO_GET_ISSUER_CERT), V(UNABLE_TO_GET_CRL), V(UNABLE_TO_DECRYPT_CERT_SIGNATURE),
    V(UNABLE_TO_DECRYPT_CRL_SIGNATURE), V(UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY), V(CERT_SIGNATURE_FAILURE),
    V(CRL_SIGNATURE_FAILURE), V(CERT_NOT_YET_VALID), V(CERT_HAS_EXPIRED), V(CRL_NOT_YET_VALID),
    V(CRL_HAS_EXPIRED), V(ERROR_IN_CERT_NOT_BEFORE_FIELD), V(ERROR_IN_CERT_NOT_AFTER_FIELD),
    V(DEPTH_ZERO_SELF_SIGNED_CERT), V(SELF_SIGNED_CERT_IN_CHAIN), V(UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
    V(UNABLE_TO_VERIFY_LEAF_SIGNATURE), V(CERT_CHAIN_TOO_LONG), V(CERT_REVOKED), V(INVALID_CA),
    V(PATH_LENGTH_EXCEEDED), V(INVALID_PURPOSE), V(CERT_UNTRUSTED), V(CERT_REJECTED),
    V(HOSTNAME_MISMATCH), V(IP_ADDRESS_MISMATCH), V(EMAIL_MISMATCH), V(KEYUSAGE_NO_CERTSIGN),
    V(EE_KEY_TOO_SMALL), V(CA_KEY_TOO_SMALL), V(CA_MD_TOO_WEAK), V(INVALID_CALL),
};
#undef V
}  // namespace

std::string VerifyResultName(long result) {
  for (const VerifyName& v : kVerifyNames)
    if (v.value == result) return v.name;
  return "X509_V_ERR_" + std::to_string(result);
}

Napi::Error TlsError(Napi::Env env, const char* code, const std::string& what, std::string reason) {
  std::string all;
  unsigned long last = 0;
  std::string first = DrainOpenSslErrors(&all, &last);
  if (reason.empty()) reason = first;
  std::string message = what;
  if (!reason.empty()) message += ": " + reason;
  if (!all.empty() && all != reason) message += " (" + all + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", code);
  if (!reason.empty()) error.Set("reason", reason);
  SetSslErrorFields(error, last);
  return error;
}

namespace {

struct LibraryName {
  int lib;
  const char* name;
};
// Python's names for OpenSSL's libraries (its _ssl_data tables), for the ones a TLS error
// comes from; any other is named by OpenSSL's own text.
const LibraryName kLibraryNames[] = {
    {ERR_LIB_SSL, "SSL"},       {ERR_LIB_X509, "X509"},   {ERR_LIB_X509V3, "X509V3"}, {ERR_LIB_PEM, "PEM"},
    {ERR_LIB_EVP, "EVP"},       {ERR_LIB_ASN1, "ASN1"},   {ERR_LIB_BIO, "BIO"},       {ERR_LIB_SYS, "SYS"},
    {ERR_LIB_RSA, "RSA"},       {ERR_LIB_EC, "EC"},       {ERR_LIB_DH, "DH"},         {ERR_LIB_PKCS12, "PKCS12"},
    {ERR_LIB_PKCS7, "PKCS7"},   {ERR_LIB_CRYPTO, "CRYPTO"}, {ERR_LIB_BUF, "BUF"},     {ERR_LIB_RAND, "RAND"},
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    {ERR_LIB_PROV, "PROV"},
#endif
};

std::string LibraryOf(unsigned long code) {
  int lib = ERR_GET_LIB(code);
  for (const LibraryName& l : kLibraryNames)
    if (l.lib == lib) return l.name;
  const char* text = ERR_lib_error_string(code);
  return text != nullptr ? text : std::string();
}

// Python names a reason by OpenSSL's macro (SSL_R_WRONG_VERSION_NUMBER: "WRONG_VERSION_NUMBER");
// OpenSSL's text for it is that name in lower case with spaces ("wrong version number"), so the
// name is the text back in upper case.
std::string ReasonNameOf(unsigned long code) {
  const char* text = ERR_reason_error_string(code);
  if (text == nullptr) return std::string();
  std::string name;
  for (const char* c = text; *c != '\0'; c++) {
    if (*c >= 'a' && *c <= 'z') name += static_cast<char>(*c - 'a' + 'A');
    else if ((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')) name += *c;
    else name += '_';
  }
  return name;
}

}  // namespace

void SetSslErrorFields(Napi::Error& error, unsigned long last) {
  if (last == 0) {
    error.Set("sslErrno", Napi::Number::New(error.Env(), kPySslErrorSyscall));
    return;
  }
#if defined(SSL_R_UNEXPECTED_EOF_WHILE_READING)
  bool eof = ERR_GET_LIB(last) == ERR_LIB_SSL && ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
#else
  bool eof = false;
#endif
  error.Set("sslErrno", Napi::Number::New(error.Env(), eof ? kPySslErrorEof : kPySslErrorSsl));
  std::string library = LibraryOf(last), reason = ReasonNameOf(last);
  if (!library.empty()) error.Set("library", library);
  if (!reason.empty()) error.Set("sslReason", reason);
}

void SetVerifyFields(Napi::Error& error, SSL* ssl, long verify) {
  error.Set("verifyCode", static_cast<double>(verify));
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  std::string message;
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH) {
    const char* host = X509_VERIFY_PARAM_get0_host(param, 0);
    message = std::string("Hostname mismatch, certificate is not valid for '") + (host != nullptr ? host : "") + "'.";
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  } else if (verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    char* ip = X509_VERIFY_PARAM_get1_ip_asc(param);
    message = std::string("IP address mismatch, certificate is not valid for '") + (ip != nullptr ? ip : "") + "'.";
    OPENSSL_free(ip);
#endif
  } else {
    message = X509_verify_cert_error_string(verify);
  }
  error.Set("verifyMessage", message);
}

void SetEofFields(Napi::Error& error) {
  error.Set("sslErrno", Napi::Number::New(error.Env(), kPySslErrorEof));
  error.Set("library", "SSL");
  error.Set("sslReason", "UNEXPECTED_EOF_WHILE_READING");
}

Napi::Error TlsEofError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error e = CodedError(env, code, message);
  e.Set("reason", "unexpected eof while reading");
  SetEofFields(e);
  return e;
}

}  // namespace asynchat
#endif
