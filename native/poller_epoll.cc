// epoll backend (Linux). Level-triggered, like poll(2), so an fd that still has data after a
// dispatch is reported again on the next wait.
#if defined(ASYNCHAT_HAVE_EPOLL)

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "poller.h"

namespace asynchat {
namespace {

constexpr BitPair kEpollBits[] = {
    {kRead, EPOLLIN}, {kWrite, EPOLLOUT}, {kPri, EPOLLPRI}, {kHup, EPOLLHUP}, {kErr, EPOLLERR},
};

class EpollPoller final : public Poller {
 public:
  explicit EpollPoller(int epfd) : epfd_(epfd) {}
  ~EpollPoller() override { close(epfd_); }

  const char* name() const override { return "epoll"; }
  int fd() const override { return epfd_; }

  int set(int fd, uint32_t from, uint32_t to) override {
    struct epoll_event ev = {};
    ev.events = TheirBits(to & kInterestMask, kEpollBits);
    ev.data.fd = fd;
    int op = from == 0 ? EPOLL_CTL_ADD : (to == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
    if (epoll_ctl(epfd_, op, fd, &ev) == 0) return 0;
    int err = errno;
    // The kernel's view can differ from ours when an fd was closed and reopened behind our
    // back (close drops it from the epoll set): retry with the other verb once.
    if (op == EPOLL_CTL_MOD && err == ENOENT) {
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0) return 0;
      err = errno;
    } else if (op == EPOLL_CTL_ADD && err == EEXIST) {
      if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
      err = errno;
    } else if (op == EPOLL_CTL_DEL && (err == ENOENT || err == EBADF)) {
      return 0;
    }
    return err;
  }

  int wait(int timeout_ms, PollEvent* out, int max) override {
    // epoll_event is packed on x86-64 (12 bytes), so it cannot be written in place.
    if (scratch_.size() < static_cast<size_t>(max)) scratch_.resize(max);
    struct epoll_event* evs = scratch_.data();
    int n = epoll_wait(epfd_, evs, max, timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) {
      out[i].fd = evs[i].data.fd;
      out[i].events = OurBits(evs[i].events, kEpollBits);
    }
    return n;
  }

 private:
  int epfd_;
  std::vector<struct epoll_event> scratch_;
};

}  // namespace

std::unique_ptr<Poller> CreateEpollPoller(int* err) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    *err = errno;
    return nullptr;
  }
  return std::unique_ptr<Poller>(new EpollPoller(epfd));
}

}  // namespace asynchat

#endif  // ASYNCHAT_HAVE_EPOLL
