#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace asynchat {
void InitScan(Napi::Env env, Napi::Object exports);
// scan()'s search (see scan.cc), for other readers of records (TLS's read + scan).
size_t FindTerminators(const uint8_t* data, size_t start, size_t end, const uint8_t* t, size_t tlen,
                       int32_t* found, size_t max);
}
