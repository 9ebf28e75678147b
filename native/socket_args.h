// The arguments every socket call takes (an fd, flags, a byte range of a Buffer), checked the
// same way by the stream calls (sockets.cc) and the datagram calls (datagrams.cc).
#pragma once

#include <napi.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "typed_args.h"

namespace asynchat {

// Every send: SIGPIPE is never raised (macOS, without MSG_NOSIGNAL, sets SO_NOSIGPIPE instead).
#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;
#endif

inline int FdArg(const Napi::CallbackInfo& info, size_t i = 0) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "fd must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

inline int IntArg(const Napi::CallbackInfo& info, size_t i, int fallback) {
  return info[i].IsNumber() ? info[i].As<Napi::Number>().Int32Value() : fallback;
}

struct Bytes {
  uint8_t* data;
  size_t length;
};

// (buffer, offset?, length?) at info[i..i+2], with bounds checked.
inline Bytes BytesArg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  uint8_t* data;
  size_t size;
  if (!ByteElements(env, info[i], &data, &size)) throw Napi::TypeError::New(env, "expected a Buffer or Uint8Array");
  size_t offset = info[i + 1].IsNumber() ? info[i + 1].As<Napi::Number>().Int64Value() : 0;
  if (offset > size) throw Napi::RangeError::New(env, "offset is out of range");
  size_t length = info[i + 2].IsNumber() ? info[i + 2].As<Napi::Number>().Int64Value() : size - offset;
  if (length > size - offset) throw Napi::RangeError::New(env, "length is out of range");
  return Bytes{data + offset, length};
}

inline void SetConstant(Napi::Object& target, const char* name, int value) {
  target.Set(name, Napi::Number::New(target.Env(), value));
}

}  // namespace asynchat
