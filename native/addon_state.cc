#include "addon_state.h"

#include "reactor.h"
#include "signal_watch.h"

namespace asynchat {

// The environment is being torn down: close the reactors JavaScript left open (a copy,
// since each one leaves the set as it shuts down), then the signal watch.
AddonState::~AddonState() {
  std::unordered_set<Reactor*> open = reactors;
  for (Reactor* reactor : open) reactor->Shutdown();
  signals.reset();
}

}  // namespace asynchat
