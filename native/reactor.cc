#include "reactor.h"

#include <cerrno>

#include "errors.h"
#include "signal_watch.h"

namespace asynchat {

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
  std::unique_ptr<Poller> backend = CreatePoller(name, &err);
  if (!backend) {
    if (err == EINVAL || err == ENOSYS)
      ThrowCodedError(env, "ERR_ASYNCHAT_BACKEND", "unknown or unavailable backend '" + name +
                                                       "' (this build has: " + AvailablePollers() + ")");
    ThrowSystemError(env, err, "poller");
  }
  poller_.reset(new AlwaysReadyFiles(std::move(backend), wanted_, &state_->stats));
  state_->reactors.insert(this);
}

Reactor::~Reactor() { Shutdown(); }

void Reactor::Shutdown() {
  StopAttachment();
  poller_.reset();  // the signal watch's fd, if watched, leaves the set with the backend's fd
  signal_fd_ = -1;
  if (state_ != nullptr) {
    state_->reactors.erase(this);
    state_ = nullptr;
  }
}

void Reactor::CheckOpen(Napi::Env env) const {
  if (!poller_) ThrowCodedError(env, "ERR_ASYNCHAT_CLOSED", "reactor is closed");
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
  in_dirty_.resize(size, 0);
}

void Reactor::Want(int fd, uint32_t mask) {
  Grow(fd);
  wanted_[fd] = static_cast<uint8_t>(mask);
  if (!in_dirty_[fd]) {
    in_dirty_[fd] = 1;
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
    in_dirty_[fd] = 0;
    uint32_t want = wanted_[fd], have = registered_[fd];
    if (want == have) continue;
    int err = poller_->set(fd, have, want);
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
  poller_->Forget(fd, registered_[fd]);
  wanted_[fd] = 0;
  registered_[fd] = 0;
  if (attachment_ != nullptr && poller_->fd() < 0) SyncWakeHandle(fd);
  for (size_t i = 0; i < failures_.size(); i++) {
    if (failures_[i].fd == fd) failures_.erase(failures_.begin() + i--);
  }
  return info.Env().Undefined();
}

// Flush, wait, report: refused fds first, then what the backend has.
int Reactor::Poll(int timeout_ms, int* refused) {
  Flush();
  int n = 0;
  while (n < capacity_ && !failures_.empty()) {
    events_[n++] = failures_.back();
    failures_.pop_back();
  }
  *refused = n;
  if (n < capacity_) {
    int got = WaitBackend(n > 0 ? 0 : timeout_ms, events_ + n, capacity_ - n);
    n += signal_fd_ >= 0 ? CollectSignals(events_ + n, got) : got;
  }
  return n;
}

int Reactor::Reported(int n) {
  state_->stats.events += n;
  if (n > 0) state_->stats.crossings++;
  return n;
}

void Reactor::WatchSignals(int fd) {
  if (signal_fd_ == fd) return;
  int err = poller_->set(fd, 0, kRead);
  if (err != 0) ThrowSystemError(env_, err, poller_->name(), "watching for signals");
  signal_fd_ = fd;
}

void Reactor::ForgetSignals() {
  if (signal_fd_ < 0) return;
  if (poller_) (void)poller_->set(signal_fd_, kRead, 0);  // on its way out: nothing to report
  signal_fd_ = -1;
}

int Reactor::CollectSignals(PollEvent* batch, int n) {
  for (int i = 0; i < n; i++) {
    if (batch[i].fd != signal_fd_) continue;
    batch[i] = batch[n - 1];  // order within a batch means nothing
    state_->signals->Collect();
    return n - 1;
  }
  return n;
}

int Reactor::WaitBackend(int timeout_ms, PollEvent* out, int max) {
  uint64_t deadline = timeout_ms > 0 ? uv_hrtime() / 1000000 + timeout_ms : 0;
  for (;;) {
    state_->stats.waits++;
    int got = poller_->wait(timeout_ms, out, max);
    if (got >= 0) return got;
    if (got != -EINTR) ThrowSystemError(env_, -got, poller_->name());
    if (timeout_ms > 0) {  // retried with what is left of the timeout, as PEP 475 does
      int64_t left = static_cast<int64_t>(deadline) - static_cast<int64_t>(uv_hrtime() / 1000000);
      if (left <= 0) return 0;
      timeout_ms = static_cast<int>(left);
    }
  }
}

// wait(timeoutMs): blocks up to timeoutMs (negative: no limit); returns the event count, or
// minus the number of a signal the program listens for that arrived before or during the wait
// (then no event is reported: the backends are level-triggered, the next wait has them again).
Napi::Value Reactor::Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  double timeout = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (timeout != timeout) throw Napi::RangeError::New(env, "timeout must be a number of milliseconds");
  int timeout_ms = timeout < 0 ? -1 : (timeout > 2147483647.0 ? 2147483647 : static_cast<int>(timeout));
  SignalWatch* signals = state_->signals.get();
  if (signals == nullptr || signals->fd() < 0) {
    int refused;
    return Napi::Number::New(env, Reported(Poll(timeout_ms, &refused)));
  }
  if (int signum = signals->TakeStop()) return Napi::Number::New(env, -signum);
  WatchSignals(signals->fd());
  int refused;
  int n = Poll(timeout_ms, &refused);
  int signum = signals->TakeStop();
  if (signum == 0) return Napi::Number::New(env, Reported(n));
  // Refused fds are reported once: kept for the next wait.
  for (int i = refused - 1; i >= 0; i--) failures_.push_back(events_[i]);
  return Napi::Number::New(env, -signum);
}

Napi::Value Reactor::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  return info.Env().Undefined();
}

}  // namespace asynchat
