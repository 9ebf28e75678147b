// libFuzzer harness for the framers' parsers (native/framer_*.cc), outside the addon's build:
//
//   node scripts/fuzz-framers.mjs [seconds]     (clang with -fsanitize=fuzzer,address,undefined)
//
// The first bytes of an input choose a framer and its options, and where the rest is cut into
// reads; the rest is the stream. It is parsed twice: whole, in one range with room for every
// field, and read by read, the way src/asynchat/frame-splitter.ts drives the parsers (an
// unfinished frame kept from its first byte and the call resumed with the state it left, a
// small results array so that calls run out of room, at most a few frames per call). Both must
// find the same frames with the same fields, and end the same way (the same refusal at the same
// offset, or the same unfinished frame). Every position a parser writes must lie in its range.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../../native/framer.h"

using namespace asynchat;

namespace {

struct Outcome {
  std::vector<std::vector<std::string>> frames;
  int status = kEnd;  // kEnd (at a boundary), kMore (unfinished frame), kBad, kTooLarge
  int reason = 0;
  double offset = 0;
  double detail = 0;
  size_t pending = 0;  // bytes of an unfinished frame
};

[[noreturn]] void Fail(const char* what) {
  fprintf(stderr, "framer_fuzz: %s\n", what);
  abort();
}

// Reads entries [from, to) of out over buf (a field's bytes, a frame's end) into frames; returns
// the fields of a frame not yet ended.
void Collect(const std::string& buf, size_t lo, size_t hi, const int32_t* out, size_t from, size_t to,
             std::vector<std::string>& open, Outcome& o) {
  for (size_t i = from; i < to; i += 2) {
    int32_t a = out[i], b = out[i + 1];
    if (a >= 0) {
      size_t len = b >= 0 ? static_cast<size_t>(b) : static_cast<size_t>(-1 - b);
      if (static_cast<size_t>(a) < lo || static_cast<size_t>(a) + len > hi) Fail("a field outside the range");
      open.push_back((b >= 0 ? "" : "q:") + buf.substr(a, len));
    } else if (a == -1 || a == -2) {
      if (static_cast<size_t>(b) < lo || static_cast<size_t>(b) > hi) Fail("a frame end outside the range");
      if (a == -1) {
        if (open.empty()) Fail("a frame without fields");
        o.frames.push_back(open);
      } else if (!open.empty()) {
        Fail("bytes skipped inside a frame");
      }
      open.clear();
    } else {
      Fail("an entry that is neither a field nor an end");
    }
  }
}

Outcome Whole(const std::string& s, const int32_t* config) {
  Outcome o;
  double st[kStateSlots] = {};
  std::vector<int32_t> out(2 * s.size() + 8);
  std::vector<std::string> open;
  size_t pos = 0;
  for (;;) {
    FrameOut fo{out.data(), out.size()};
    size_t n = ParseFrames(reinterpret_cast<const uint8_t*>(s.data()), pos, s.size(), config, st, fo, 1 << 20);
    Collect(s, pos, s.size(), out.data(), 0, n, open, o);
    open.clear();
    int status = static_cast<int>(st[kStatus]);
    if (status == kFull) {
      pos = static_cast<size_t>(st[kStop]);
      continue;
    }
    if (status == kMore && st[kNeed] == 0) Fail("no room with room for every field");
    o.status = status;
    if (status == kMore) o.pending = s.size() - static_cast<size_t>(st[kStop]);
    if (status == kBad || status == kTooLarge) {
      o.reason = static_cast<int>(st[kReason]);
      o.offset = st[kOffset];
      o.detail = st[kDetail];
    }
    return o;
  }
}

Outcome ReadByRead(const std::string& s, const int32_t* config, const std::vector<size_t>& cuts, size_t cap,
                   size_t max_frames) {
  Outcome o;
  double st[kStateSlots] = {};
  std::vector<int32_t> out(cap);
  std::string acc;                  // the bytes from the first one not parsed to the end of the last read
  std::vector<std::string> open;    // fields of the unfinished frame at acc's start
  size_t from = 0;
  for (size_t c = 0; c <= cuts.size(); c++) {
    size_t to = c < cuts.size() ? cuts[c] : s.size();
    acc.append(s, from, to - from);
    from = to;
    size_t pos = 0;
    while (pos < acc.size()) {
      FrameOut fo{out.data(), out.size()};
      size_t n = ParseFrames(reinterpret_cast<const uint8_t*>(acc.data()), pos, acc.size(), config, st, fo, max_frames);
      Collect(acc, pos, acc.size(), out.data(), 0, n, open, o);
      int status = static_cast<int>(st[kStatus]);
      size_t stop = static_cast<size_t>(st[kStop]);
      if (status == kEnd) {
        pos = acc.size();
      } else if (status == kFull) {
        if (stop <= pos && n == 0) Fail("full without progress");
        pos = stop;
      } else if (status == kMore) {
        size_t partial = static_cast<size_t>(st[kPartial]);
        // The fields found so far of the unfinished frame: kept, and the frame's bytes from its start.
        std::vector<std::string> more;
        Collect(acc, stop, acc.size(), out.data(), n, n + partial, more, o);
        open.insert(open.end(), more.begin(), more.end());
        acc.erase(0, stop);
        pos = 0;
        if (st[kNeed] > 0) break;  // the next read
        continue;                  // no room: the same range again, resumed
      } else {
        o.status = status;
        o.reason = static_cast<int>(st[kReason]);
        o.offset = st[kOffset];
        o.detail = st[kDetail];
        return o;
      }
      if (status != kMore) {
        st[kPhase] = 0;
        open.clear();
      }
    }
    if (pos == acc.size()) acc.clear();
  }
  o.status = acc.empty() ? kEnd : kMore;
  o.pending = acc.size();
  return o;
}

bool Same(const Outcome& a, const Outcome& b) {
  return a.frames == b.frames && a.status == b.status && a.reason == b.reason && a.offset == b.offset &&
         a.detail == b.detail && a.pending == b.pending;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  int32_t config[kConfigWords] = {};
  uint8_t pick = data[0] % 3;
  if (pick == 0) {
    int32_t small[] = {kFramerResp, 1 + data[1] % 8, data[2] % 32, data[3] % 48, 16 + data[4]};
    int32_t large[] = {kFramerResp, 1 << 20, 1 << 26, 65536, 1 << 27};
    const int32_t* c = data[1] & 0x80 ? large : small;
    for (int i = 0; i < 5; i++) config[i] = c[i];
  } else if (pick == 1) {
    static const int32_t sizes[] = {1, 2, 3, 4, 8};
    int32_t size_field = sizes[data[1] % 5];
    int32_t offset = data[2] % 4;
    config[0] = kFramerLength;
    config[kLengthOffset] = offset;
    config[kLengthFieldLength] = size_field;
    config[kLengthLittleEndian] = data[3] & 1;
    config[kLengthAdjustment] = static_cast<int8_t>(data[4]) % 8;
    config[kLengthStrip] = data[3] >> 4;
    config[kLengthMax] = offset + size_field + data[5] % 64;
  } else {
    config[0] = kFramerNetstring;
    config[kNetstringMax] = data[1] % 40;
  }
  if (!ValidFramerConfig(config, kConfigWords)) return 0;
  size_t cap = 4 + 2 * (data[6] % 8);
  size_t max_frames = 1 + data[7] % 4;
  std::string stream(reinterpret_cast<const char*>(data) + 8, size - 8);
  std::vector<size_t> cuts;
  for (size_t i = 0; i < stream.size(); i++) {
    if ((static_cast<uint8_t>(stream[i]) * 31 + i) % 7 == 0) cuts.push_back(i);
  }
  Outcome whole = Whole(stream, config);
  Outcome reads = ReadByRead(stream, config, cuts, cap, max_frames);
  if (!Same(whole, reads)) Fail("read by read differs from the whole stream");
  return 0;
}
