#include "reactor.h"

#include <cerrno>

#include "errors.h"

namespace asynchat {
namespace {

enum FdFlags : uint8_t { kDirty = 1, kAlwaysReady = 2 };

// libuv stops after 48 full batches before it looks at timers again; so do we, so that one
// flood of events cannot starve the rest of Node.
constexpr int kMaxDrainRounds = 48;

int ToUvEvents(uint32_t mask) {
  int ev = 0;
  if (mask & kRead) ev |= UV_READABLE;
  if (mask & kWrite) ev |= UV_WRITABLE;
  if (mask & kPri) ev |= UV_PRIORITIZED;
  return ev;
}

// Node's handles are closed asynchronously. A HandleGroup counts the ones still closing, and
// when the environment is being torn down it holds the async cleanup hook that Node waits
// on until the last of them is closed.
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

Napi::Function Reactor::Define(Napi::Env env) {
  return DefineClass(env, "Reactor",
                     {
                         InstanceAccessor<&Reactor::GetName>("name"),
                         InstanceAccessor<&Reactor::GetFd>("fd"),
                         InstanceMethod<&Reactor::SetInterest>("setInterest"),
                         InstanceMethod<&Reactor::GetInterest>("getInterest"),
                         InstanceMethod<&Reactor::Remove>("remove"),
                         InstanceMethod<&Reactor::Wait>("wait"),
                         InstanceMethod<&Reactor::Attach>("attach"),
                         InstanceMethod<&Reactor::Detach>("detach"),
                         InstanceMethod<&Reactor::Close>("close"),
                     });
}

// new Reactor(backend: string, events: Int32Array): the array holds (fd, bits) pairs.
Reactor::Reactor(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Reactor>(info), state_(GetState(info.Env())), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "backend name must be a string");
  if (!info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "events must be an Int32Array");
  Napi::Int32Array events = info[1].As<Napi::Int32Array>();
  capacity_ = static_cast<int>(events.ElementLength() / 2);
  if (capacity_ < 1) throw Napi::RangeError::New(env, "events must hold at least one event");
  events_ = reinterpret_cast<PollEvent*>(events.Data());
  events_ref_ = Napi::Persistent(events);

  std::string name = info[0].As<Napi::String>().Utf8Value();
  int err = 0;
  poller_ = CreatePoller(name, &err);
  if (!poller_) {
    if (err == EINVAL || err == ENOSYS) {
      Napi::Error e = Napi::Error::New(
          env, "unknown or unavailable backend '" + name + "' (this build has: " +
                   AvailablePollers() + ")");
      e.Set("code", "ERR_ASYNCHAT_BACKEND");
      throw e;
    }
    ThrowSystemError(env, err, "poller");
  }
  state_->reactors.insert(this);
}

Reactor::~Reactor() { Shutdown(); }

void Reactor::Shutdown() {
  StopAttachment();
  poller_.reset();
  if (state_ != nullptr) {
    state_->reactors.erase(this);
    state_ = nullptr;
  }
}

AddonState::~AddonState() {
  std::unordered_set<Reactor*> open = reactors;
  for (Reactor* reactor : open) reactor->Shutdown();
}

void Reactor::CheckOpen(Napi::Env env) const {
  if (poller_) return;
  Napi::Error e = Napi::Error::New(env, "reactor is closed");
  e.Set("code", "ERR_ASYNCHAT_CLOSED");
  throw e;
}

Napi::Value Reactor::GetName(const Napi::CallbackInfo& info) {
  return poller_ ? Napi::String::New(info.Env(), poller_->name()) : info.Env().Null();
}

Napi::Value Reactor::GetFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), poller_ ? poller_->fd() : -1);
}

void Reactor::Grow(int fd) {
  size_t need = static_cast<size_t>(fd) + 1;
  if (need <= wanted_.size()) return;
  size_t size = wanted_.size() < 64 ? 64 : wanted_.size();
  while (size < need) size *= 2;
  wanted_.resize(size, 0);
  registered_.resize(size, 0);
  flags_.resize(size, 0);
}

void Reactor::Want(int fd, uint32_t mask) {
  Grow(fd);
  wanted_[fd] = static_cast<uint8_t>(mask);
  if (!(flags_[fd] & kDirty)) {
    flags_[fd] |= kDirty;
    dirty_.push_back(fd);
  }
}

Napi::Value Reactor::SetInterest(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint32_t mask = info[1].As<Napi::Number>().Uint32Value() & kInterestMask;
  if (fd < 0) throw Napi::RangeError::New(info.Env(), "fd must be non-negative");
  if (static_cast<size_t>(fd) < wanted_.size() && wanted_[fd] == mask) return info.Env().Undefined();
  Want(fd, mask);
  return info.Env().Undefined();
}

