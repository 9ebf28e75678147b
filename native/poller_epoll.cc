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

uint32_t ToEpoll(uint32_t mask) {
  uint32_t ev = 0;
  if (mask & kRead) ev |= EPOLLIN;
  if (mask & kWrite) ev |= EPOLLOUT;
  if (mask & kPri) ev |= EPOLLPRI;
  return ev;
}

uint32_t FromEpoll(uint32_t ev) {
  uint32_t mask = 0;
  if (ev & EPOLLIN) mask |= kRead;
  if (ev & EPOLLOUT) mask |= kWrite;
  if (ev & EPOLLPRI) mask |= kPri;
  if (ev & EPOLLHUP) mask |= kHup;
  if (ev & EPOLLERR) mask |= kErr;
  return mask;
}

class EpollPoller final : public Poller {
 public:
  explicit EpollPoller(int epfd) : epfd_(epfd) {}
  ~EpollPoller() override { close(epfd_); }

  const char* name() const override { return "epoll"; }
  int fd() const override { return epfd_; }

  int set(int fd, uint32_t from, uint32_t to) override {
    struct epoll_event ev = {};
    ev.events = ToEpoll(to);
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
      out[i].events = FromEpoll(evs[i].events);
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
