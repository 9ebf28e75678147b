/*
 * kqueue over epoll (see include/sys/event.h and README.md).
 *
 * A kqueue is an epoll fd. kqueue has one registration per (fd, filter) where epoll has one
 * per fd, so each kqueue keeps a small table, indexed by fd, of the filters registered and
 * of those disabled; a change computes the fd's new epoll mask from it and applies it with
 * one epoll_ctl (ADD, MOD or DEL). The filters an fd has are also stored next to it in
 * epoll_event.data (fd | filters << 32), so turning a ready epoll event back into kevents
 * needs no table and no lock.
 */
#define _GNU_SOURCE
#include "sys/event.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
  kq_read = 1,   /* EVFILT_READ registered */
  kq_write = 2,  /* EVFILT_WRITE registered */
  kq_filters = kq_read | kq_write,
  kq_disabled_shift = 2, /* the same two bits, shifted: registered but EV_DISABLE'd */
};

/* Epoll events wanted by one kevent() call at most; more are left for the next call. */
#define KQ_MAX_BATCH 256

struct kq_table {
  int open;          /* set by kqueue(); a table for an fd number never given out is unused */
  size_t size;       /* entries in `state` */
  unsigned char *state;
};

/* The tables, indexed by kqueue fd. A table is never freed, only reset when kqueue() returns
 * its fd number again: closing a kqueue fd is not seen here. One mutex serialises changes
 * for all kqueues; waits do not take it. */
static pthread_mutex_t kq_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kq_table *kq_tables;
static size_t kq_ntables;

static int grow(void **array, size_t *size, size_t elem, size_t need) {
  if (need <= *size) return 0;
  size_t n = *size < 16 ? 16 : *size;
  while (n < need) n *= 2;
  void *p = realloc(*array, n * elem);
  if (p == NULL) return ENOMEM;
  memset((char *)p + *size * elem, 0, (n - *size) * elem);
  *array = p;
  *size = n;
  return 0;
}

int kqueue(void) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return -1;
  pthread_mutex_lock(&kq_lock);
  int err = grow((void **)&kq_tables, &kq_ntables, sizeof *kq_tables, (size_t)epfd + 1);
  if (err == 0) {
    struct kq_table *t = &kq_tables[epfd];
    t->open = 1;
    if (t->state != NULL) memset(t->state, 0, t->size);
  }
  pthread_mutex_unlock(&kq_lock);
  if (err != 0) {
    close(epfd);
    errno = err;
    return -1;
  }
  return epfd;
}

static uint32_t epoll_mask(unsigned filters) {
  uint32_t ev = 0;
  if (filters & kq_read) ev |= EPOLLIN | EPOLLRDHUP | EPOLLPRI;
  if (filters & kq_write) ev |= EPOLLOUT;
  return ev;
}

/* Makes epoll watch `fd` for `to` (filters) where it watched it for `from`. */
static int epoll_apply(int epfd, int fd, unsigned from, unsigned to) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = epoll_mask(to);
  ev.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)to << 32;
  int op = from == 0 ? EPOLL_CTL_ADD : (to == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
  if (from == 0 && to == 0) {
    /* Nothing for epoll to do (a filter added disabled), but the fd must exist. */
    return fcntl(fd, F_GETFD) < 0 ? errno : 0;
  }
  if (epoll_ctl(epfd, op, fd, &ev) == 0) return 0;
  int err = errno;
  /* The table says epoll has the fd, epoll does not: it was closed (which drops it from
   * every epoll set, as close drops its knotes on BSD) and its number reused. */
  if (op == EPOLL_CTL_MOD && err == ENOENT) return ENOENT;
  /* The other way round (cannot happen unless the table was reset under a live epoll set,
   * e.g. a dup of a kqueue fd): take the kernel's word for it. */
  if (op == EPOLL_CTL_ADD && err == EEXIST)
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : errno;
  return err;
}

