// The buffers of a gathered write (the output queue's writev): a Uint8Array or an array of
// them, the first one written from an offset. The socket's writev hands them to sendmsg; the
// TLS connection encrypts them in order. One walk of the JavaScript array for both.
#pragma once

#include <napi.h>
#include <sys/uio.h>

#include <climits>
#include <cstdint>
#include <vector>

#include "typed_args.h"

namespace asynchat {

class GatheredBuffers {
 public:
  // buffers: a Uint8Array, or an array of them (at most IOV_MAX are taken); skip: bytes of the
  // first one already written.
  GatheredBuffers(Napi::Env env, napi_value buffers, size_t skip) {
    uint8_t* data;
    size_t length;
    if (ByteElements(env, buffers, &data, &length)) {
      iov_[0] = iovec{data, length};
      count_ = 1;
    } else {
      bool is_array = false;
      if (napi_is_array(env, buffers, &is_array) != napi_ok || !is_array)
        throw Napi::TypeError::New(env, "buffers must be an array or a Uint8Array");
      uint32_t n = 0;
      if (napi_get_array_length(env, buffers, &n) != napi_ok) throw Napi::Error::New(env);
      if (n > IOV_MAX) n = IOV_MAX;
      if (n > kOnStack) {
        heap_.resize(n);
        iov_ptr_ = heap_.data();
      }
      for (uint32_t i = 0; i < n; i++) {
        napi_value item;
        if (napi_get_element(env, buffers, i, &item) != napi_ok) throw Napi::Error::New(env);
        if (!ByteElements(env, item, &data, &length))
          throw Napi::TypeError::New(env, "buffers must hold Buffers or Uint8Arrays");
        iov_ptr_[i] = iovec{data, length};
      }
      count_ = n;
    }
    if (count_ > 0) {
      if (skip > iov_ptr_[0].iov_len) throw Napi::RangeError::New(env, "offset is out of range");
      iov_ptr_[0].iov_base = static_cast<uint8_t*>(iov_ptr_[0].iov_base) + skip;
      iov_ptr_[0].iov_len -= skip;
    }
  }

  GatheredBuffers(const GatheredBuffers&) = delete;
  GatheredBuffers& operator=(const GatheredBuffers&) = delete;

  iovec* iov() { return iov_ptr_; }
  uint32_t count() const { return count_; }

 private:
  // The usual write gathers a few buffers: no heap allocation for those.
  static constexpr uint32_t kOnStack = 64;
  iovec iov_[kOnStack];
  iovec* iov_ptr_ = iov_;
  std::vector<iovec> heap_;
  uint32_t count_ = 0;
};

}  // namespace asynchat
