#pragma once
#include <napi.h>
namespace asynchat {
void InitSockets(Napi::Env env, Napi::Object exports);
}