/* Applies one change to kqueue `kq`. Returns 0 or an errno value. Called with kq_lock. */
static int apply_change(int kq, const struct kevent *kev) {
  unsigned bit;
  if (kev->filter == EVFILT_READ)
    bit = kq_read;
  else if (kev->filter == EVFILT_WRITE)
    bit = kq_write;
  else
    return EINVAL;
  if (kev->flags & (EV_ONESHOT | EV_DISPATCH)) return EINVAL;
  if (kev->ident > (uintptr_t)INT_MAX) return EBADF;
  int fd = (int)kev->ident;

  struct kq_table *t = &kq_tables[kq];
  unsigned state = (size_t)fd < t->size ? t->state[fd] : 0;
  unsigned reg = state & kq_filters, dis = (state >> kq_disabled_shift) & kq_filters;

  for (int attempt = 0; attempt < 2; attempt++) {
    unsigned new_reg = reg, new_dis = dis;
    if (kev->flags & EV_DELETE) {
      if (!(reg & bit)) return ENOENT;
      new_reg &= ~bit;
      new_dis &= ~bit;
    } else if (kev->flags & EV_ADD) {
      if (!(reg & bit)) new_dis &= ~bit;  /* a new filter starts enabled... */
      new_reg |= bit;
    } else if (!(reg & bit)) {
      return ENOENT;  /* EV_ENABLE / EV_DISABLE of a filter never added */
    }
    if (!(kev->flags & EV_DELETE)) {
      if (kev->flags & EV_DISABLE) new_dis |= bit;  /* ...unless EV_DISABLE says otherwise */
      else if (kev->flags & EV_ENABLE) new_dis &= ~bit;
    }

    /* A filter epoll watches is registered and not disabled. An fd with none is not in the
     * epoll set at all, or it would still report EPOLLHUP and EPOLLERR. */
    unsigned from = reg & ~dis, to = new_reg & ~new_dis;
    int err = epoll_apply(kq, fd, from, to);
    if (err == ENOENT && from != 0 && attempt == 0) {
      /* The fd was closed since: its old registrations are gone, as on BSD. Start over
       * from nothing, which makes anything but EV_ADD fail with ENOENT. */
      if ((size_t)fd < t->size) t->state[fd] = 0;
      reg = dis = 0;
      continue;
    }
    if (err == EBADF && (size_t)fd < t->size) t->state[fd] = 0;  /* closed: nothing left */
    if (err != 0) return err;
    if (new_reg != 0 || (size_t)fd < t->size) {
      err = grow((void **)&t->state, &t->size, 1, (size_t)fd + 1);
      if (err != 0) {
        epoll_apply(kq, fd, to, from);
        return err;
      }
      t->state[fd] = (unsigned char)(new_reg | new_dis << kq_disabled_shift);
    }
    return 0;
  }
  return ENOENT;
}

/* Applies the changes; returns how many EV_ERROR events it wrote, or -1 and errno. */
static int apply_changes(int kq, const struct kevent *changes, int nchanges,
                         struct kevent *out, int nout) {
  int nerrors = 0;
  pthread_mutex_lock(&kq_lock);
  if ((size_t)kq >= kq_ntables || !kq_tables[kq].open) {
    pthread_mutex_unlock(&kq_lock);
    errno = EBADF;
    return -1;
  }
  for (int i = 0; i < nchanges; i++) {
    int err = apply_change(kq, &changes[i]);
    if (err == 0 && !(changes[i].flags & EV_RECEIPT)) continue;
    if (nerrors == nout) {
      if (err == 0) continue;
      /* No room to report it: fail the call, leaving the later changes unapplied. */
      pthread_mutex_unlock(&kq_lock);
      errno = err;
      return -1;
    }
    out[nerrors] = changes[i];
    out[nerrors].flags = EV_ERROR;
    out[nerrors].data = err;
    nerrors++;
  }
  pthread_mutex_unlock(&kq_lock);
  return nerrors;
}

