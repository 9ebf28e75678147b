// RESP2 commands, as redis-server reads them from a client (networking.c's processMultibulkBuffer
// and processInlineBuffer, util.c's string2ll, sds.c's sdssplitargs):
//
// - A frame starting with '*' is an array of bulk strings: "*<count>\r\n" then, count times,
//   "$<length>\r\n<length bytes>\r\n". Each bulk string is a field. Numbers are string2ll's: an
//   optional '-', then 0 or a digit 1-9 and more digits, within 64 bits. A count of 0 or less is
//   no command at all (redis-server skips it), so no frame is reported.
// - Any other frame is an inline command: a line up to '\n' (one '\r' before it is not part of
//   it), split into words as sdssplitargs does. A word with quotes is reported as a quoted field
//   and unquoted by the caller; an empty line is no command.
//
// Stricter than redis-server, which skips the two bytes after a number or a bulk string without
// looking at them: here they must be "\r\n". A NUL in an inline command is refused (redis-server
// stops reading the line at it, and waits, until its inline limit closes the connection).
// Limits, all checked from a header before the bytes it announces are buffered: maxArgs (the
// count), maxArgBytes (a bulk length), maxCommandBytes (the frame's bytes up to the end of the
// bulk string announced), maxInlineBytes (the bytes of an inline command before its '\n').
#include <cstdint>

#include "framer.h"

