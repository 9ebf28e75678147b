// Regular files, which epoll refuses (EPERM) and poll(2) calls always ready.
//
// AlwaysReadyFiles wraps the backend so that the reactor above sees one poller that takes
// every fd: a file the backend refuses is kept here, out of the kernel's set, and reported
// ready at every wait (for the reading and writing JavaScript wants of it), and a wait does
// not block while one of them wants either.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "addon_state.h"
#include "poller.h"

namespace asynchat {

class AlwaysReadyFiles final : public Poller {
 public:
  // `wanted` is the reactor's interest per fd (it outlives this object); `stats` counts
  // the interest changes that reach the backend.
  AlwaysReadyFiles(std::unique_ptr<Poller> backend, const std::vector<uint8_t>& wanted, Stats* stats);

  const char* name() const override { return backend_->name(); }
  int fd() const override { return backend_->fd(); }
  // The backend's set(), except for a file kept here, or refused now on its first
  // registration (EPERM), which is kept from then on: both succeed without the backend.
  int set(int fd, uint32_t from, uint32_t to) override;
  // The backend's wait (not blocking while a kept file wants I/O), then the kept files'
  // events while `max` leaves room.
  int wait(int timeout_ms, PollEvent* out, int max) override;

  // Something other than the backend refused fd as a file (libuv, in attached mode): take it
  // out of the backend's set, where it has `mask`, and keep it. Returns 0 or an errno value.
  int Keep(int fd, uint32_t mask);
  // fd leaves the reactor (it is usually closed next): dropped here, or from the backend's
  // set where it has `from`.
  void Forget(int fd, uint32_t from);
  bool Keeps(int fd) const { return static_cast<size_t>(fd) < kept_.size() && kept_[fd]; }
  // A kept file wants to read or write, so the next wait must not block.
  bool AnyReady() const;

 private:
  void Add(int fd);

  std::unique_ptr<Poller> backend_;
  const std::vector<uint8_t>& wanted_;
  Stats* stats_;
  std::vector<uint8_t> kept_;  // per fd: 1 while kept here
  std::vector<int> files_;     // the fds kept, in no order
};

}  // namespace asynchat
