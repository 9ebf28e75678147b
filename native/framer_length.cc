// Frames announced by a length field, with the options and the arithmetic of Netty's
// LengthFieldBasedFrameDecoder:
//
//   frame length = the field's value + lengthAdjustment + lengthFieldOffset + lengthFieldLength
//
// counted from the frame's first byte; the frame's one field is the frame less its first
// initialBytesToStrip bytes. The length field is 1, 2, 3, 4 or 8 bytes, big- or little-endian,
// unsigned except the 8-byte one (Netty reads it as a signed long: a negative value is
// refused). Refused as malformed, as Netty does: a frame length shorter than the header
// (lengthFieldOffset + lengthFieldLength) or than initialBytesToStrip; refused as too large: a
// frame length over maxFrameLength (which counts the whole frame, stripped bytes included).
// Every check is made from the header, before the rest of the frame is waited for (Netty checks
// initialBytesToStrip only once the frame is whole; the outcome is the same).
#include <cstdint>

#include "framer.h"

namespace asynchat {
namespace {

uint64_t ReadField(const uint8_t* p, size_t size, bool little_endian) {
  uint64_t v = 0;
  if (little_endian) {
    for (size_t i = size; i > 0; i--) v = (v << 8) | p[i - 1];
  } else {
    for (size_t i = 0; i < size; i++) v = (v << 8) | p[i];
  }
  return v;
}

}  // namespace

size_t ParseLengthPrefixed(const uint8_t* b, size_t pos, size_t end, const int32_t* config, double* st,
                           FrameOut& out, size_t max_frames) {
  const size_t offset = static_cast<size_t>(config[kLengthOffset]);
  const size_t size = static_cast<size_t>(config[kLengthFieldLength]);
  const bool little_endian = config[kLengthLittleEndian] != 0;
  const int64_t adjustment = config[kLengthAdjustment];
  const int64_t strip = config[kLengthStrip];
  const int64_t max = config[kLengthMax];
  const int64_t header = static_cast<int64_t>(offset + size);  // Netty's lengthFieldEndOffset

  st[kPhase] = 0;  // each frame is read from its first byte: nothing to resume
  size_t p = pos;
  size_t frames = 0;
  size_t committed = out.n;
  for (;;) {
    if (p == end) return frame_result::End(st, end, committed);
    if (frames == max_frames || !out.Room(4)) return frame_result::Full(st, p, committed);
    const size_t have = end - p;
    if (have < static_cast<size_t>(header)) return frame_result::More(st, p, static_cast<size_t>(header) - have, committed, out);
    const uint64_t value = ReadField(b + p + offset, size, little_endian);
    if (size == 8 && (value >> 63) != 0) {
      return frame_result::Refuse(st, kBad, p, kPartLengthField, kLengthNegative, offset, static_cast<double>(static_cast<int64_t>(value)),
                                  committed);
    }
    // In 128 bits: the value (< 2^63) plus an int32 adjustment and the header cannot overflow, and
    // the length a refusal reports is exact (Netty's long arithmetic can wrap here).
    const __int128 length = static_cast<__int128>(value) + adjustment + header;
    if (length < header) {
      return frame_result::Refuse(st, kBad, p, kPartLengthField, kLengthShorterThanHeader, offset, static_cast<double>(length), committed);
    }
    if (length > max) {
      return frame_result::Refuse(st, kTooLarge, p, kPartLengthField, kLengthTooLarge, offset, static_cast<double>(length), committed);
    }
    if (strip > length) {
      return frame_result::Refuse(st, kBad, p, kPartLengthField, kLengthShorterThanStrip, offset, static_cast<double>(length), committed);
    }
    if (static_cast<__int128>(have) < length) {
      return frame_result::More(st, p, static_cast<size_t>(length) - have, committed, out);
    }
    out.Field(p + static_cast<size_t>(strip), static_cast<size_t>(length - strip));
    p += static_cast<size_t>(length);
    out.End(p);
    committed = out.n;
    frames++;
  }
}

}  // namespace asynchat