namespace asynchat {
namespace {

// The parser's named states. A call resumes in the one it stopped in.
enum RespPhase : int {
  kFrameStart = 0,  // the next byte starts a frame
  kCountLine,       // "*<count>\r\n" at `at`
  kBulkLine,        // "$<length>\r\n" at `at`; args_left bulk strings to come
  kBulkData,        // `length` bytes and "\r\n" at `at`
  kInlineLine,      // an inline command whose '\n' is searched for from `scanned`
  kInlineWords,     // its '\n' is at `scanned`; its words from `at`
};

// A header's number, read as string2ll reads it, up to and including the "\r\n" after it.
struct HeaderNumber {
  enum Outcome { kOk, kNeedMore, kMalformed } outcome = kNeedMore;
  bool negative = false;
  uint64_t magnitude = 0;
  size_t next = 0;    // kOk: just past the '\n'
  size_t bad_at = 0;  // kMalformed: the byte that does not fit
  int reason = kReasonNone;
};

HeaderNumber Malformed(size_t at, int reason) {
  HeaderNumber h;
  h.outcome = HeaderNumber::kMalformed;
  h.bad_at = at;
  h.reason = reason;
  return h;
}

bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

HeaderNumber ReadHeaderNumber(const uint8_t* b, size_t p, size_t end) {
  HeaderNumber h;
  if (p == end) return h;
  h.negative = b[p] == '-';
  if (h.negative && ++p == end) return h;
  uint8_t c = b[p];
  if (c == '0') {
    if (h.negative) return Malformed(p, kRespExpectedNonZeroDigit);  // "-0" is not a number to string2ll
    if (++p == end) return h;
    if (b[p] != '\r') return Malformed(p, kRespExpectedCrAfterZero);
  } else if (c >= '1' && c <= '9') {
    const uint64_t limit = h.negative ? (1ULL << 63) : (1ULL << 63) - 1;
    uint64_t v = c - '0';
    for (++p;; ++p) {
      if (p == end) return h;
      c = b[p];
      if (c == '\r') break;
      if (!IsDigit(c)) return Malformed(p, kRespExpectedDigitOrCr);
      uint64_t d = c - '0';
      if (v > (limit - d) / 10) return Malformed(p, kRespNumberTooLong);
      v = v * 10 + d;
    }
    h.magnitude = v;
  } else {
    return Malformed(p, h.negative ? kRespExpectedNonZeroDigit : kRespExpectedDigit);
  }
  if (++p == end) return h;  // b[p - 1] is the '\r'
  if (b[p] != '\n') return Malformed(p, kRespExpectedLf);
  h.outcome = HeaderNumber::kOk;
  h.next = p + 1;
  return h;
}

// isspace() in the C locale: what sdssplitargs skips between words.
bool IsBlank(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// The part of the frame a phase reads, for a refusal.
int PartOf(int phase) {
  switch (phase) {
    case kCountLine:
      return kPartArrayHeader;
    case kBulkLine:
      return kPartBulkHeader;
    case kBulkData:
      return kPartBulkString;
    default:
      return kPartInline;
  }
}

bool IsHex(uint8_t c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

struct Word {
  size_t end = 0;   // the word's bytes are [start, end), quotes and escapes included
  size_t next = 0;  // where the search for the next word starts
  bool quoted = false;
  int reason = kReasonNone;  // malformed: why, and where
  size_t bad_at = 0;
};

// One word of an inline command line[p, e), p not a blank, as sdssplitargs reads it: bytes up
// to a space, tab, '\r' or '\n'; a '"' starts a quoted part (escapes \xHH, \n, \r, \t, \b, \a and
// \<any>), a '\'' a single-quoted part (only \' is an escape); a closing quote ends the word and
// must be followed by a blank or the end of the line.
Word ReadWord(const uint8_t* b, size_t p, size_t e) {
  Word w;
  enum { kPlain, kDouble, kSingle } in = kPlain;
  for (;;) {
    if (in == kPlain) {
      if (p == e) {
        w.end = w.next = p;
        return w;
      }
      uint8_t c = b[p];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        w.end = p;
        w.next = p + 1;
        return w;
      }
      if (c == '"' || c == '\'') {
        in = c == '"' ? kDouble : kSingle;
        w.quoted = true;
      }
      p++;
      continue;
    }
    if (p == e) {
      w.reason = kRespExpectedClosingQuote;
      w.bad_at = e;
      return w;
    }
    uint8_t c = b[p];
    const uint8_t quote = in == kDouble ? '"' : '\'';
    if (c == quote) {
      if (p + 1 < e && !IsBlank(b[p + 1])) {
        w.reason = kRespExpectedSpaceAfterQuote;
        w.bad_at = p + 1;
        return w;
      }
      w.end = w.next = p + 1;
      return w;
    }
    if (c == '\\' && in == kDouble) {
      if (p + 3 < e && b[p + 1] == 'x' && IsHex(b[p + 2]) && IsHex(b[p + 3])) p += 4;
      else p += p + 1 < e ? 2 : 1;
    } else if (c == '\\' && p + 1 < e && b[p + 1] == '\'') {
      p += 2;
    } else {
      p++;
    }
  }
}

// A header's number the common way: 1 to 9 digits, no sign, no leading zero (but "0"), then
// "\r\n". Anything else, and the general parser reads it.
inline bool ShortNumber(const uint8_t* b, size_t p, size_t end, uint32_t* value, size_t* next) {
  size_t q = p;
  uint32_t v = 0;
  while (q < end && q - p < 10) {
    uint32_t d = static_cast<uint32_t>(b[q]) - '0';
    if (d > 9) break;
    v = v * 10 + d;
    q++;
  }
  size_t digits = q - p;
  if (digits == 0 || digits > 9 || (digits > 1 && b[p] == '0')) return false;
  if (end - q < 2 || b[q] != '\r' || b[q + 1] != '\n') return false;
  *value = v;
  *next = q + 2;
  return true;
}

// The frame at b[frame] ('*'), when it is whole, valid, within the limits and fits in out, the
// common way (short numbers, no array of 0 or less): its fields and end written, returns where
// it ends. Otherwise writes nothing and returns 0, and the state machine reads the frame: this
// path only saves its dispatch per token, it decides nothing the state machine would not.
size_t WholeArray(const uint8_t* b, size_t frame, size_t end, uint64_t max_args, uint64_t max_arg_bytes,
                  uint64_t max_command, FrameOut& out) {
  uint32_t count;
  size_t p;
  if (!ShortNumber(b, frame + 1, end, &count, &p) || count == 0 || count > max_args) return 0;
  const size_t mark = out.n;
  for (uint32_t k = 0; k < count; k++) {
    uint32_t length;
    if (p == end || b[p] != '$' || !ShortNumber(b, p + 1, end, &length, &p) || length > max_arg_bytes ||
        (p - frame) + static_cast<uint64_t>(length) + 2 > max_command || end - p < static_cast<size_t>(length) + 2 ||
        b[p + length] != '\r' || b[p + length + 1] != '\n' || !out.Room(4)) {
      out.n = mark;
      return 0;
    }
    out.Field(p, length);
    p += static_cast<size_t>(length) + 2;
  }
  out.End(p);
  return p;
}

}  // namespace

size_t ParseResp(const uint8_t* b, size_t pos, size_t end, const int32_t* config, double* st, FrameOut& out,
                 size_t max_frames) {
  const uint64_t max_args = static_cast<uint64_t>(config[kRespMaxArgs]);
  const uint64_t max_arg_bytes = static_cast<uint64_t>(config[kRespMaxArgBytes]);
  const size_t max_inline = static_cast<size_t>(config[kRespMaxInline]);
  const uint64_t max_command = static_cast<uint64_t>(config[kRespMaxCommand]);

  int phase = static_cast<int>(st[kPhase]);
  size_t frame = pos;  // the first byte of the frame being read
  size_t at = pos;
  size_t scanned = pos;
  uint64_t args_left = 0;
  uint64_t length = 0;
  // Words of this inline command were reported already (by the call that ran out of room).
  bool words = phase == kInlineWords;
  if (phase != kFrameStart) {
    at = pos + static_cast<size_t>(st[kAt]);
    scanned = pos + static_cast<size_t>(st[kScanned]);
    args_left = static_cast<uint64_t>(st[kArgsLeft]);
    length = static_cast<uint64_t>(st[kLength]);
  }
  size_t frames = 0;
  size_t committed = out.n;

  auto more = [&](size_t need) {
    st[kPhase] = phase;
    st[kAt] = static_cast<double>(at - frame);
    st[kScanned] = phase == kInlineLine || phase == kInlineWords ? static_cast<double>(scanned - frame) : 0;
    st[kArgsLeft] = static_cast<double>(args_left);
    st[kLength] = static_cast<double>(length);
    return frame_result::More(st, frame, need, committed, out);
  };
  // No room for one more field: stop before this frame, or, if it is the call's first, inside it.
  auto no_room = [&]() {
    if (frames == 0) return more(0);
    out.n = committed;
    return frame_result::Full(st, frame, committed);
  };
  auto malformed = [&](size_t bad, int reason, double got) {
    return frame_result::Refuse(st, kBad, frame, PartOf(phase), reason, bad - frame, got, committed);
  };
  auto too_large = [&](size_t header, int reason, double announced) {
    return frame_result::Refuse(st, kTooLarge, frame, PartOf(phase), reason, header - frame, announced, committed);
  };

  for (;;) {
    switch (phase) {
      case kFrameStart:
        if (at == end) return frame_result::End(st, end, committed);
        if (frames == max_frames) return frame_result::Full(st, at, committed);
        frame = at;
        if (b[at] == '*') {
          size_t next = WholeArray(b, at, end, max_args, max_arg_bytes, max_command, out);
          if (next != 0) {
            committed = out.n;
            frames++;
            at = next;
            break;
          }
          phase = kCountLine;
        } else {
          phase = kInlineLine;
          scanned = at;
        }
        break;

      case kCountLine: {
        HeaderNumber h = ReadHeaderNumber(b, at + 1, end);
        if (h.outcome == HeaderNumber::kNeedMore) return more(1);
        if (h.outcome == HeaderNumber::kMalformed) return malformed(h.bad_at, h.reason, b[h.bad_at]);
        if (h.negative || h.magnitude == 0) {  // "*0", "*-1": no command
          if (!out.Room(2)) return frame_result::Full(st, frame, committed);
          at = h.next;
          out.Skip(at);
          committed = out.n;
          phase = kFrameStart;
          break;
        }
        if (h.magnitude > max_args) return too_large(at, kRespTooManyArgs, static_cast<double>(h.magnitude));
        args_left = h.magnitude;
        at = h.next;
        phase = kBulkLine;
        break;
      }

      case kBulkLine: {
        if (at == end) return more(1);
        if (b[at] != '$') return malformed(at, kRespExpectedDollar, b[at]);
        HeaderNumber h = ReadHeaderNumber(b, at + 1, end);
        if (h.outcome == HeaderNumber::kNeedMore) return more(1);
        if (h.outcome == HeaderNumber::kMalformed) return malformed(h.bad_at, h.reason, b[h.bad_at]);
        if (h.negative) return malformed(at + 1, kRespNegativeBulkLength, '-');
        if (h.magnitude > max_arg_bytes) return too_large(at, kRespArgTooLarge, static_cast<double>(h.magnitude));
        // magnitude <= maxArgBytes < 2^31: no overflow
        uint64_t through = (h.next - frame) + h.magnitude + 2;
        if (through > max_command) return too_large(at, kRespCommandTooLarge, static_cast<double>(through));
        length = h.magnitude;
        at = h.next;
        phase = kBulkData;
        break;
      }

      case kBulkData: {
        size_t have = end - at;
        if (have < length + 2) return more(length + 2 - have);
        size_t cr = at + length;
        if (b[cr] != '\r') return malformed(cr, kRespExpectedCrAfterBulk, b[cr]);
        if (b[cr + 1] != '\n') return malformed(cr + 1, kRespExpectedLfAfterBulk, b[cr + 1]);
        if (!out.Room(4)) return no_room();
        out.Field(at, length);
        at = cr + 2;
        if (--args_left > 0) {
          phase = kBulkLine;
          break;
        }
        out.End(at);
        committed = out.n;
        frames++;
        phase = kFrameStart;
        break;
      }

      case kInlineLine: {
        // The '\n' may come at most maxInlineBytes bytes after the frame's first byte.
        const size_t limit = frame + max_inline + 1;
        const size_t stop = end < limit ? end : limit;
        size_t nl = scanned;
        while (nl < stop && b[nl] != '\n' && b[nl] != 0) nl++;
        if (nl == stop) {
          if (stop == limit) return too_large(frame, kRespInlineTooLarge, -1);
          scanned = stop;
          return more(1);
        }
        if (b[nl] == 0) return malformed(nl, kRespNulInInline, 0);
        scanned = nl;
        at = frame;
        words = false;
        phase = kInlineWords;
        break;
      }

      case kInlineWords: {
        const size_t nl = scanned;
        const size_t line_end = nl > frame && b[nl - 1] == '\r' ? nl - 1 : nl;
        for (;;) {
          while (at < line_end && IsBlank(b[at])) at++;
          if (at == line_end) break;
          if (!out.Room(4)) return no_room();
          Word w = ReadWord(b, at, line_end);
          if (w.reason != kReasonNone) {
            return malformed(w.bad_at, w.reason, w.bad_at == line_end ? -1 : static_cast<double>(b[w.bad_at]));
          }
          if (w.quoted) out.QuotedField(at, w.end - at);
          else out.Field(at, w.end - at);
          words = true;
          at = w.next;
        }
        if (!words) {  // an empty line: no command
          if (!out.Room(2)) return frame_result::Full(st, frame, committed);
          at = nl + 1;
          out.Skip(at);
          committed = out.n;
          phase = kFrameStart;
          break;
        }
        at = nl + 1;
        phase = kFrameStart;
        out.End(at);
        committed = out.n;
        frames++;
        break;
      }
    }
  }
}

}  // namespace asynchat
