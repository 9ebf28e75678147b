// Terminator scanning for AsyncChat.
//
// One call finds every record in a received chunk, so many short records cost one crossing
// between JavaScript and C++ rather than one per record.
//
//   scan(buf, start, end, terminator, out: Int32Array, max) -> count
//
// - Writes the index at which each of the first `count` occurrences of `terminator` starts,
//   searching left to right without overlap (the next search starts after the terminator),
//   exactly as Python's repeated `find` does.
// - If the search reached `end` (count < max), out[count] is the length of the longest proper
//   prefix of `terminator` that the rest of the chunk ends with (Python's
//   find_prefix_at_end): those bytes must be kept for the next read.
// - A single-byte terminator is found with memchr, a longer one with memmem; both are linear,
//   and the caller resumes where the previous call stopped, so the total work is linear in the
//   bytes received whatever the record sizes.
#include <napi.h>
#include <string.h>

#include "addon_state.h"
#include "scan.h"

namespace asynchat {
namespace {

size_t PrefixAtEnd(const uint8_t* hay, size_t hay_len, const uint8_t* needle, size_t needle_len) {
  size_t l = needle_len - 1;
  if (l > hay_len) l = hay_len;
  for (; l > 0; l--) {
    if (memcmp(hay + hay_len - l, needle, l) == 0) return l;
  }
  return 0;
}

Napi::Value Scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || !info[3].IsTypedArray() || !info[4].IsTypedArray())
    throw Napi::TypeError::New(env, "scan(buf, start, end, terminator, out, max)");
  Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
  size_t start = info[1].As<Napi::Number>().Int64Value();
  size_t end = info[2].As<Napi::Number>().Int64Value();
  Napi::Uint8Array term = info[3].As<Napi::Uint8Array>();
  Napi::Int32Array out = info[4].As<Napi::Int32Array>();
  size_t max = info[5].As<Napi::Number>().Int64Value();
  if (end > buf.ElementLength() || start > end)
    throw Napi::RangeError::New(env, "scan: start/end out of range");
  if (max + 1 > out.ElementLength()) max = out.ElementLength() - 1;
  if (end - start > 0x7fffffff) throw Napi::RangeError::New(env, "scan: chunk too large");
  size_t tlen = term.ElementLength();
  if (tlen == 0) throw Napi::RangeError::New(env, "scan: empty terminator");

  GetState(env)->stats.scans++;
  const uint8_t* data = buf.Data();
  const uint8_t* t = term.Data();
  int32_t* found = out.Data();
  size_t count = 0, pos = start;
  while (count < max && end - pos >= tlen) {
    const uint8_t* hit;
    if (tlen == 1)
      hit = static_cast<const uint8_t*>(memchr(data + pos, t[0], end - pos));
    else
      hit = static_cast<const uint8_t*>(memmem(data + pos, end - pos, t, tlen));
    if (hit == nullptr) break;
    size_t at = hit - data;
    found[count++] = static_cast<int32_t>(at);
    pos = at + tlen;
  }
  if (count < max) found[count] = static_cast<int32_t>(PrefixAtEnd(data + pos, end - pos, t, tlen));
  return Napi::Number::New(env, static_cast<double>(count));
}

}  // namespace

void InitScan(Napi::Env env, Napi::Object exports) {
  exports.Set("scan", Napi::Function::New<Scan>(env, "scan"));
}

}  // namespace asynchat
