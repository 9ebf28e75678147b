// kqueue backend (macOS, the BSDs; on Linux only against an emulation library,
// test/kqueue-shim/). kqueue watches reads and writes as two filters; both are registered
// without EV_CLEAR, which makes them level-triggered like epoll and poll(2).
#if defined(ASYNCHAT_HAVE_KQUEUE)

#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "poller.h"

namespace asynchat {
namespace {

uint32_t Bits(const struct kevent& kev) {
  if (kev.flags & EV_ERROR) return kErr;
  if (kev.filter == EVFILT_READ) {
    uint32_t bits = kRead;
    if ((kev.flags & EV_EOF) && kev.fflags != 0) bits |= kErr;
    // The peer is gone and nothing is left to read (data: the bytes pending).
    if ((kev.flags & EV_EOF) && kev.data == 0) bits |= kHup;
#if defined(EV_OOBAND)
    if (kev.flags & EV_OOBAND) bits |= kPri;  // macOS flags out-of-band data on reads
#endif
    return bits;
  }
  if (kev.filter == EVFILT_WRITE) return (kev.flags & EV_EOF) ? kWrite | kHup : kWrite;
  return 0;
}

class KqueuePoller final : public Poller {
 public:
  explicit KqueuePoller(int kq) : kq_(kq) {}
  ~KqueuePoller() override { close(kq_); }

  const char* name() const override { return "kqueue"; }
  int fd() const override { return kq_; }

  int set(int fd, uint32_t from, uint32_t to) override {
    // kqueue has no filter for out-of-band data alone (macOS flags it on read events with
    // EV_OOBAND; elsewhere it is not reported), so only the read and write bits decide which
    // filters exist.
    struct kevent changes[2];
    int n = 0;
    bool had_read = from & (kRead | kPri), want_read = to & (kRead | kPri);
    bool had_write = from & kWrite, want_write = to & kWrite;
    if (had_read == want_read && had_write == want_write) return 0;
    // The wanted filters are (re-)added every time, adds first: an fd closed and reopened
    // behind our back has lost its filters (close drops them), and EV_ADD of a filter that
    // exists only modifies it. A delete that finds nothing (ENOENT) did what was asked.
    if (want_read) EV_SET(&changes[n++], fd, EVFILT_READ, EV_ADD, 0, 0, nullptr);
    if (want_write) EV_SET(&changes[n++], fd, EVFILT_WRITE, EV_ADD, 0, 0, nullptr);
    if (had_read && !want_read) EV_SET(&changes[n++], fd, EVFILT_READ, EV_DELETE, 0, 0, nullptr);
    if (had_write && !want_write) EV_SET(&changes[n++], fd, EVFILT_WRITE, EV_DELETE, 0, 0, nullptr);
    struct timespec zero = {0, 0};
    if (kevent(kq_, changes, n, nullptr, 0, &zero) == 0) return 0;
    int err = errno;
    if (err == ENOENT || (to == 0 && err == EBADF)) return 0;
    return err;
  }

  int wait(int timeout_ms, PollEvent* out, int max) override {
    if (scratch_.size() < static_cast<size_t>(max)) scratch_.resize(max);
    struct timespec ts, *tsp = nullptr;
    if (timeout_ms >= 0) {
      ts.tv_sec = timeout_ms / 1000;
      ts.tv_nsec = (timeout_ms % 1000) * 1000000L;
      tsp = &ts;
    }
    int got = kevent(kq_, nullptr, 0, scratch_.data(), max, tsp);
    if (got < 0) return -errno;
    // One fd can come back twice (a read and a write event), any distance apart: merge them
    // exactly, as Redis's ae_kqueue.c does, so JavaScript sees one event per fd per batch as
    // with the other backends. slot_of_[fd] is fd's place in `out` in this batch, or -1.
    int n = 0;
    for (int i = 0; i < got; i++) {
      const struct kevent& kev = scratch_[i];
      int fd = static_cast<int>(kev.ident);
      if (static_cast<size_t>(fd) >= slot_of_.size()) slot_of_.resize(static_cast<size_t>(fd) + 1, -1);
      int& slot = slot_of_[fd];
      if (slot < 0) {
        slot = n++;
        out[slot] = PollEvent{fd, 0};
      }
      out[slot].events |= Bits(kev);
    }
    for (int i = 0; i < n; i++) slot_of_[out[i].fd] = -1;
    return n;
  }

 private:
  int kq_;
  std::vector<struct kevent> scratch_;
  std::vector<int> slot_of_;  // per fd, grown as needed; all -1 between waits
};

}  // namespace

std::unique_ptr<Poller> CreateKqueuePoller(int* err) {
  int kq = kqueue();
  if (kq < 0) {
    *err = errno;
    return nullptr;
  }
  if (fcntl(kq, F_SETFD, FD_CLOEXEC) != 0) {
    *err = errno;
    close(kq);
    return nullptr;
  }
  return std::unique_ptr<Poller>(new KqueuePoller(kq));
}

}  // namespace asynchat

#endif  // ASYNCHAT_HAVE_KQUEUE
