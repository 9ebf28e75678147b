// The addon's errors, made in one place each way:
// - CodedError: an Error with a stable `code` (ERR_ASYNCHAT_*, registered in src/errors.ts
//   and the table of docs/errors.md), the C++ side of asynchatError() in TypeScript.
// - SystemError: shaped like Node's own system errors: `code` ("ECONNREFUSED"), `errno`
//   (negative, as in Node), `syscall`, and a readable message. Names come from libuv's table,
//   so errno values cross into JavaScript by name and never by platform-specific number.
#pragma once

#include <napi.h>

#include <string>

namespace asynchat {

Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void ThrowCodedError(Napi::Env env, const char* code, const std::string& message);

std::string ErrnoName(int err);
std::string ErrnoMessage(int err);
Napi::Error SystemError(Napi::Env env, int err, const char* syscall,
                        const std::string& detail = std::string());
[[noreturn]] void ThrowSystemError(Napi::Env env, int err, const char* syscall,
                                   const std::string& detail = std::string());

}  // namespace asynchat
