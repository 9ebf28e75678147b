// Netstrings (D. J. Bernstein): "<length>:<payload>,", the length in decimal ASCII digits with
// no leading zeros ("0:," is the empty payload, "01:x," is malformed). The payload is the
// frame's one field. A length over maxLength is refused at the digit that passes it, before the
// ':' and the payload arrive.
#include <cstdint>

#include "framer.h"

namespace asynchat {

size_t ParseNetstring(const uint8_t* b, size_t pos, size_t end, const int32_t* config, double* st, FrameOut& out,
                      size_t max_frames) {
  const uint64_t max = static_cast<uint64_t>(config[kNetstringMax]);

  st[kPhase] = 0;  // each frame is read from its first byte: nothing to resume
  size_t p = pos;
  size_t frames = 0;
  size_t committed = out.n;
  auto malformed = [&](size_t bad, int part, int reason) {
    return frame_result::Refuse(st, kBad, p, part, reason, bad - p, b[bad], committed);
  };
  for (;;) {
    if (p == end) return frame_result::End(st, end, committed);
    if (frames == max_frames || !out.Room(4)) return frame_result::Full(st, p, committed);
    size_t q = p;
    uint64_t length = 0;
    if (b[q] == '0') {
      if (++q == end) return frame_result::More(st, p, 1, committed, out);
      if (b[q] != ':') return malformed(q, kPartLength, kNetstringLeadingZero);
    } else {
      if (b[q] < '1' || b[q] > '9') return malformed(q, kPartLength, kNetstringExpectedDigit);
      for (; q < end && b[q] >= '0' && b[q] <= '9'; q++) {
        length = length * 10 + (b[q] - '0');
        if (length > max) return frame_result::Refuse(st, kTooLarge, p, kPartLength, kNetstringTooLarge, 0, -1, committed);
      }
      if (q == end) return frame_result::More(st, p, 1, committed, out);
      if (b[q] != ':') return malformed(q, kPartLength, kNetstringExpectedDigitOrColon);
    }
    const size_t payload = q + 1;
    const size_t total = payload - p + static_cast<size_t>(length) + 1;  // the ',' included
    if (end - p < total) return frame_result::More(st, p, total - (end - p), committed, out);
    const size_t comma = payload + static_cast<size_t>(length);
    if (b[comma] != ',') return malformed(comma, kPartPayload, kNetstringExpectedComma);
    out.Field(payload, static_cast<size_t>(length));
    p = comma + 1;
    out.End(p);
    committed = out.n;
    frames++;
  }
}

}  // namespace asynchat
