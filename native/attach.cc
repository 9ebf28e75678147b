// The bridge to Node's loop (attached mode): the reactor's events are delivered from inside
// Node's own loop, one JavaScript call per batch, instead of by a blocking wait().
//
// - epoll and kqueue have an fd of their own: one uv_poll_t watches it, and when it fires
//   the reactor drains with a zero timeout.
// - poll(2) has none: each watched fd gets a uv_poll_t that only marks the reactor pending;
//   the check phase then asks poll(2) with a zero timeout, so the events are still poll(2)'s.
// - A prepare handle flushes interest changes before Node's loop sleeps, and an idle handle
//   keeps it from sleeping while something is ready without waiting (always-ready files,
//   refused fds to report, a wake-up watcher that fired).
#include <napi.h>
#include <uv.h>

#include <unordered_map>

#include "errors.h"
#include "handle_group.h"
#include "reactor.h"

namespace asynchat {
namespace {

// libuv stops after 48 full batches before it looks at timers again; so do we, so that one
// flood of events cannot starve the rest of Node.
constexpr int kMaxDrainRounds = 48;

constexpr BitPair kUvBits[] = {{kRead, UV_READABLE}, {kWrite, UV_WRITABLE}, {kPri, UV_PRIORITIZED}};

}  // namespace

struct Reactor::Attachment {
  Napi::FunctionReference callback;
  Napi::ObjectReference self;  // a reactor stays alive while Node's loop watches it
  std::unique_ptr<Napi::AsyncContext> context;
  uv_poll_t* backend = nullptr;  // watches the backend's fd (epoll, kqueue)
  uv_prepare_t* prepare = nullptr;
  uv_check_t* check = nullptr;
  uv_idle_t* idle = nullptr;
  std::unordered_map<int, uv_poll_t*> wake;  // poll(2) backend: one wake-up watcher per fd
  uv_loop_t* loop = nullptr;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  bool pending = false;  // a wake-up watcher fired: drain in the check phase
  uint64_t generation = 0;
};

// attach(onBatch: (count: number) => void)
Napi::Value Reactor::Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (attachment_ != nullptr)
    ThrowCodedError(env, "ERR_ASYNCHAT_ATTACHED", "reactor is already attached to Node's loop");
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "onBatch must be a function");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr)
    throw Napi::Error::New(env, "cannot reach Node's event loop");

  auto* a = new Attachment();
  a->callback = Napi::Persistent(info[0].As<Napi::Function>());
  a->self = Napi::Persistent(Value());
  a->context.reset(new Napi::AsyncContext(env, "asynchat.Reactor"));
  a->loop = loop;
  attachment_ = a;

  // (libuv documents these inits and starts as unable to fail; their results are checked all
  // the same, and the first failure is what the caller is told.)
  int rc = 0;
  const char* failed = nullptr;
  auto note = [&rc, &failed](int result, const char* call) {
    if (result != 0 && rc == 0) {
      rc = result;
      failed = call;
    }
  };
  a->prepare = new uv_prepare_t;
  note(uv_prepare_init(loop, a->prepare), "uv_prepare_init");
  a->prepare->data = this;
  note(uv_prepare_start(a->prepare, OnPrepare), "uv_prepare_start");
  uv_unref(reinterpret_cast<uv_handle_t*>(a->prepare));

  a->check = new uv_check_t;
  note(uv_check_init(loop, a->check), "uv_check_init");
  a->check->data = this;
  note(uv_check_start(a->check, OnCheck), "uv_check_start");

  a->idle = new uv_idle_t;
  note(uv_idle_init(loop, a->idle), "uv_idle_init");
  a->idle->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(a->idle));

  if (poller_->fd() >= 0) {
    // The backend's fd keeps Node alive while attached; the check handle need not.
    uv_unref(reinterpret_cast<uv_handle_t*>(a->check));
    a->backend = new uv_poll_t;
    int init = uv_poll_init(loop, a->backend, poller_->fd());
    note(init, "uv_poll_init");
    if (init == 0) {
      a->backend->data = this;
      note(uv_poll_start(a->backend, UV_READABLE, OnBackendReady), "uv_poll_start");
    } else {
      delete a->backend;
      a->backend = nullptr;
    }
  } else {
    for (size_t fd = 0; fd < registered_.size(); fd++)
      if (registered_[fd] != 0) SyncWakeHandle(static_cast<int>(fd));
  }
  napi_status hooked = napi_add_async_cleanup_hook(
      env,
      [](napi_async_cleanup_hook_handle handle, void* arg) {
        auto* reactor = static_cast<Reactor*>(arg);
        if (reactor->attachment_ != nullptr) reactor->attachment_->cleanup = handle;
        reactor->StopAttachment();
      },
      this, &a->cleanup);
  if (hooked != napi_ok) {
    a->cleanup = nullptr;
    StopAttachment();
    throw Napi::Error::New(env, "cannot register the reactor's cleanup hook with Node");
  }
  if (rc != 0) {
    StopAttachment();
    ThrowSystemError(env, -rc, failed);
  }
  return env.Undefined();
}

Napi::Value Reactor::Detach(const Napi::CallbackInfo& info) {
  StopAttachment();
  return info.Env().Undefined();
}

// Stops watching and closes Node's handles. When Node is tearing the environment down (the
// cleanup hook called us), the hook is released only once the last handle has closed.
void Reactor::StopAttachment() {
  Attachment* a = attachment_;
  if (a == nullptr) return;
  attachment_ = nullptr;
  auto* group = new HandleGroup();
  if (a->backend != nullptr) {
    uv_poll_stop(a->backend);
    group->Close(a->backend);
  }
  for (auto& entry : a->wake) {
    uv_poll_stop(entry.second);
    group->Close(entry.second);
  }
  uv_prepare_stop(a->prepare);
  group->Close(a->prepare);
  uv_check_stop(a->check);
  group->Close(a->check);
  uv_idle_stop(a->idle);
  group->Close(a->idle);
  group->hook = a->cleanup;
  delete a;
}

