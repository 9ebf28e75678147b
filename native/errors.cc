#include "errors.h"

#include <uv.h>

#include <cerrno>
#include <cctype>
#include <cstring>

namespace asynchat {
namespace {

// errno names that libuv's table lacks (EINPROGRESS above all, which every non-blocking
// connect returns) but Node's os.constants.errno has. libuv is asked first, so where two
// names share a value (EAGAIN and EWOULDBLOCK) the name Node uses wins.
struct ErrnoEntry {
  int value;
  const char* name;
};
const ErrnoEntry kExtraNames[] = {
#define ASYNCHAT_ERRNO(name) {name, #name},
#ifdef EINPROGRESS
    ASYNCHAT_ERRNO(EINPROGRESS)
#endif
#ifdef EWOULDBLOCK
    ASYNCHAT_ERRNO(EWOULDBLOCK)
#endif
#ifdef EOPNOTSUPP
    ASYNCHAT_ERRNO(EOPNOTSUPP)
#endif
#ifdef ENETRESET
    ASYNCHAT_ERRNO(ENETRESET)
#endif
#ifdef EBADMSG
    ASYNCHAT_ERRNO(EBADMSG)
#endif
#ifdef ECHILD
    ASYNCHAT_ERRNO(ECHILD)
#endif
#ifdef EDEADLK
    ASYNCHAT_ERRNO(EDEADLK)
#endif
#ifdef EDOM
    ASYNCHAT_ERRNO(EDOM)
#endif
#ifdef EDQUOT
    ASYNCHAT_ERRNO(EDQUOT)
#endif
#ifdef EIDRM
    ASYNCHAT_ERRNO(EIDRM)
#endif
#ifdef EMULTIHOP
    ASYNCHAT_ERRNO(EMULTIHOP)
#endif
#ifdef ENOEXEC
    ASYNCHAT_ERRNO(ENOEXEC)
#endif
#ifdef ENOLCK
    ASYNCHAT_ERRNO(ENOLCK)
#endif
#ifdef ENOLINK
    ASYNCHAT_ERRNO(ENOLINK)
#endif
#ifdef ENOMSG
    ASYNCHAT_ERRNO(ENOMSG)
#endif
#ifdef ENOSR
    ASYNCHAT_ERRNO(ENOSR)
#endif
#ifdef ENOSTR
    ASYNCHAT_ERRNO(ENOSTR)
#endif
#ifdef ESTALE
    ASYNCHAT_ERRNO(ESTALE)
#endif
#ifdef ETIME
    ASYNCHAT_ERRNO(ETIME)
#endif
#undef ASYNCHAT_ERRNO
};

const char* ExtraName(int err) {
  for (const ErrnoEntry& e : kExtraNames)
    if (e.value == err) return e.name;
  return nullptr;
}

bool LibuvKnows(int err) {
  char buf[64];
  uv_err_name_r(-err, buf, sizeof(buf));
  return std::strncmp(buf, "Unknown", 7) != 0;
}

// strerror_r is the XSI one (int) or the GNU one (char*) depending on the libc.
[[maybe_unused]] const char* StrerrorResult(int rc, const char* buf) { return rc == 0 ? buf : nullptr; }
[[maybe_unused]] const char* StrerrorResult(const char* s, const char*) { return s; }

}  // namespace

std::string ErrnoName(int err) {
  char buf[64];
  uv_err_name_r(-err, buf, sizeof(buf));
  if (std::strncmp(buf, "Unknown", 7) == 0) {
    if (const char* name = ExtraName(err)) return name;
  }
  return buf;
}

std::string ErrnoMessage(int err) {
  char buf[256];
  if (!LibuvKnows(err) && ExtraName(err) != nullptr) {
    // Lower-cased like libuv's messages ("operation now in progress").
    const char* text = StrerrorResult(strerror_r(err, buf, sizeof(buf)), buf);
    if (text != nullptr) {
      std::string message = text;
      if (!message.empty()) message[0] = static_cast<char>(std::tolower(message[0]));
      return message;
    }
  }
  uv_strerror_r(-err, buf, sizeof(buf));
  return buf;
}

Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", code);
  return error;
}

void ThrowCodedError(Napi::Env env, const char* code, const std::string& message) {
  throw CodedError(env, code, message);
}

Napi::Error SystemError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  std::string code = ErrnoName(err);
  std::string message = code + ": " + ErrnoMessage(err) + ", " + syscall;
  if (!detail.empty()) message += " " + detail;
  Napi::Error error = CodedError(env, code.c_str(), message);
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", syscall);
  return error;
}

void ThrowSystemError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  throw SystemError(env, err, syscall, detail);
}

}  // namespace asynchat
