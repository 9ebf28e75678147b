#pragma once
#include <napi.h>
namespace asynchat {
void InitScan(Napi::Env env, Napi::Object exports);
}
