// Framers: parsers that split a byte range into frames and the fields of each frame, for
// AsyncChat's framer terminators (src/asynchat/framers.ts). Plain C++, no N-API: the N-API
// entry (parse_frames.cc) and the libFuzzer harness (test/fuzz/framer_fuzz.cc) drive
// ParseFrames() the same way.
//
//   ParseFrames(buf, pos, end, config, state, out, max_frames) -> entries
//
// parses buf[pos, end) and writes int32 pairs to out:
//   (start, length)      a field: buf[start, start + length)          start >= 0, length >= 0
//   (start, -1 - length) a field whose bytes buf[start, start + length) are a quoted word of a
//                        RESP inline command, to be unquoted (the quotes and escapes kept as sent)
//   (-1, end)            the frame whose fields precede it ends at `end`; the next one starts there
//   (-2, end)            the bytes up to `end` were no frame at all (RESP "*0\r\n", an empty
//                        inline line): consumed, nothing to deliver
// and returns how many int32 of out belong to complete frames. A frame is never cut: what ends
// inside a frame is reported in `state`, with the fields found so far of that frame after the
// complete ones (kPartial int32 of them).
//
// `state` (doubles, kStateSlots of them, owned by the caller) says how the call ended (kStatus):
//   kEnd       every byte was parsed, the range ends at a frame boundary
//   kFull      max_frames frames were found (or out was full) before the range ended; kStop is
//              where the next frame starts: call again from there
//   kMore      the range ends inside a frame starting at kStop, or out had no room for the next
//              field of a frame that began in this call (kNeed 0). kNeed > 0: at least that many
//              more bytes are needed. The frame's bytes so far must be kept, contiguously, and
//              the call repeated with pos = the frame's start and the state as this call left it
//              (kPhase etc.): the parser resumes where it stopped instead of starting over.
//   kBad       a malformed frame starts at kStop: kReason, kPart, kOffset (from the frame's
//              first byte), kDetail (the byte found, -1 at the end of a line; length-prefixed: the
//              frame length the header gives)
//   kTooLarge  a frame over a limit, refused from its header, starts at kStop: kReason says which
//              limit, kPart and kOffset where the header is, kDetail the length it announced (-1:
//              unknown, only that it is over the limit)
// A call with kPhase 0 starts at a frame boundary; after kEnd, kFull, kBad and kTooLarge the
// phase is 0 again.
#pragma once

#include <cstddef>
#include <cstdint>

namespace asynchat {

// config[0]: which parser; the rest, its options (validated by ValidFramerConfig).
enum FramerKind : int32_t { kFramerResp = 1, kFramerLength = 2, kFramerNetstring = 3 };

// resp:      [kind, maxArgs, maxArgBytes, maxInlineBytes, maxCommandBytes]
enum RespConfig { kRespMaxArgs = 1, kRespMaxArgBytes, kRespMaxInline, kRespMaxCommand, kRespConfigWords };
// length:    [kind, lengthFieldOffset, lengthFieldLength, littleEndian, lengthAdjustment,
//             initialBytesToStrip, maxFrameLength]
enum LengthConfig {
  kLengthOffset = 1, kLengthFieldLength, kLengthLittleEndian, kLengthAdjustment, kLengthStrip, kLengthMax,
  kLengthConfigWords
};
// netstring: [kind, maxLength]
enum NetstringConfig { kNetstringMax = 1, kNetstringConfigWords };

enum StateSlot : int {
  kPhase = 0,   // the parser's named state at the resume point (0: at a frame boundary)
  kAt,          // resume point, from the frame's first byte
  kArgsLeft,    // resp: bulk strings the array still announces
  kLength,      // resp: length of the bulk string being read
  kScanned,     // resp: bytes of an inline command already searched for its '\n'
  kStatus,
  kStop,
  kNeed,
  kPartial,
  kReason,
  kOffset,
  kDetail,
  kPart,        // a refused frame: the part of it being read (FramePart)
  kStateSlots
};

// The words of a framer's config (the longest, length-prefixed, has 7).
constexpr size_t kConfigWords = 8;

enum FrameStatus : int { kEnd = 0, kFull = 1, kMore = 2, kBad = 3, kTooLarge = 4 };

// Why a frame was refused. The texts (FrameReasonText) say what was expected, or which limit.
enum FrameReason : int {
  kReasonNone = 0,
  // resp, malformed
  kRespExpectedDigit,
  kRespExpectedNonZeroDigit,
  kRespExpectedCrAfterZero,
  kRespExpectedDigitOrCr,
  kRespNumberTooLong,
  kRespExpectedLf,
  kRespExpectedDollar,
  kRespNegativeBulkLength,
  kRespExpectedCrAfterBulk,
  kRespExpectedLfAfterBulk,
  kRespExpectedClosingQuote,
  kRespExpectedSpaceAfterQuote,
  kRespNulInInline,
  // resp, over a limit
  kRespTooManyArgs,
  kRespArgTooLarge,
  kRespCommandTooLarge,
  kRespInlineTooLarge,
  // length-prefixed
  kLengthNegative,
  kLengthShorterThanHeader,
  kLengthShorterThanStrip,
  kLengthTooLarge,
  // netstring
  kNetstringExpectedDigit,
  kNetstringLeadingZero,
  kNetstringExpectedDigitOrColon,
  kNetstringExpectedComma,
  kNetstringTooLarge,
  kFrameReasonCount
};

// The part of a frame a refusal was found in.
enum FramePart : int {
  kPartNone = 0,
  kPartArrayHeader,    // resp "*<count>\r\n"
  kPartBulkHeader,     // resp "$<length>\r\n"
  kPartBulkString,     // resp: a bulk string's bytes and its "\r\n"
  kPartInline,         // resp: an inline command
  kPartLengthField,    // length-prefixed: the header
  kPartLength,         // netstring: "<length>:"
  kPartPayload,        // netstring: the payload and its ','
  kFramePartCount
};

// What the reason says was expected ("a decimal digit"), or the limit that was passed
// ("maxArgBytes"); the name of a part ("bulk header").
const char* FrameReasonText(int reason);
const char* FramePartName(int part);

// Whether config (n words) describes a framer these parsers can run without reading outside
// their range: a known kind, the options in range.
bool ValidFramerConfig(const int32_t* config, size_t n);

// Where parsers write fields and frame ends; `cap` int32 at most.
struct FrameOut {
  int32_t* data;
  size_t cap;
  size_t n = 0;

