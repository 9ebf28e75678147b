// Everything the addon keeps per Node environment (the main thread and each worker has its
// own). Nothing here is global: the state hangs off napi_set_instance_data, and its
// destructor, run when the environment is torn down, shuts down the reactors still open.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <unordered_set>

namespace asynchat {

class Reactor;
class SignalWatch;

// What the reactor did, for tests and benchmarks (`stats()` in JavaScript).
struct Stats {
  uint64_t wakeups = 0;           // attached mode: times Node's loop woke a reactor
  uint64_t waits = 0;             // calls into the backend's wait
  uint64_t events = 0;            // events handed to JavaScript
  uint64_t crossings = 0;         // batches handed to JavaScript
  uint64_t interest_syscalls = 0; // kernel interest changes actually made
  uint64_t reads = 0;             // recv/read calls
  uint64_t writes = 0;            // send/write/writev calls
  uint64_t accepts = 0;           // accept calls
  uint64_t scans = 0;             // terminator scans
};

// The arrays parseFrames() reads its state from and writes its results to, registered once by
// JavaScript (src/asynchat/frame-splitter.ts): passing them on every call cost more than the parse
// of a short read. The references keep them alive; their memory does not move.
struct FrameArrays {
  Napi::Reference<Napi::Float64Array> io_ref;
  Napi::Reference<Napi::Int32Array> results_ref;
  double* io = nullptr;
  size_t io_len = 0;
  int32_t* results = nullptr;
  size_t results_len = 0;
};

struct AddonState {
  Stats stats;
  FrameArrays frames;
  Napi::FunctionReference reactor_constructor;
  std::unordered_set<Reactor*> reactors;
  uint64_t tls_live = 0;  // TLS connections (SSL objects) not yet freed
  std::unique_ptr<SignalWatch> signals;  // made by the first watchSignals() that names one
  ~AddonState();
};

inline AddonState* GetState(Napi::Env env) { return env.GetInstanceData<AddonState>(); }

}  // namespace asynchat
