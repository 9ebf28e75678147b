#include "signal_watch.h"

#include <algorithm>

#include "addon_state.h"
#include "errors.h"
#include "handle_group.h"
#include "reactor.h"

namespace asynchat {

SignalWatch::~SignalWatch() {
  CloseLoop();
  // Node's handles are closed by the cleanup hook, which Node runs before it frees this state.
  // Had it not run, they are left as they are: Node's loop may still hold messages naming them.
}

int SignalWatch::fd() const { return loop_ != nullptr ? uv_backend_fd(loop_) : -1; }

bool SignalWatch::Pending(const Slot& slot) const {
  return slot.watched && slot.caught > std::max(slot.delivered, slot.stopped);
}

void SignalWatch::UpdatePending() {
  if (pending_ != 0 && Pending(slots_[pending_])) return;  // the first one caught stays first
  pending_ = 0;
  for (size_t signum = 1; signum < slots_.size(); signum++) {
    if (Pending(slots_[signum])) {
      pending_ = static_cast<int>(signum);
      return;
    }
  }
}

void SignalWatch::OnCaught(uv_signal_t* handle, int signum) {
  auto* watch = static_cast<SignalWatch*>(handle->data);
  watch->slots_[signum].caught++;
  watch->UpdatePending();
}

void SignalWatch::OnDelivered(uv_signal_t* handle, int signum) {
  auto* watch = static_cast<SignalWatch*>(handle->data);
  Slot& slot = watch->slots_[signum];
  slot.delivered++;
  // The private loop caught it too: counted now, so that its pipe never fills up however long
  // no blocking wait runs.
  watch->Collect();
  if (slot.delivered >= slot.caught) uv_unref(reinterpret_cast<uv_handle_t*>(handle));
  watch->UpdatePending();
}

void SignalWatch::Collect() {
  if (loop_ != nullptr) uv_run(loop_, UV_RUN_NOWAIT);
}

int SignalWatch::TakeStop() {
  int signum = pending_;
  if (signum == 0) return 0;
  for (Slot& slot : slots_) {
    // Until Node has delivered what stopped the wait, its loop stays alive for it: the
    // listener runs even when loop() was the last thing the program had to do (Node alone
    // would exit without running it).
    if (slot.watched && slot.caught > slot.delivered) uv_ref(reinterpret_cast<uv_handle_t*>(slot.delivered_handle));
    slot.stopped = slot.caught;
  }
  pending_ = 0;
  return signum;
}

void SignalWatch::OpenLoop(Napi::Env env) {
  auto* loop = new uv_loop_t;
  int rc = uv_loop_init(loop);
  if (rc != 0) {
    delete loop;
    ThrowSystemError(env, -rc, "uv_loop_init");
  }
  loop_ = loop;
}

void SignalWatch::CloseLoop() {
  if (loop_ == nullptr) return;
  // Its fd leaves every reactor's set before it is closed (its number may come back at once).
  for (Reactor* reactor : state_->reactors) reactor->ForgetSignals();
  for (Slot& slot : slots_) {
    if (slot.caught_handle != nullptr) uv_signal_stop(slot.caught_handle);
  }
  // Messages still in the pipe name our handles: read them while the handles exist.
  uv_run(loop_, UV_RUN_NOWAIT);
  for (Slot& slot : slots_) {
    if (slot.caught_handle == nullptr) continue;
    uv_close(reinterpret_cast<uv_handle_t*>(slot.caught_handle),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
    slot.caught_handle = nullptr;
  }
  uv_run(loop_, UV_RUN_NOWAIT);  // runs the close callbacks
  // Every handle of ours is closed, so this cannot fail with UV_EBUSY; were it to, the loop
  // is left open rather than freed under libuv.
  if (uv_loop_close(loop_) == 0) delete loop_;
  loop_ = nullptr;
  pending_ = 0;
}

uv_signal_t* SignalWatch::NewHandle(Napi::Env env, uv_loop_t* loop) {
  auto* handle = new uv_signal_t;
  int rc = uv_signal_init(loop, handle);
  if (rc != 0) {
    delete handle;
    ThrowSystemError(env, -rc, "uv_signal_init");
  }
  handle->data = this;
  return handle;
}

void SignalWatch::Start(Napi::Env env, int signum) {
  if (static_cast<size_t>(signum) >= slots_.size()) slots_.resize(static_cast<size_t>(signum) + 1);
  Slot& slot = slots_[signum];
  slot.caught = slot.delivered = slot.stopped = 0;
  if (slot.caught_handle == nullptr) slot.caught_handle = NewHandle(env, loop_);
  if (slot.delivered_handle == nullptr) {
    slot.delivered_handle = NewHandle(env, node_loop_);
    // Node's own signal handles do not keep its loop alive either (see TakeStop for when it does).
    uv_unref(reinterpret_cast<uv_handle_t*>(slot.delivered_handle));
  }
  int rc = uv_signal_start(slot.caught_handle, OnCaught, signum);
  if (rc == 0) {
    rc = uv_signal_start(slot.delivered_handle, OnDelivered, signum);
    if (rc != 0) uv_signal_stop(slot.caught_handle);
  }
  if (rc != 0) ThrowSystemError(env, -rc, "uv_signal_start");
  slot.watched = true;
}

void SignalWatch::Stop(Slot& slot) {
  if (!slot.watched) return;
  // Stopped, not closed: a message already in a pipe may still name the handle.
  if (slot.caught_handle != nullptr) uv_signal_stop(slot.caught_handle);
  uv_signal_stop(slot.delivered_handle);
  uv_unref(reinterpret_cast<uv_handle_t*>(slot.delivered_handle));
  slot.watched = false;
  slot.caught = slot.delivered = slot.stopped = 0;
}

void SignalWatch::Watch(Napi::Env env, const std::vector<int>& signums) {
  for (size_t signum = 1; signum < slots_.size(); signum++) {
    if (std::find(signums.begin(), signums.end(), static_cast<int>(signum)) == signums.end()) Stop(slots_[signum]);
  }
  if (signums.empty()) {
    CloseLoop();
    return;
  }
  if (node_loop_ == nullptr) {
    uv_loop_t* node_loop = nullptr;
    if (napi_get_uv_event_loop(env, &node_loop) != napi_ok || node_loop == nullptr)
      throw Napi::Error::New(env, "cannot reach Node's event loop");
    napi_status hooked = napi_add_async_cleanup_hook(
        env, [](napi_async_cleanup_hook_handle hook, void* arg) { static_cast<SignalWatch*>(arg)->Shutdown(hook); },
        this, &cleanup_);
    if (hooked != napi_ok) throw Napi::Error::New(env, "cannot register the signal watch's cleanup hook with Node");
    node_loop_ = node_loop;
  }
  if (loop_ == nullptr) OpenLoop(env);
  for (int signum : signums) {
    if (signum <= 0) throw Napi::RangeError::New(env, "signal numbers must be positive");
    if (static_cast<size_t>(signum) >= slots_.size() || !slots_[signum].watched) Start(env, signum);
  }
  // A new loop's signal pipe reaches its backend's set in its first run, and only a loop with
  // active handles runs: so now, once the handles are started.
  uv_run(loop_, UV_RUN_NOWAIT);
  UpdatePending();
}

void SignalWatch::Shutdown(napi_async_cleanup_hook_handle hook) {
  CloseLoop();
  auto* group = new HandleGroup();
  group->hook = hook;
  cleanup_ = nullptr;
  group->closing++;  // held until every handle is given to the group
  for (Slot& slot : slots_) {
    slot.watched = false;
    if (slot.delivered_handle == nullptr) continue;
    uv_signal_stop(slot.delivered_handle);
    group->Close(slot.delivered_handle);
    slot.delivered_handle = nullptr;
  }
  group->Closed();
}

namespace {

Napi::Value WatchSignals(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "signals must be an array of signal numbers");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<int> signums;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsNumber()) throw Napi::TypeError::New(env, "signals must be an array of signal numbers");
    signums.push_back(v.As<Napi::Number>().Int32Value());
  }
  AddonState* state = GetState(env);
  if (!state->signals) {
    if (signums.empty()) return env.Undefined();
    state->signals.reset(new SignalWatch(state));
  }
  state->signals->Watch(env, signums);
  return env.Undefined();
}

}  // namespace

void InitSignals(Napi::Env env, Napi::Object exports) {
  exports.Set("watchSignals", Napi::Function::New<WatchSignals>(env, "watchSignals"));
}

}  // namespace asynchat
