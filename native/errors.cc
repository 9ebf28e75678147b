#include "errors.h"

#include <uv.h>

namespace asynchat {

std::string ErrnoName(int err) {
  char buf[64];
  uv_err_name_r(-err, buf, sizeof(buf));
  return buf;
}

std::string ErrnoMessage(int err) {
  char buf[256];
  uv_strerror_r(-err, buf, sizeof(buf));
  return buf;
}

Napi::Error SystemError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  std::string code = ErrnoName(err);
  std::string message = code + ": " + ErrnoMessage(err) + ", " + syscall;
  if (!detail.empty()) message += " " + detail;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", code);
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", syscall);
  return error;
}

void ThrowSystemError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  throw SystemError(env, err, syscall, detail);
}

}  // namespace asynchat