Napi::Value Reactor::GetInterest(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint32_t mask = fd >= 0 && static_cast<size_t>(fd) < wanted_.size() ? wanted_[fd] : 0;
  return Napi::Number::New(info.Env(), mask);
}

void Reactor::Flush() {
  if (!poller_) return;
  for (int fd : dirty_) {
    flags_[fd] &= ~kDirty;
    uint32_t want = wanted_[fd], have = registered_[fd];
    if (want == have) continue;
    if (flags_[fd] & kAlwaysReady) {
      registered_[fd] = static_cast<uint8_t>(want);
      continue;
    }
    state_->stats.interest_syscalls++;
    int err = poller_->set(fd, have, want);
    if (err == EPERM && have == 0) {
      // epoll refuses regular files; poll(2) calls them always ready, and so do we.
      flags_[fd] |= kAlwaysReady;
      always_ready_.push_back(fd);
      registered_[fd] = static_cast<uint8_t>(want);
      continue;
    }
    if (err != 0) {
      registered_[fd] = 0;
      wanted_[fd] = 0;
      failures_.push_back(PollEvent{fd, err == EBADF ? static_cast<uint32_t>(kNval)
                                                     : static_cast<uint32_t>(kErr)});
      continue;
    }
    registered_[fd] = static_cast<uint8_t>(want);
    if (attachment_ != nullptr && poller_->fd() < 0) SyncWakeHandle(fd);
  }
  dirty_.clear();
}

Napi::Value Reactor::Remove(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (!poller_ || fd < 0 || static_cast<size_t>(fd) >= wanted_.size()) return info.Env().Undefined();
  // Done now, not deferred: the fd is usually closed next, and its number may come back
  // for a new socket before the next wait.
  if (flags_[fd] & kAlwaysReady) {
    flags_[fd] &= ~kAlwaysReady;
    for (size_t i = 0; i < always_ready_.size(); i++) {
      if (always_ready_[i] == fd) {
        always_ready_[i] = always_ready_.back();
        always_ready_.pop_back();
        break;
      }
    }
  } else if (registered_[fd] != 0) {
    state_->stats.interest_syscalls++;
    poller_->set(fd, registered_[fd], 0);  // EBADF/ENOENT: already gone, which is the goal
  }
  wanted_[fd] = 0;
  registered_[fd] = 0;
  if (attachment_ != nullptr && poller_->fd() < 0) SyncWakeHandle(fd);
  for (size_t i = 0; i < failures_.size(); i++) {
    if (failures_[i].fd == fd) failures_.erase(failures_.begin() + i--);
  }
  return info.Env().Undefined();
}

bool Reactor::HasAlwaysReadyInterest() const {
  for (int fd : always_ready_)
    if (wanted_[fd] & (kRead | kWrite)) return true;
  return false;
}

int Reactor::Poll(int timeout_ms) {
  Flush();
  int n = 0;
  while (n < capacity_ && !failures_.empty()) {
    events_[n++] = failures_.back();
    failures_.pop_back();
  }
  if (n > 0 || HasAlwaysReadyInterest()) timeout_ms = 0;
  if (n < capacity_) {
    uint64_t deadline = timeout_ms > 0 ? uv_hrtime() / 1000000 + timeout_ms : 0;
    int got;
    for (;;) {
      state_->stats.waits++;
      got = poller_->wait(timeout_ms, events_ + n, capacity_ - n);
      if (got != -EINTR) break;
      if (timeout_ms > 0) {  // retried with what is left of the timeout, as PEP 475 does
        int64_t left = static_cast<int64_t>(deadline) - static_cast<int64_t>(uv_hrtime() / 1000000);
        if (left <= 0) {
          got = 0;
          break;
        }
        timeout_ms = static_cast<int>(left);
      }
    }
    if (got < 0) ThrowSystemError(env_, -got, poller_->name());
    n += got;
  }
  for (int fd : always_ready_) {
    uint32_t ready = wanted_[fd] & (kRead | kWrite);
    if (ready && n < capacity_) events_[n++] = PollEvent{fd, ready};
  }
  state_->stats.events += n;
  if (n > 0) state_->stats.crossings++;
  return n;
}

