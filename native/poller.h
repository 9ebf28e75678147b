// The poller: one small interface over the kernel's readiness APIs.
//
// Each backend (poller_epoll.cc, poller_kqueue.cc, poller_poll.cc) implements the same four
// operations, in the spirit of Redis's ae backends: change an fd's interest, wait for a batch
// of events, and say its name and (if it has one) the fd that becomes readable when any
// watched fd is ready. Everything else lives once above them: the interest cache, deferred
// changes and stats in reactor.cc, regular files in always_ready.cc, attaching to Node's loop
// in attach.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace asynchat {

// Interest and readiness bits. src/binding/native.ts mirrors these values.
enum EventBits : uint32_t {
  kRead = 1,    // interest and readiness
  kWrite = 2,   // interest and readiness
  kPri = 4,     // interest and readiness (out-of-band data)
  kHup = 8,     // readiness only
  kErr = 16,    // readiness only
  kNval = 32,   // readiness only: the fd is not open
  kInterestMask = kRead | kWrite | kPri,
};

// Layout-compatible with two int32 slots of the batch array shared with JavaScript, so a
// backend writes its events straight into it.
struct PollEvent {
  int32_t fd;
  uint32_t events;
};
static_assert(sizeof(PollEvent) == 8, "PollEvent must be two int32 slots");

// One of our bits beside the bit that means the same to another API (epoll, poll(2), libuv),
// so that each translation is a table and the two directions are written once.
struct BitPair {
  uint32_t ours;
  uint32_t theirs;
};

template <size_t N>
constexpr uint32_t TheirBits(uint32_t ours, const BitPair (&table)[N]) {
  uint32_t bits = 0;
  for (const BitPair& pair : table)
    if (ours & pair.ours) bits |= pair.theirs;
  return bits;
}

template <size_t N>
constexpr uint32_t OurBits(uint32_t theirs, const BitPair (&table)[N]) {
  uint32_t bits = 0;
  for (const BitPair& pair : table)
    if (theirs & pair.theirs) bits |= pair.ours;
  return bits;
}

class Poller {
 public:
  virtual ~Poller() = default;
  virtual const char* name() const = 0;
  // An fd that polls readable while any watched fd is ready, or -1 when the backend has none.
  virtual int fd() const = 0;
  // Make the kernel's interest in `fd` go from `from` to `to` (either may be 0).
  // Returns 0 or an errno value.
  virtual int set(int fd, uint32_t from, uint32_t to) = 0;
  // Waits up to timeout_ms (-1: no limit) and writes at most `max` events.
  // Returns their count, or minus an errno value (EINTR included: the caller retries).
  virtual int wait(int timeout_ms, PollEvent* out, int max) = 0;
};

// `name` is "epoll", "kqueue", "poll", or "" for the platform's best. On failure returns null
// and sets *err to an errno value (ENOSYS for a backend not compiled in).
std::unique_ptr<Poller> CreatePoller(const std::string& name, int* err);
const char* DefaultPollerName();
// Names of the backends compiled into this build, best first, separated by commas.
const char* AvailablePollers();

std::unique_ptr<Poller> CreateEpollPoller(int* err);
std::unique_ptr<Poller> CreateKqueuePoller(int* err);
std::unique_ptr<Poller> CreatePollPoller(int* err);

}  // namespace asynchat
