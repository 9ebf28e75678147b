// Typed-array arguments in one N-API call each.
//
// node-addon-api's IsTypedArray(), TypedArrayType(), ElementLength() and Data() each make their
// own N-API call (and Data() asks V8 for the ArrayBuffer again). On the hot path (recv, scan and
// writev run once per read or write) that was most of a call's cost; napi_get_typedarray_info
// answers all four at once, and fails for anything that is not a typed array.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace asynchat {

// The elements of `v` if it is a typed array of `type`; false otherwise.
template <typename T>
inline bool TypedElements(napi_env env, napi_value v, napi_typedarray_type type, T** data, size_t* length) {
  napi_typedarray_type got;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, v, &got, length, &raw, nullptr, nullptr) != napi_ok || got != type) return false;
  *data = static_cast<T*>(raw);
  return true;
}

inline bool ByteElements(napi_env env, napi_value v, uint8_t** data, size_t* length) {
  return TypedElements(env, v, napi_uint8_array, data, length);
}

// A non-negative integer argument (an offset, a size, a count) no larger than 2^53 - 1.
inline size_t IndexArg(const Napi::Value& v, const char* what) {
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d)))
    throw Napi::RangeError::New(v.Env(), std::string(what) + " must be a non-negative integer");
  return static_cast<size_t>(d);
}

}  // namespace asynchat
