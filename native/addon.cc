// Module entry: one AddonState per Node environment (main thread or worker), created here
// and destroyed by Node when that environment is torn down.
#include <napi.h>

#include "addon_state.h"
#include "datagrams.h"
#include "parse_frames.h"
#include "poller.h"
#include "reactor.h"
#include "scan.h"
#include "signal_watch.h"
#include "sockets.h"
#include "tls.h"

namespace asynchat {

Napi::Value GetStats(const Napi::CallbackInfo& info) {
  const Stats& s = GetState(info.Env())->stats;
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("wakeups", static_cast<double>(s.wakeups));
  o.Set("waits", static_cast<double>(s.waits));
  o.Set("events", static_cast<double>(s.events));
  o.Set("crossings", static_cast<double>(s.crossings));
  o.Set("interestSyscalls", static_cast<double>(s.interest_syscalls));
  o.Set("reads", static_cast<double>(s.reads));
  o.Set("writes", static_cast<double>(s.writes));
  o.Set("accepts", static_cast<double>(s.accepts));
  o.Set("scans", static_cast<double>(s.scans));
  o.Set("reactors", static_cast<double>(GetState(info.Env())->reactors.size()));
  o.Set("tlsConnections", static_cast<double>(GetState(info.Env())->tls_live));
  return o;
}

Napi::Value ResetStats(const Napi::CallbackInfo& info) {
  GetState(info.Env())->stats = Stats();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* state = new AddonState();
  env.SetInstanceData<AddonState>(state);  // deleted by Node at environment teardown

  Napi::Function reactor = Reactor::Define(env);
  state->reactor_constructor = Napi::Persistent(reactor);
  exports.Set("Reactor", reactor);
  exports.Set("stats", Napi::Function::New<GetStats>(env, "stats"));
  exports.Set("resetStats", Napi::Function::New<ResetStats>(env, "resetStats"));
  exports.Set("defaultBackend", Napi::String::New(env, DefaultPollerName()));
  exports.Set("backends", Napi::String::New(env, AvailablePollers()));

  Napi::Object bits = Napi::Object::New(env);
  bits.Set("READ", static_cast<double>(kRead));
  bits.Set("WRITE", static_cast<double>(kWrite));
  bits.Set("PRI", static_cast<double>(kPri));
  bits.Set("HUP", static_cast<double>(kHup));
  bits.Set("ERR", static_cast<double>(kErr));
  bits.Set("NVAL", static_cast<double>(kNval));
  exports.Set("events", bits);

  InitSockets(env, exports);
  InitDatagrams(env, exports);
  InitScan(env, exports);
  InitSignals(env, exports);
  InitParseFrames(env, exports);
  InitTls(env, exports);
  return exports;
}

}  // namespace asynchat

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return asynchat::Init(env, exports);
}

NODE_API_MODULE(asynchat, InitAddon)
