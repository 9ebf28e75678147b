/*
 * A small kqueue emulation over epoll, for compiling and testing asynchat's kqueue backend
 * (native/poller_kqueue.cc) on Linux. Not a general libkqueue: it has the read and write
 * filters only, level-triggered, which is all the backend uses. See ../../README.md.
 *
 * The layout of struct kevent and the constants follow FreeBSD and macOS.
 */
#ifndef ASYNCHAT_KQUEUE_SHIM_SYS_EVENT_H
#define ASYNCHAT_KQUEUE_SHIM_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kevent {
  uintptr_t ident; /* the fd */
  short filter;    /* EVFILT_* */
  unsigned short flags;
  unsigned int fflags;
  int64_t data;
  void *udata;
};

#define EV_SET(kevp, a, b, c, d, e, f) \
  do {                                 \
    struct kevent *ev_set_kevp_ = (kevp); \
    ev_set_kevp_->ident = (a);         \
    ev_set_kevp_->filter = (b);        \
    ev_set_kevp_->flags = (c);         \
    ev_set_kevp_->fflags = (d);        \
    ev_set_kevp_->data = (e);          \
    ev_set_kevp_->udata = (f);         \
  } while (0)

/* Filters. Others (EVFILT_TIMER, EVFILT_PROC, ...) are refused with EINVAL. */
#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)

/* Actions. */
#define EV_ADD 0x0001
#define EV_DELETE 0x0002
#define EV_ENABLE 0x0004
#define EV_DISABLE 0x0008

/* Flags. EV_CLEAR is accepted and ignored (events stay level-triggered); EV_ONESHOT and
 * EV_DISPATCH are refused with EINVAL. */
#define EV_ONESHOT 0x0010
#define EV_CLEAR 0x0020
#define EV_RECEIPT 0x0040
#define EV_DISPATCH 0x0080

/* Returned values. */
#define EV_EOF 0x8000
#define EV_ERROR 0x4000
/* As on macOS (FreeBSD has no equivalent): EVFILT_READ fires, with this flag, while a socket
 * has out-of-band data pending. */
#define EV_OOBAND 0x2000

/* Returns a new kqueue: an epoll fd, so it polls readable while any event is pending. */
int kqueue(void);

/* Applies `changelist`, then waits up to `timeout` (NULL: no limit) for at most `nevents`
 * events. An error in a change is reported as an EV_ERROR event (errno in `data`) while
 * `eventlist` has room, else as -1 and errno, leaving later changes unapplied, as on BSD. */
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCHAT_KQUEUE_SHIM_SYS_EVENT_H */