// wait(timeoutMs): blocks up to timeoutMs (negative: no limit); returns the event count.
Napi::Value Reactor::Wait(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  double timeout = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (timeout != timeout) throw Napi::RangeError::New(info.Env(), "timeout must be a number of milliseconds");
  int timeout_ms = timeout < 0 ? -1 : (timeout > 2147483647.0 ? 2147483647 : static_cast<int>(timeout));
  return Napi::Number::New(info.Env(), Poll(timeout_ms));
}

// ---- attached mode ----

// attach(onBatch: (count: number) => void)
Napi::Value Reactor::Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (attachment_ != nullptr) {
    Napi::Error e = Napi::Error::New(env, "reactor is already attached to Node's loop");
    e.Set("code", "ERR_ASYNCHAT_ATTACHED");
    throw e;
  }
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

  int rc = 0;
  a->prepare = new uv_prepare_t;
  uv_prepare_init(loop, a->prepare);
  a->prepare->data = this;
  uv_prepare_start(a->prepare, OnPrepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(a->prepare));

  a->check = new uv_check_t;
  uv_check_init(loop, a->check);
  a->check->data = this;
  uv_check_start(a->check, OnCheck);

  a->idle = new uv_idle_t;
  uv_idle_init(loop, a->idle);
  a->idle->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(a->idle));

  if (poller_->fd() >= 0) {
    // The backend's fd keeps Node alive while attached; the check handle need not.
    uv_unref(reinterpret_cast<uv_handle_t*>(a->check));
    a->backend = new uv_poll_t;
    rc = uv_poll_init(loop, a->backend, poller_->fd());
    if (rc == 0) {
      a->backend->data = this;
      rc = uv_poll_start(a->backend, UV_READABLE, OnBackendReady);
    } else {
      delete a->backend;
      a->backend = nullptr;
    }
  } else {
    for (size_t fd = 0; fd < registered_.size(); fd++)
      if (registered_[fd] != 0 && !(flags_[fd] & kAlwaysReady)) SyncWakeHandle(static_cast<int>(fd));
  }
  napi_add_async_cleanup_hook(
      env,
      [](napi_async_cleanup_hook_handle handle, void* arg) {
        auto* reactor = static_cast<Reactor*>(arg);
        if (reactor->attachment_ != nullptr) reactor->attachment_->cleanup = handle;
        reactor->StopAttachment();
      },
      this, &a->cleanup);
  if (rc != 0) {
    StopAttachment();
    ThrowSystemError(env, -rc, "uv_poll_init");
  }
  return env.Undefined();
}

Napi::Value Reactor::Detach(const Napi::CallbackInfo& info) {
  StopAttachment();
  return info.Env().Undefined();
}

Napi::Value Reactor::Close(const Napi::CallbackInfo& info) {
  Shutdown();
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
  if (mask == 0 || (flags_[fd] & kAlwaysReady)) {
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
    if (rc == UV_EPERM) {
      // A regular file: libuv's epoll refuses it, and poll(2) calls it always ready. So does
      // the reactor from now on, as with the epoll backend (and not in poll(2)'s set too, or
      // it would be reported twice).
      delete handle;
      poller_->set(fd, mask, 0);
      flags_[fd] |= kAlwaysReady;
      always_ready_.push_back(fd);
      return;
    }
    if (rc != 0) {
      // libuv cannot watch it (not pollable): report it in the next batch, as poll(2) would.
      delete handle;
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
  uv_poll_start(handle, ToUvEvents(mask), OnFdHint);
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
      n = Poll(0);
      if (n <= 0) break;
      a->callback.MakeCallback(self, {Napi::Number::New(env_, n)}, *a->context);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env_, e.Value());
      break;
    }
    // The callback may have detached, closed, or re-attached this reactor.
    if (attachment_ != a || a->generation != generation || !poller_) return;
    if (n < capacity_) break;
  }
  Flush();
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
  // Always-ready fds (and reports of refused fds) must not let Node's loop block.
  Attachment* a = reactor->attachment_;
  if (a == nullptr) return;
  if (reactor->HasAlwaysReadyInterest() || !reactor->failures_.empty() || a->pending)
    uv_idle_start(a->idle, [](uv_idle_t*) {});
  else
    uv_idle_stop(a->idle);
}

void Reactor::OnCheck(uv_check_t* handle) {
  auto* reactor = static_cast<Reactor*>(handle->data);
  Attachment* a = reactor->attachment_;
  if (a == nullptr) return;
  if (a->pending || reactor->HasAlwaysReadyInterest() || !reactor->failures_.empty()) {
    a->pending = false;
    if (reactor->state_ != nullptr) reactor->state_->stats.wakeups++;
    reactor->Drain();
  }
}

}  // namespace asynchat
