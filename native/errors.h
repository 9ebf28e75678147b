// Errors shaped like Node's own system errors: `code` ("ECONNREFUSED"), `errno` (negative,
// as in Node), `syscall`, and a readable message. Names come from libuv's table, so errno
// values cross into JavaScript by name and never by platform-specific number.
#pragma once

#include <napi.h>

#include <string>

namespace asynchat {

std::string ErrnoName(int err);
std::string ErrnoMessage(int err);
Napi::Error SystemError(Napi::Env env, int err, const char* syscall,
                        const std::string& detail = std::string());
[[noreturn]] void ThrowSystemError(Napi::Env env, int err, const char* syscall,
                                   const std::string& detail = std::string());

}  // namespace asynchat
