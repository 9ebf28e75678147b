// The signals that end a blocking wait (loop() in JavaScript), and which one did.
//
// Node runs a JavaScript signal listener only from its own loop, which a blocking wait blocks.
// libuv's signal handler (installed once per signal, process-wide, by libuv itself) writes a
// message into the signal pipe of every uv loop that has a uv_signal_t for that signal, from
// whichever thread the kernel picked. So the watch keeps a private uv loop with one uv_signal_t
// per signal the program listens for: the loop's backend fd (uv_backend_fd, libuv's public way
// to poll a loop from elsewhere) polls readable as soon as one of them arrives, before a wait
// or during one, and the reactor keeps that fd in its own set. An EINTR alone would not say
// which signal came (SIGCHLD, SIGWINCH, a profiler's SIGPROF and the inspector's SIGUSR1 also
// cause one) and would miss a signal that came while JavaScript ran between two waits; the
// pipe says which, and stays readable until read.
//
// No signal handler of ours, no process-wide state of ours: dispositions stay what Node and
// libuv make them. JavaScript decides which signals to watch (those the program listens for),
// in the main thread only, where Node delivers signals.
//
// Stale signals. A signal that arrives while no blocking wait runs is caught here too, and
// Node delivers it to the listener when its loop next runs. A later wait must stop for it only
// while Node has not delivered it yet (the program is still in the synchronous code that goes
// on to call loop()). So each signal also has an unreferenced uv_signal_t on Node's loop that
// counts deliveries: a wait stops for a signal caught more times than Node delivered it and
// than earlier waits already stopped for it. (Left to chance: a loop() called from a listener
// while Node delivers that very signal returns at once for it when Node's batch reaches that
// listener before our handle; libuv orders the two by address.)
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace asynchat {

struct AddonState;

class SignalWatch {
 public:
  explicit SignalWatch(AddonState* state) : state_(state) {}
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

  // Watches exactly `signums` (none: the private loop is closed, its fds with it). Throws a
  // system error when libuv cannot; the signals started before the failure stay watched.
  void Watch(Napi::Env env, const std::vector<int>& signums);
  // Readable while a watched signal waits to be collected; -1 while nothing is watched.
  int fd() const;
  // The fd polled readable: counts what the private loop caught.
  void Collect();
  // The signal a blocking wait must stop for (0: none). Taking it consumes every signal
  // caught so far, so the next wait blocks again.
  int TakeStop();

 private:
  struct Slot {
    bool watched = false;
    uv_signal_t* caught_handle = nullptr;     // on the private loop, while it is open
    uv_signal_t* delivered_handle = nullptr;  // on Node's loop, until the environment ends
    uint64_t caught = 0, delivered = 0, stopped = 0;
  };

  static void OnCaught(uv_signal_t* handle, int signum);
  static void OnDelivered(uv_signal_t* handle, int signum);
  bool Pending(const Slot& slot) const;
  void UpdatePending();
  uv_signal_t* NewHandle(Napi::Env env, uv_loop_t* loop);
  void Start(Napi::Env env, int signum);
  void Stop(Slot& slot);
  void OpenLoop(Napi::Env env);
  void CloseLoop();
  // The environment is ending: everything closed, Node's handles through `hook`.
  void Shutdown(napi_async_cleanup_hook_handle hook);

  AddonState* state_;
  uv_loop_t* loop_ = nullptr;  // the private loop; null while nothing is watched
  uv_loop_t* node_loop_ = nullptr;
  napi_async_cleanup_hook_handle cleanup_ = nullptr;  // set once Node's loop has our handles
  std::vector<Slot> slots_;  // by signal number
  int pending_ = 0;          // a signal a wait must stop for, or 0
};

// watchSignals(signums: number[]): the JavaScript side (src/asyncore/stop-signals.ts).
void InitSignals(Napi::Env env, Napi::Object exports);

}  // namespace asynchat
