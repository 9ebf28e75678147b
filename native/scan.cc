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
// - A single-byte terminator is found with memchr, a longer one with memchr + memcmp falling
//   back to memmem (FindMulti); both are linear,
//   and the caller resumes where the previous call stopped, so the total work is linear in the
//   bytes received whatever the record sizes.
//
//   recvScan(fd, buf, offset, size, terminator, out, max, minBytes) -> bytes read
//
// - recv() into buf[offset, offset + size), then the scan above over what arrived, in the same
//   crossing: a channel reading short records pays one call per read, not two.
#include <napi.h>
#include <string.h>
#include <sys/socket.h>

#include <cerrno>

#include <string>

#include "addon_state.h"
#include "errors.h"
#include "scan.h"
#include "transfer.h"
#include "typed_args.h"

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

// Finds a terminator of two or more bytes in [p, end). Candidate by candidate (memchr on the
// first byte, memcmp on the rest) is the fastest on protocol data, where the first byte is
// rare; memmem pays a set-up cost per call and is slower per byte on long records (bench/scan-threshold.mjs). When
// candidates keep failing (runs of '\r'), the credit earned by skipped bytes runs out and the
// rest of the call uses memmem, whose worst case is linear: either way the work stays linear.
const uint8_t* FindMulti(const uint8_t* p, const uint8_t* end, const uint8_t* t, size_t tlen,
                         long* credit) {
  while (*credit > 0) {
    size_t left = end - p;
    if (left < tlen) return nullptr;
    const uint8_t* c = static_cast<const uint8_t*>(memchr(p, t[0], left - tlen + 1));
    if (c == nullptr) return nullptr;
    if (memcmp(c + 1, t + 1, tlen - 1) == 0) return c;
    *credit += static_cast<long>(c - p) - 32 - static_cast<long>(tlen);
    p = c + 1;
  }
  return static_cast<const uint8_t*>(memmem(p, end - p, t, tlen));
}

// The scan proper: the first max occurrences of t in data[start, end), left to right without
// overlap, into found; when the search reached the end (fewer than max), found[count] is the
// partial terminator the data ends with. Returns count.
size_t FindRecords(const uint8_t* data, size_t start, size_t end, const uint8_t* t, size_t tlen, int32_t* found,
                   size_t max) {
  size_t count = 0, pos = start;
  long credit = 1024;
  while (count < max && end - pos >= tlen) {
    const uint8_t* hit;
    if (tlen == 1)
      hit = static_cast<const uint8_t*>(memchr(data + pos, t[0], end - pos));
    else
      hit = FindMulti(data + pos, data + end, t, tlen, &credit);
    if (hit == nullptr) break;
    size_t at = hit - data;
    found[count++] = static_cast<int32_t>(at);
    pos = at + tlen;
  }
  if (count < max)
    found[count] = static_cast<int32_t>(PrefixAtEnd(data + pos, end - pos, t, tlen));
  return count;
}

// What scan() and recvScan() share: the terminator, the output array and the most records to
// look for, checked. `reserved` slots at the end of out are not for positions (the partial
// terminator's length; recvScan's count).
struct Search {
  uint8_t* data;
  size_t data_len;
  const uint8_t* t;
  size_t tlen;
  int32_t* out;
  size_t out_len;
  size_t max;
};

Search SearchArgs(const Napi::CallbackInfo& info, size_t buf_i, size_t term_i, size_t out_i, size_t max_i,
                  size_t reserved, const char* usage) {
  Napi::Env env = info.Env();
  Search s;
  uint8_t* t;
  if (!ByteElements(env, info[buf_i], &s.data, &s.data_len) || !ByteElements(env, info[term_i], &t, &s.tlen) ||
      !TypedElements(env, info[out_i], napi_int32_array, &s.out, &s.out_len))
    throw Napi::TypeError::New(env, usage);
  s.t = t;
  s.max = IndexArg(info[max_i], "max");
  if (s.tlen == 0) throw Napi::RangeError::New(env, "scan: empty terminator");
  if (s.out_len < reserved) throw Napi::RangeError::New(env, "scan: out is too short");
  if (s.max > s.out_len - reserved) s.max = s.out_len - reserved;
  return s;
}

Napi::Value Scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Search s = SearchArgs(info, 0, 3, 4, 5, 1,
                        "scan(buf: Uint8Array, start, end, terminator: Uint8Array, out: Int32Array, max)");
  size_t start = IndexArg(info[1], "start");
  size_t end = IndexArg(info[2], "end");
  if (end > s.data_len || start > end) throw Napi::RangeError::New(env, "scan: start/end out of range");
  if (end > 0x7fffffff) throw Napi::RangeError::New(env, "scan: buffer too large");

  GetState(env)->stats.scans++;
  size_t count = FindRecords(s.data, start, end, s.t, s.tlen, s.out, s.max);
  return Napi::Number::New(env, static_cast<double>(count));
}

// recvScan(fd, buf, offset, size, terminator, out, max, minBytes) -> bytes read, 0 at end of
// stream, -1 when nothing was there (recv's contract). When at least minBytes arrived, the
// records of buf[offset, offset + n) are found in the same crossing: positions relative to
// offset in out[0..count), the partial terminator after them as scan() gives it, and count in
// the last slot of out (-1 when no scan was made). One call per read instead of two.
Napi::Value RecvScan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "fd must be a number");
  int fd = info[0].As<Napi::Number>().Int32Value();
  Search s = SearchArgs(info, 1, 4, 5, 6, 2,
                        "recvScan(fd, buf: Uint8Array, offset, size, terminator: Uint8Array, out: Int32Array, max, minBytes)");
  size_t offset = IndexArg(info[2], "offset");
  size_t size = IndexArg(info[3], "size");
  size_t min_bytes = IndexArg(info[7], "minBytes");
  if (offset > s.data_len || size > s.data_len - offset)
    throw Napi::RangeError::New(env, "recvScan: offset/size out of range");
  if (size > 0x7fffffff) throw Napi::RangeError::New(env, "recvScan: size too large");

  AddonState* state = GetState(env);
  state->stats.reads++;
  int32_t& count_slot = s.out[s.out_len - 1];
  count_slot = -1;
  ssize_t n = RetryEintr([&] { return recv(fd, s.data + offset, size, 0); });
  if (n < 0) return TransferResult(env, n, "recv");
  if (n > 0 && static_cast<size_t>(n) >= min_bytes) {
    state->stats.scans++;
    count_slot = static_cast<int32_t>(FindRecords(s.data + offset, 0, n, s.t, s.tlen, s.out, s.max));
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

}  // namespace

size_t FindTerminators(const uint8_t* data, size_t start, size_t end, const uint8_t* t, size_t tlen,
                       int32_t* found, size_t max) {
  return FindRecords(data, start, end, t, tlen, found, max);
}

void InitScan(Napi::Env env, Napi::Object exports) {
  exports.Set("scan", Napi::Function::New<Scan>(env, "scan"));
  exports.Set("recvScan", Napi::Function::New<RecvScan>(env, "recvScan"));
}

}  // namespace asynchat
