// The one shape of a non-blocking transfer (recv, send, read, write, writev, and recvScan's
// recv): the call is retried after EINTR, and its result crosses into JavaScript as the byte
// count, -1 when it would block, or a thrown system error.
#pragma once

#include <napi.h>
#include <sys/types.h>

#include <cerrno>

#include "errors.h"

namespace asynchat {

// Calls `call` until it fails with something other than EINTR or succeeds (a result >= 0).
template <typename Call>
inline auto RetryEintr(Call call) -> decltype(call()) {
  decltype(call()) rc;
  do rc = call();
  while (rc < 0 && errno == EINTR);
  return rc;
}

// n as a number when the transfer happened, -1 when it would have blocked; any other failure
// of `syscall` (errno as the call left it) is thrown.
inline Napi::Value TransferResult(Napi::Env env, ssize_t n, const char* syscall) {
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowSystemError(env, errno, syscall);
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

}  // namespace asynchat
