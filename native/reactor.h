// The reactor: a poller plus what every backend needs once.
//
// - Interest as state. The wanted mask of each fd is cached; setInterest only records it, and
//   the change reaches the kernel just before the next wait, as libuv does, so an fd whose
//   interest flips and flips back within one batch costs no syscall at all.
// - One crossing per batch. Events are written as (fd, bits) pairs into an Int32Array that
//   JavaScript allocated once; in blocking mode wait() returns their count, in attached mode
//   the reactor calls one JavaScript function per batch.
// - Attached mode. The backend's own fd (epoll, kqueue) is watched by one uv_poll_t in Node's
//   loop; when it fires, the reactor drains with a zero timeout. The poll(2) backend has no
//   such fd, so there each watched fd gets a uv_poll_t that only wakes the reactor, which then
//   asks poll(2) with a zero timeout: the events are still poll(2)'s. That bridge to Node's
//   loop is attach.cc.
// - Files that epoll refuses (EPERM: regular files) are always ready, as poll(2) says they
//   are: always_ready.h keeps them, between the reactor and the backend.
// - Signals. A blocking wait ends early, returning minus the signal's number, when a signal
//   the program listens for arrives (signal_watch.h): the watch's fd joins the backend's set at
//   the first blocking wait, and its event never reaches JavaScript.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>
#include <vector>

#include "addon_state.h"
#include "always_ready.h"
#include "poller.h"

namespace asynchat {

class Reactor : public Napi::ObjectWrap<Reactor> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Reactor(const Napi::CallbackInfo& info);
  ~Reactor() override;
  // Releases the poller and Node's handles; safe to call twice. Called by close() and when
  // the environment is torn down.
  void Shutdown();
  // The signal watch is about to close its fd: out of the backend's set.
  void ForgetSignals();

 private:
  struct Attachment;

  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value SetInterest(const Napi::CallbackInfo& info);
  Napi::Value GetInterest(const Napi::CallbackInfo& info);
  Napi::Value Remove(const Napi::CallbackInfo& info);
  Napi::Value Wait(const Napi::CallbackInfo& info);
  Napi::Value Attach(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void CheckOpen(Napi::Env env) const;
  void Grow(int fd);
  void Want(int fd, uint32_t mask);
  // Applies deferred interest changes. An fd the kernel refuses is reported as an event
  // (kNval or kErr) in the next batch instead of throwing from the middle of a wait.
  void Flush();
  // Flush, report refused fds, wait up to timeout_ms; returns the number of events written,
  // *refused the number of them that were refused fds.
  int Poll(int timeout_ms, int* refused);
  // Counts n events handed to JavaScript in stats(); returns n.
  int Reported(int n);
  // The signal watch's fd in the backend's set (blocking waits), once.
  void WatchSignals(int fd);
  // Takes the signal watch's event out of a batch of n; returns what is left.
  int CollectSignals(PollEvent* batch, int n);
  // The backend's wait, retried after EINTR with what is left of the timeout.
  int WaitBackend(int timeout_ms, PollEvent* out, int max);

  // Attached mode (attach.cc).
  void Drain();
  enum class BatchCall { kDone, kThrew, kEnvGone };
  BatchCall CallOnBatch(Attachment* a, Napi::Object self, int n);
  bool ReadyWithoutWaiting() const;
  void SyncWakeHandle(int fd);
  void StopAttachment();
  static void OnBackendReady(uv_poll_t* handle, int status, int events);
  static void OnFdHint(uv_poll_t* handle, int status, int events);
  static void OnPrepare(uv_prepare_t* handle);
  static void OnCheck(uv_check_t* handle);

  AddonState* state_;
  Napi::Env env_;
  std::vector<uint8_t> wanted_;      // what JavaScript asked for, per fd
  std::vector<uint8_t> registered_;  // what the kernel has, per fd
  std::vector<uint8_t> in_dirty_;    // per fd: 1 while listed in dirty_
  std::vector<int> dirty_;
  std::vector<PollEvent> failures_;  // interest changes the kernel refused, to report
  std::unique_ptr<AlwaysReadyFiles> poller_;  // the backend, and the files it refuses
  Napi::Reference<Napi::Int32Array> events_ref_;
  PollEvent* events_ = nullptr;
  int capacity_ = 0;
  Attachment* attachment_ = nullptr;
  int signal_fd_ = -1;  // the signal watch's fd while the backend watches it
};

}  // namespace asynchat
