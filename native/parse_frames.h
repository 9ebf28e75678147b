#pragma once
#include <napi.h>

namespace asynchat {
// parseFrames() and its constants (`framing`) on the addon's exports.
void InitParseFrames(Napi::Env env, Napi::Object exports);
}
