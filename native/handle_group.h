// Node's handles (uv_poll_t, uv_signal_t, ...) close asynchronously. A HandleGroup counts the
// ones of one owner still closing, frees each once closed, and when the environment is being
// torn down it holds the async cleanup hook that Node waits on until the last one is closed.
#pragma once

#include <node_api.h>
#include <uv.h>

namespace asynchat {

struct HandleGroup {
  int closing = 0;
  napi_async_cleanup_hook_handle hook = nullptr;

  template <typename T>
  void Close(T* handle) {
    closing++;
    handle->data = this;
    uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) {
      auto* group = static_cast<HandleGroup*>(h->data);
      delete reinterpret_cast<T*>(h);
      group->Closed();
    });
  }
  void Closed() {
    if (--closing > 0) return;
    if (hook != nullptr) napi_remove_async_cleanup_hook(hook);
    delete this;
  }
};

}  // namespace asynchat