// poll(2) backend only: makes fd's wake-up watcher follow the interest the kernel has.
void Reactor::SyncWakeHandle(int fd) {
  Attachment* a = attachment_;
  uint32_t mask = static_cast<size_t>(fd) < registered_.size() ? registered_[fd] : 0;
  auto it = a->wake.find(fd);
  if (mask == 0 || poller_->Keeps(fd)) {
    if (it != a->wake.end()) {
      uv_poll_stop(it->second);
      auto* group = new HandleGroup();
      group->Close(it->second);
      a->wake.erase(it);
    }
    return;
  }
  uv_poll_t* handle;
  if (it == a->wake.end()) {
    handle = new uv_poll_t;
    int rc = uv_poll_init(a->loop, handle, fd);
    if (rc != 0) delete handle;
    if (rc == UV_EPERM) {
      // A regular file: libuv's epoll refuses it, and poll(2) calls it always ready. So does
      // the reactor from now on, as with the epoll backend (and not in poll(2)'s set too, or
      // it would be reported twice).
      if (poller_->Keep(fd, mask) == 0) return;
    }
    if (rc != 0) {
      // libuv cannot watch it (not pollable): report it in the next batch, as poll(2) would.
      failures_.push_back(PollEvent{fd, kErr});
      a->pending = true;
      return;
    }
    handle->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(handle));
    a->wake.emplace(fd, handle);
  } else {
    handle = it->second;
  }
  if (uv_poll_start(handle, static_cast<int>(TheirBits(mask, kUvBits)), OnFdHint) != 0) {
    // Not watchable after all: reported in the next batch, as a failed registration is.
    failures_.push_back(PollEvent{fd, kErr});
    a->pending = true;
  }
}

void Reactor::Drain() {
  Attachment* a = attachment_;
  if (a == nullptr || !poller_) return;
  Napi::HandleScope scope(env_);
  Napi::Object self = Value();  // keeps this reactor alive across the callbacks
  uint64_t generation = ++a->generation;
  for (int round = 0; round < kMaxDrainRounds; round++) {
    int n;
    try {
      int refused;
      n = Reported(Poll(0, &refused));
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env_, e.Value());
      break;
    }
    if (n <= 0) break;
    BatchCall call = CallOnBatch(a, self, n);
    if (call == BatchCall::kEnvGone) return;
    if (call == BatchCall::kThrew) break;
    // The callback may have detached, closed, or re-attached this reactor.
    if (attachment_ != a || a->generation != generation || !poller_) return;
    if (n < capacity_) break;
  }
  Flush();
}

// Calls onBatch(n). Through the C API and not
// node-addon-api's MakeCallback, because of a worker being terminated: its libuv loop still
// runs callbacks while JavaScript is no longer allowed, the call fails with no exception
// pending, and node-addon-api's error for that case aborts the process (seen under qemu on
// Node 24: "Error::Error napi_define_properties"). Then the environment is going away and its
// cleanup hook detaches the reactor; the drain just stops.
Reactor::BatchCall Reactor::CallOnBatch(Attachment* a, Napi::Object self, int n) {
  napi_value argv[1];
  napi_value result;
  if (napi_create_int32(env_, n, &argv[0]) != napi_ok) return BatchCall::kEnvGone;
  napi_status status = napi_make_callback(env_, a->context->operator napi_async_context(), self,
                                          a->callback.Value(), 1, argv, &result);
  if (status == napi_ok) return BatchCall::kDone;
  bool pending = false;
  napi_value error;
  if (napi_is_exception_pending(env_, &pending) != napi_ok || !pending ||
      napi_get_and_clear_last_exception(env_, &error) != napi_ok)
    return BatchCall::kEnvGone;
  napi_fatal_exception(env_, error);  // the program's own error: 'uncaughtException', as Node's
  return BatchCall::kThrew;
}

// Something can be reported without waiting, so Node's loop must not sleep: an always-ready
// file wants I/O, a refused fd is to be reported, or a wake-up watcher fired.
bool Reactor::ReadyWithoutWaiting() const {
  return attachment_->pending || !failures_.empty() || poller_->AnyReady();
}

void Reactor::OnBackendReady(uv_poll_t* handle, int status, int events) {
  (void)status;
  (void)events;
  auto* reactor = static_cast<Reactor*>(handle->data);
  if (reactor->state_ != nullptr) reactor->state_->stats.wakeups++;
  reactor->Drain();
}

void Reactor::OnFdHint(uv_poll_t* handle, int status, int events) {
  (void)status;
  (void)events;
  auto* reactor = static_cast<Reactor*>(handle->data);
  if (reactor->attachment_ != nullptr) reactor->attachment_->pending = true;
}

void Reactor::OnPrepare(uv_prepare_t* handle) {
  auto* reactor = static_cast<Reactor*>(handle->data);
  reactor->Flush();
  Attachment* a = reactor->attachment_;
  if (a == nullptr) return;
  if (reactor->ReadyWithoutWaiting())
    uv_idle_start(a->idle, [](uv_idle_t*) {});
  else
    uv_idle_stop(a->idle);
}

void Reactor::OnCheck(uv_check_t* handle) {
  auto* reactor = static_cast<Reactor*>(handle->data);
  Attachment* a = reactor->attachment_;
  if (a == nullptr || !reactor->ReadyWithoutWaiting()) return;
  a->pending = false;
  if (reactor->state_ != nullptr) reactor->state_->stats.wakeups++;
  reactor->Drain();
}

}  // namespace asynchat
