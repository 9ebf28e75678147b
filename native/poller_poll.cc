// poll(2) backend: portable, and what Python's use_poll=True asked for. It has no fd of its
// own to be watched by Node's loop; attach.cc covers that case in attached mode.
//
// The watched set is a dense pollfd array plus an fd -> slot index, so changing one fd's
// interest is O(1) and removing one swaps the last slot into its place.
#include <poll.h>

#include <cerrno>
#include <vector>

#include "poller.h"

namespace asynchat {
namespace {

constexpr BitPair kPollBits[] = {
    {kRead, POLLIN},   {kWrite, POLLOUT}, {kPri, POLLPRI},
    {kHup, POLLHUP},   {kErr, POLLERR},   {kNval, POLLNVAL},
};

short ToPoll(uint32_t mask) { return static_cast<short>(TheirBits(mask & kInterestMask, kPollBits)); }

class PollPoller final : public Poller {
 public:
  const char* name() const override { return "poll"; }
  int fd() const override { return -1; }

  int set(int fd, uint32_t from, uint32_t to) override {
    (void)from;
    if (fd < 0) return EBADF;
    if (static_cast<size_t>(fd) >= slot_of_.size()) slot_of_.resize(fd + 1, -1);
    int slot = slot_of_[fd];
    if (to == 0) {
      if (slot < 0) return 0;
      int last = static_cast<int>(fds_.size()) - 1;
      if (slot != last) {
        fds_[slot] = fds_[last];
        slot_of_[fds_[slot].fd] = slot;
      }
      fds_.pop_back();
      slot_of_[fd] = -1;
      return 0;
    }
    if (slot < 0) {
      slot_of_[fd] = static_cast<int>(fds_.size());
      fds_.push_back(pollfd{fd, ToPoll(to), 0});
    } else {
      fds_[slot].events = ToPoll(to);
    }
    return 0;
  }

  int wait(int timeout_ms, PollEvent* out, int max) override {
    int ready = poll(fds_.data(), fds_.size(), timeout_ms);
    if (ready < 0) return -errno;
    // When the batch fills up, the next wait starts just after the last fd it reported, so a
    // full batch does not always favour the fds in the first slots.
    int n = 0;
    size_t count = fds_.size(), next = 0;
    for (size_t k = 0; k < count && n < max && ready > 0; k++) {
      size_t i = (start_ + k) % count;
      if (fds_[i].revents == 0) continue;
      ready--;
      out[n].fd = fds_[i].fd;
      out[n].events = OurBits(static_cast<uint16_t>(fds_[i].revents), kPollBits);
      n++;
      next = i + 1;
    }
    start_ = (n == max && count > 0) ? next % count : 0;
    return n;
  }

 private:
  std::vector<pollfd> fds_;
  std::vector<int> slot_of_;
  size_t start_ = 0;
};

}  // namespace

std::unique_ptr<Poller> CreatePollPoller(int* err) {
  (void)err;
  return std::unique_ptr<Poller>(new PollPoller());
}

}  // namespace asynchat