  bool Room(size_t words) const { return n + words <= cap; }
  void Field(size_t start, size_t length) {
    data[n++] = static_cast<int32_t>(start);
    data[n++] = static_cast<int32_t>(length);
  }
  void QuotedField(size_t start, size_t length) {
    data[n++] = static_cast<int32_t>(start);
    data[n++] = -1 - static_cast<int32_t>(length);
  }
  void End(size_t end) {
    data[n++] = -1;
    data[n++] = static_cast<int32_t>(end);
  }
  void Skip(size_t end) {
    data[n++] = -2;
    data[n++] = static_cast<int32_t>(end);
  }
};

// The largest position a parser may be given: positions cross into JavaScript as int32.
constexpr size_t kMaxFramePosition = 0x7fffffff;

// Dispatches on config[0]. Requires ValidFramerConfig(config), pos <= end <= kMaxFramePosition,
// a valid state (ValidFrameState) and out.cap >= 4.
size_t ParseFrames(const uint8_t* buf, size_t pos, size_t end, const int32_t* config, double* state, FrameOut& out,
                   size_t max_frames);

// Whether state's resume point makes sense for this kind of parser and a range of `range` bytes
// from the frame's start (a caller's state array could hold anything).
bool ValidFrameState(const int32_t* config, const double* state, size_t range);

size_t ParseResp(const uint8_t* buf, size_t pos, size_t end, const int32_t* config, double* state, FrameOut& out,
                 size_t max_frames);
size_t ParseLengthPrefixed(const uint8_t* buf, size_t pos, size_t end, const int32_t* config, double* state,
                           FrameOut& out, size_t max_frames);
size_t ParseNetstring(const uint8_t* buf, size_t pos, size_t end, const int32_t* config, double* state,
                      FrameOut& out, size_t max_frames);

// How each parser ends a call: the state written, the complete entries returned.
namespace frame_result {

inline size_t End(double* st, size_t end, size_t committed) {
  st[kPhase] = 0;
  st[kStatus] = kEnd;
  st[kStop] = static_cast<double>(end);
  st[kPartial] = 0;
  return committed;
}

inline size_t Full(double* st, size_t next_frame, size_t committed) {
  st[kPhase] = 0;
  st[kStatus] = kFull;
  st[kStop] = static_cast<double>(next_frame);
  st[kPartial] = 0;
  return committed;
}

// The caller has set the resume fields (kPhase, kAt, ...).
inline size_t More(double* st, size_t frame, size_t need, size_t committed, const FrameOut& out) {
  st[kStatus] = kMore;
  st[kStop] = static_cast<double>(frame);
  st[kNeed] = static_cast<double>(need);
  st[kPartial] = static_cast<double>(out.n - committed);
  return committed;
}

inline size_t Refuse(double* st, FrameStatus status, size_t frame, int part, int reason, size_t offset,
                     double detail, size_t committed) {
  st[kPhase] = 0;
  st[kStatus] = status;
  st[kStop] = static_cast<double>(frame);
  st[kPartial] = 0;
  st[kReason] = reason;
  st[kOffset] = static_cast<double>(offset);
  st[kDetail] = detail;
  st[kPart] = part;
  return committed;
}

}  // namespace frame_result
}  // namespace asynchat