static int to_ms(const struct timespec *ts) {
  if (ts == NULL) return -1;
  if (ts->tv_sec < 0 || ts->tv_nsec < 0) return 0;
  if (ts->tv_sec >= INT_MAX / 1000) return INT_MAX;
  /* Rounded up, so that a short timeout does not become a busy poll. */
  return (int)(ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000);
}

/* Linux has no way to read a socket's pending error without clearing it (getsockopt
 * SO_ERROR resets it), and the application must still find it there, as on BSD; so fflags
 * holds this stand-in rather than the error itself. */
#define KQ_SOCKET_ERROR_STANDIN EIO

static int is_socket(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Turns one epoll event into the kevent of `filter` (kq_read or kq_write), if that filter is
 * registered and ready; returns 1 if it wrote one, else 0. */
static int convert(const struct epoll_event *ev, unsigned filter, struct kevent *k) {
  int fd = (int)(uint32_t)ev->data.u64;
  unsigned filters = (unsigned)(ev->data.u64 >> 32);
  uint32_t e = ev->events;
  if (!(filters & filter)) return 0;
  if (filter == kq_read) {
    if (!(e & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return 0;
    int avail = 0;
    EV_SET(k, fd, EVFILT_READ, 0, 0, 0, NULL);
    if (ioctl(fd, FIONREAD, &avail) == 0) k->data = avail;  /* not for a listening socket */
    if (e & EPOLLPRI) k->flags |= EV_OOBAND;
    if (e & (EPOLLRDHUP | EPOLLHUP)) {
      k->flags |= EV_EOF;
      if ((e & EPOLLERR) && is_socket(fd)) k->fflags = KQ_SOCKET_ERROR_STANDIN;
    }
    return 1;
  }
  if (!(e & (EPOLLOUT | EPOLLHUP | EPOLLERR))) return 0;
  EV_SET(k, fd, EVFILT_WRITE, 0, 0, 0, NULL);
  /* The write side is over when the connection is (a pipe whose reader left reports
   * EPOLLERR alone). */
  if (e & EPOLLHUP || ((e & EPOLLERR) && !is_socket(fd))) {
    k->flags |= EV_EOF;
    if ((e & EPOLLERR) && is_socket(fd)) k->fflags = KQ_SOCKET_ERROR_STANDIN;
  }
  return 1;
}

int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout) {
  if (nchanges < 0 || nevents < 0 || (nchanges > 0 && changelist == NULL) ||
      (nevents > 0 && eventlist == NULL)) {
    errno = EINVAL;
    return -1;
  }
  if (nchanges > 0) {
    int nerrors = apply_changes(kq, changelist, nchanges, eventlist, nevents);
    if (nerrors != 0) return nerrors;  /* errors reported are returned at once, as on BSD */
  }
  if (nevents == 0) return 0;

  struct epoll_event ready[KQ_MAX_BATCH];
  int want = nevents < KQ_MAX_BATCH ? nevents : KQ_MAX_BATCH;
  int got = epoll_wait(kq, ready, want, to_ms(timeout));
  if (got < 0) {
    if (errno == EINVAL) errno = EBADF;  /* not an epoll fd, so not a kqueue */
    return -1;
  }
  /* Filter by filter: every read event of the batch, then every write event. BSD keeps no
   * order between the two filters of one fd (each knote joins the active queue when it
   * fires), so an fd's read and write events can be a whole batch apart, and a kqueue user
   * must merge them exactly; this order makes every batch that case. An event that finds no
   * room is still ready at the next call (level-triggered), so it is not lost. */
  int n = 0;
  for (int i = 0; i < got && n < nevents; i++) n += convert(&ready[i], kq_read, eventlist + n);
  for (int i = 0; i < got && n < nevents; i++) n += convert(&ready[i], kq_write, eventlist + n);
  return n;
}
