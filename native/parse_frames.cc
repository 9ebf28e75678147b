// The framers' N-API entry: parseFrames() over a range of a Uint8Array, and the constants the
// TypeScript side reads the results with (native/framer.h says what they mean).
//
//   framingArrays(io: Float64Array, results: Int32Array)   once per environment
//   parseFrames(buf: Uint8Array)
//
// io holds the call's arguments (slots.pos, .end, .maxFrames), its result (slots.count: the
// int32 of results that hold complete frames), the parser's state (native/framer.h's slots) and,
// from slots.config on, the framer's config as numbers; results gets the fields and frame ends.
// Registering them once and passing only the buffer is what makes a call cheap: with seven
// arguments node-addon-api allocated the argument array on the heap, and each typed array and
// each number cost a call into N-API.
//
// Everything comes from JavaScript and is checked before a parser runs: the range, the config,
// and the resume point in the state.
#include <napi.h>

#include <cmath>
#include <string>

#include "addon_state.h"
#include "framer.h"
#include "parse_frames.h"
#include "typed_args.h"

namespace asynchat {
namespace {

// io's slots after the parser's state.
enum IoSlot : size_t {
  kPosSlot = kStateSlots,  // the range to parse: buf[pos, end)
  kEndSlot,
  kMaxFramesSlot,
  kCountSlot,              // the result: int32 of results that hold complete frames
  kConfigSlot,             // [kConfigSlot, + kConfigWords): the framer's config
  kIoSlots = kConfigSlot + kConfigWords,
};

size_t Position(napi_env env, double d, const char* what) {
  if (!(d >= 0) || d > static_cast<double>(kMaxFramePosition) || d != std::floor(d)) {
    throw Napi::RangeError::New(env, std::string("parseFrames: ") + what + " must be an integer from 0 to 2^31 - 1");
  }
  return static_cast<size_t>(d);
}

// The config words in io, as int32, if each is one.
bool ReadConfig(const double* words, int32_t* config) {
  for (size_t i = 0; i < kConfigWords; i++) {
    double w = words[i];
    if (!(w >= -2147483648.0 && w <= 2147483647.0) || w != std::floor(w)) return false;
    config[i] = static_cast<int32_t>(w);
  }
  return ValidFramerConfig(config, kConfigWords);
}

Napi::Value FramingArrays(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FrameArrays& a = GetState(env)->frames;
  double* io;
  size_t io_len;
  int32_t* results;
  size_t results_len;
  if (info.Length() < 2 || !TypedElements(env, info[0], napi_float64_array, &io, &io_len) ||
      !TypedElements(env, info[1], napi_int32_array, &results, &results_len)) {
    throw Napi::TypeError::New(env, "framingArrays(io: Float64Array, results: Int32Array)");
  }
  if (io_len < kIoSlots) throw Napi::RangeError::New(env, "framingArrays: io is too short");
  if (results_len < 4) throw Napi::RangeError::New(env, "framingArrays: results must hold at least 4 int32");
  a.io_ref = Napi::Persistent(info[0].As<Napi::Float64Array>());
  a.results_ref = Napi::Persistent(info[1].As<Napi::Int32Array>());
  a.io = io;
  a.io_len = io_len;
  a.results = results;
  a.results_len = results_len;
  return env.Undefined();
}

Napi::Value ParseFramesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonState* state = GetState(env);
  FrameArrays& a = state->frames;
  if (a.io == nullptr) throw Napi::Error::New(env, "parseFrames: framingArrays() has not been called");
  uint8_t* data;
  size_t data_len;
  if (info.Length() < 1 || !ByteElements(env, info[0], &data, &data_len)) {
    throw Napi::TypeError::New(env, "parseFrames(buf: Uint8Array), the range and framer in framingArrays' io");
  }
  double* io = a.io;
  size_t pos = Position(env, io[kPosSlot], "pos");
  size_t end = Position(env, io[kEndSlot], "end");
  size_t max_frames = Position(env, io[kMaxFramesSlot], "maxFrames");
  if (pos > end || end > data_len) throw Napi::RangeError::New(env, "parseFrames: pos/end out of range");
  int32_t config[kConfigWords];
  if (!ReadConfig(io + kConfigSlot, config)) throw Napi::RangeError::New(env, "parseFrames: not a framer's config");
  if (!ValidFrameState(config, io, end - pos)) {
    throw Napi::RangeError::New(env, "parseFrames: the state does not fit this framer and range");
  }
  state->stats.scans++;
  FrameOut out{a.results, a.results_len};
  io[kCountSlot] = static_cast<double>(ParseFrames(data, pos, end, config, io, out, max_frames == 0 ? 1 : max_frames));
  return Napi::Value();  // undefined, without a call into N-API: the count is in io
}

Napi::Object Names(Napi::Env env, std::initializer_list<std::pair<const char*, int>> names) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [name, value] : names) o.Set(name, value);
  return o;
}

}  // namespace

void InitParseFrames(Napi::Env env, Napi::Object exports) {
  exports.Set("framingArrays", Napi::Function::New<FramingArrays>(env, "framingArrays"));
  exports.Set("parseFrames", Napi::Function::New<ParseFramesJs>(env, "parseFrames"));
  Napi::Object framing = Napi::Object::New(env);
  framing.Set("kinds", Names(env, {{"resp", kFramerResp}, {"lengthPrefixed", kFramerLength}, {"netstring", kFramerNetstring}}));
  framing.Set("slots", Names(env, {{"phase", kPhase}, {"at", kAt}, {"argsLeft", kArgsLeft}, {"length", kLength},
                                   {"scanned", kScanned}, {"status", kStatus}, {"stop", kStop}, {"need", kNeed},
                                   {"partial", kPartial}, {"reason", kReason}, {"offset", kOffset},
                                   {"detail", kDetail}, {"part", kPart}, {"pos", static_cast<int>(kPosSlot)},
                                   {"end", static_cast<int>(kEndSlot)}, {"maxFrames", static_cast<int>(kMaxFramesSlot)},
                                   {"count", static_cast<int>(kCountSlot)}, {"config", static_cast<int>(kConfigSlot)},
                                   {"configWords", static_cast<int>(kConfigWords)}, {"ioLength", static_cast<int>(kIoSlots)}}));
  framing.Set("status", Names(env, {{"end", kEnd}, {"full", kFull}, {"more", kMore}, {"bad", kBad},
                                    {"tooLarge", kTooLarge}}));
  Napi::Array reasons = Napi::Array::New(env, kFrameReasonCount);
  for (int r = 0; r < kFrameReasonCount; r++) reasons.Set(static_cast<uint32_t>(r), FrameReasonText(r));
  framing.Set("reasons", reasons);
  Napi::Array parts = Napi::Array::New(env, kFramePartCount);
  for (int p = 0; p < kFramePartCount; p++) parts.Set(static_cast<uint32_t>(p), FramePartName(p));
  framing.Set("parts", parts);
  exports.Set("framing", framing);
}

}  // namespace asynchat
