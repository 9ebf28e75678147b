#ifdef ASYNCHAT_HAVE_TLS
#include "tls_errors.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

namespace asynchat {

std::string DrainOpenSslErrors(std::string* all) {
  std::string first;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
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
  std::string first = DrainOpenSslErrors(&all);
  if (reason.empty()) reason = first;
  std::string message = what;
  if (!reason.empty()) message += ": " + reason;
  if (!all.empty() && all != reason) message += " (" + all + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", code);
  if (!reason.empty()) error.Set("reason", reason);
  return error;
}

}  // namespace asynchat
#endif
