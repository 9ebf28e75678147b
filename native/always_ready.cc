#include "always_ready.h"

#include <cerrno>

namespace asynchat {

namespace {
constexpr uint32_t kReadWrite = kRead | kWrite;
}  // namespace

AlwaysReadyFiles::AlwaysReadyFiles(std::unique_ptr<Poller> backend, const std::vector<uint8_t>& wanted,
                                   Stats* stats)
    : backend_(std::move(backend)), wanted_(wanted), stats_(stats) {}

int AlwaysReadyFiles::set(int fd, uint32_t from, uint32_t to) {
  if (Keeps(fd)) return 0;
  stats_->interest_syscalls++;
  int err = backend_->set(fd, from, to);
  if (err == EPERM && from == 0) {
    Add(fd);
    return 0;
  }
  return err;
}

int AlwaysReadyFiles::wait(int timeout_ms, PollEvent* out, int max) {
  int n = backend_->wait(AnyReady() ? 0 : timeout_ms, out, max);
  if (n < 0) return n;
  for (int fd : files_) {
    uint32_t ready = wanted_[fd] & kReadWrite;
    if (ready && n < max) out[n++] = PollEvent{fd, ready};
  }
  return n;
}

int AlwaysReadyFiles::Keep(int fd, uint32_t mask) {
  int err = backend_->set(fd, mask, 0);
  if (err == 0) Add(fd);
  return err;
}

void AlwaysReadyFiles::Forget(int fd, uint32_t from) {
  if (Keeps(fd)) {
    kept_[fd] = 0;
    for (size_t i = 0; i < files_.size(); i++) {
      if (files_[i] == fd) {
        files_[i] = files_.back();
        files_.pop_back();
        break;
      }
    }
  } else if (from != 0) {
    stats_->interest_syscalls++;
    // Each backend already counts an fd it no longer has (ENOENT, EBADF) as removed; any
    // other failure leaves nothing to undo or report, as the fd is on its way out.
    (void)backend_->set(fd, from, 0);
  }
}

bool AlwaysReadyFiles::AnyReady() const {
  for (int fd : files_)
    if (wanted_[fd] & kReadWrite) return true;
  return false;
}

void AlwaysReadyFiles::Add(int fd) {
  if (static_cast<size_t>(fd) >= kept_.size()) kept_.resize(static_cast<size_t>(fd) + 1, 0);
  kept_[fd] = 1;
  files_.push_back(fd);
}

}  // namespace asynchat
