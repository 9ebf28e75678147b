// What the three parsers share: the dispatch on the framer's kind, the checks that a config and
// a state from JavaScript are safe to run, and the words that explain a refused frame.
#include "framer.h"

#include <cmath>

namespace asynchat {
namespace {

// Indexed by FrameReason. The texts are part of the API (an error's `expected` or `limit`).
const char* const kReasonTexts[kFrameReasonCount] = {
    "",
    "a decimal digit",
    "a digit from 1 to 9 after '-'",
    "'\\r' after 0 (no leading zeros)",
    "a decimal digit or '\\r'",
    "a number that fits in 64 bits",
    "'\\n' after '\\r'",
    "'$'",
    "a bulk length of 0 or more",
    "'\\r' after the bulk string",
    "'\\n' after the bulk string",
    "a closing quote",
    "a blank or the end of the line after a closing quote",
    "a byte other than NUL",
    "maxArgs",
    "maxArgBytes",
    "maxCommandBytes",
    "maxInlineBytes",
    "a length field of 0 or more",
    "a frame length of at least lengthFieldOffset + lengthFieldLength",
    "a frame length of at least initialBytesToStrip",
    "maxFrameLength",
    "a decimal digit",
    "':' after 0 (no leading zeros)",
    "a decimal digit or ':'",
    "',' after the payload",
    "maxLength",
};

// Indexed by FramePart.
const char* const kPartNames[kFramePartCount] = {
    "", "array header", "bulk header", "bulk string", "inline command", "length field", "length", "payload",
};

bool NonNegative(int32_t v) { return v >= 0; }

// A state slot that can be an offset or a count: an integer in [0, max].
bool SlotIn(double v, double max) { return v >= 0 && v <= max && v == std::floor(v); }

}  // namespace

const char* FrameReasonText(int reason) { return reason > 0 && reason < kFrameReasonCount ? kReasonTexts[reason] : ""; }

const char* FramePartName(int part) { return part > 0 && part < kFramePartCount ? kPartNames[part] : ""; }

bool ValidFramerConfig(const int32_t* c, size_t n) {
  if (n < 1) return false;
  switch (c[0]) {
    case kFramerResp:
      return n >= kRespConfigWords && c[kRespMaxArgs] >= 1 && NonNegative(c[kRespMaxArgBytes]) &&
             NonNegative(c[kRespMaxInline]) && c[kRespMaxCommand] >= 1;
    case kFramerLength: {
      if (n < kLengthConfigWords) return false;
      int32_t len = c[kLengthFieldLength];
      bool size_ok = len == 1 || len == 2 || len == 3 || len == 4 || len == 8;
      return size_ok && NonNegative(c[kLengthOffset]) && (c[kLengthLittleEndian] == 0 || c[kLengthLittleEndian] == 1) &&
             NonNegative(c[kLengthStrip]) && c[kLengthMax] >= 1 &&
             static_cast<int64_t>(c[kLengthOffset]) + len <= c[kLengthMax];
    }
    case kFramerNetstring:
      return n >= kNetstringConfigWords && NonNegative(c[kNetstringMax]);
    default:
      return false;
  }
}

bool ValidFrameState(const int32_t* config, const double* st, size_t range) {
  double phase = st[kPhase];
  if (phase == 0) return true;
  // Only RESP resumes inside a frame; the others start each frame over from its header.
  if (config[0] != kFramerResp || !SlotIn(phase, 5)) return false;
  double r = static_cast<double>(range);
  return SlotIn(st[kAt], r) && SlotIn(st[kScanned], r) && SlotIn(st[kArgsLeft], 0x7fffffff) &&
         SlotIn(st[kLength], 0x7fffffff);
}

size_t ParseFrames(const uint8_t* buf, size_t pos, size_t end, const int32_t* config, double* state, FrameOut& out,
                   size_t max_frames) {
  switch (config[0]) {
    case kFramerResp:
      return ParseResp(buf, pos, end, config, state, out, max_frames);
    case kFramerLength:
      return ParseLengthPrefixed(buf, pos, end, config, state, out, max_frames);
    default:
      return ParseNetstring(buf, pos, end, config, state, out, max_frames);
  }
}

}  // namespace asynchat
