// The framers' N-API entry: parseFrames() over a range of a Uint8Array, and the constants the
// TypeScript side reads the results with (native/framer.h says what they mean).
//
//   parseFrames(buf: Uint8Array, pos, end, config: Int32Array, state: Float64Array,
//               out: Int32Array, maxFrames) -> int32 of out that hold complete frames
//
// Everything it is given comes from JavaScript and is checked before a parser runs: the
// ranges, the framer's config, and the resume point in the state.
#include <napi.h>

#include <cmath>
#include <string>

#include "addon_state.h"
#include "framer.h"
#include "parse_frames.h"
#include "typed_args.h"

namespace asynchat {
namespace {

constexpr const char* kUsage =
    "parseFrames(buf: Uint8Array, pos, end, config: Int32Array, state: Float64Array, out: Int32Array, maxFrames)";

size_t PositionArg(napi_env env, napi_value v, const char* what) {
  double d = -1;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > static_cast<double>(kMaxFramePosition) ||
      d != std::floor(d)) {
    throw Napi::RangeError::New(env, std::string("parseFrames: ") + what + " must be an integer from 0 to 2^31 - 1");
  }
  return static_cast<size_t>(d);
}

Napi::Value ParseFramesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data;
  size_t data_len;
  int32_t* config;
  size_t config_len;
  double* state;
  size_t state_len;
  int32_t* out;
  size_t out_len;
  if (info.Length() < 7 || !ByteElements(env, info[0], &data, &data_len) ||
      !TypedElements(env, info[3], napi_int32_array, &config, &config_len) ||
      !TypedElements(env, info[4], napi_float64_array, &state, &state_len) ||
      !TypedElements(env, info[5], napi_int32_array, &out, &out_len)) {
    throw Napi::TypeError::New(env, kUsage);
  }
  size_t pos = PositionArg(env, info[1], "pos");
  size_t end = PositionArg(env, info[2], "end");
  size_t max_frames = PositionArg(env, info[6], "maxFrames");
  if (pos > end || end > data_len) throw Napi::RangeError::New(env, "parseFrames: pos/end out of range");
  if (!ValidFramerConfig(config, config_len)) throw Napi::RangeError::New(env, "parseFrames: not a framer's config");
  if (state_len < kStateSlots || !ValidFrameState(config, state, end - pos)) {
    throw Napi::RangeError::New(env, "parseFrames: the state does not fit this framer and range");
  }
  if (out_len < 4) throw Napi::RangeError::New(env, "parseFrames: out must hold at least 4 int32");

  GetState(env)->stats.scans++;
  FrameOut o{out, out_len};
  size_t n = ParseFrames(data, pos, end, config, state, o, max_frames == 0 ? 1 : max_frames);
  return Napi::Number::New(env, static_cast<double>(n));
}

Napi::Object Names(Napi::Env env, std::initializer_list<std::pair<const char*, int>> names) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [name, value] : names) o.Set(name, value);
  return o;
}

}  // namespace

void InitParseFrames(Napi::Env env, Napi::Object exports) {
  exports.Set("parseFrames", Napi::Function::New<ParseFramesJs>(env, "parseFrames"));
  Napi::Object framing = Napi::Object::New(env);
  framing.Set("kinds", Names(env, {{"resp", kFramerResp}, {"lengthPrefixed", kFramerLength}, {"netstring", kFramerNetstring}}));
  framing.Set("slots", Names(env, {{"phase", kPhase}, {"status", kStatus}, {"stop", kStop}, {"need", kNeed},
                                   {"partial", kPartial}, {"reason", kReason}, {"offset", kOffset},
                                   {"detail", kDetail}, {"part", kPart}, {"count", kStateSlots}}));
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
