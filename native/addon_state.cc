#include "addon_state.h"

#include "reactor.h"

namespace asynchat {

// The environment is being torn down: close the reactors JavaScript left open (a copy,
// since each one leaves the set as it shuts down).
AddonState::~AddonState() {
  std::unordered_set<Reactor*> open = reactors;
  for (Reactor* reactor : open) reactor->Shutdown();
}

}  // namespace asynchat
