/*
 * Checks the kqueue shim against what BSD kqueue does, for the cases asynchat's backend
 * relies on. Built and run by build.mjs --check; prints one line per case.
 */
#define _GNU_SOURCE
#include <sys/event.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                               \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "  %s:%d: failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, \
              errno);                                                             \
      failures++;                                                                 \
      return;                                                                     \
    }                                                                             \
  } while (0)

static const struct timespec zero = {0, 0};

static int change(int kq, int fd, int filter, int flags) {
  struct kevent kev;
  EV_SET(&kev, fd, filter, flags, 0, 0, NULL);
  return kevent(kq, &kev, 1, NULL, 0, &zero);
}

static int wait_events(int kq, struct kevent *out, int max, int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  return kevent(kq, NULL, 0, out, max, &ts);
}

static const struct kevent *find(const struct kevent *evs, int n, int fd, int filter) {
  for (int i = 0; i < n; i++)
    if ((int)evs[i].ident == fd && evs[i].filter == filter) return &evs[i];
  return NULL;
}

static void read_and_write_filters(void) {
  int sv[2], kq = kqueue();
  struct kevent evs[8];
  CHECK(kq >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(change(kq, sv[0], EVFILT_READ, EV_ADD) == 0);
  CHECK(wait_events(kq, evs, 8, 0) == 0);
  CHECK(write(sv[1], "abc", 3) == 3);
  CHECK(wait_events(kq, evs, 8, 1000) == 1);
  CHECK((int)evs[0].ident == sv[0] && evs[0].filter == EVFILT_READ && evs[0].data == 3);
  CHECK(evs[0].flags == 0);
  // Level-triggered: still there.
  CHECK(wait_events(kq, evs, 8, 0) == 1);
  CHECK(change(kq, sv[0], EVFILT_WRITE, EV_ADD) == 0);
  CHECK(wait_events(kq, evs, 8, 0) == 2);
  CHECK(find(evs, 2, sv[0], EVFILT_READ) && find(evs, 2, sv[0], EVFILT_WRITE));
  // Room for one: the other comes next time.
  CHECK(wait_events(kq, evs, 1, 0) == 1);
  CHECK(change(kq, sv[0], EVFILT_READ, EV_DELETE) == 0);
  CHECK(wait_events(kq, evs, 8, 0) == 1 && evs[0].filter == EVFILT_WRITE);
  // Adding twice modifies, it is no error.
  CHECK(change(kq, sv[0], EVFILT_WRITE, EV_ADD) == 0);
  CHECK(change(kq, sv[0], EVFILT_WRITE, EV_DELETE) == 0);
  CHECK(wait_events(kq, evs, 8, 0) == 0);
  close(sv[0]);
  close(sv[1]);
  close(kq);
}

static void enable_disable(void) {
  int sv[2], kq = kqueue();
  struct kevent evs[8];
  CHECK(kq >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(change(kq, sv[0], EVFILT_WRITE, EV_ADD | EV_DISABLE) == 0);
  CHECK(wait_events(kq, evs, 8, 0) == 0);
  CHECK(change(kq, sv[0], EVFILT_WRITE, EV_ENABLE) == 0);
  CHECK(wait_events(kq, evs, 8, 0) == 1);
  CHECK(change(kq, sv[0], EVFILT_WRITE, EV_DISABLE) == 0);
  CHECK(wait_events(kq, evs, 8, 0) == 0);
  CHECK(change(kq, sv[0], EVFILT_READ, EV_ENABLE) == -1 && errno == ENOENT);
  CHECK(change(kq, sv[0], EVFILT_WRITE, EV_DELETE) == 0);
  CHECK(change(kq, sv[0], EVFILT_WRITE, EV_ENABLE) == -1 && errno == ENOENT);
  close(sv[0]);
  close(sv[1]);
  close(kq);
}

static void errors(void) {
  int sv[2], kq = kqueue();
  struct kevent evs[8], changes[2];
  CHECK(kq >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(change(kq, sv[0], EVFILT_READ, EV_DELETE) == -1 && errno == ENOENT);
  CHECK(change(kq, 100000, EVFILT_READ, EV_ADD) == -1 && errno == EBADF);
  CHECK(change(kq, sv[0], 42, EV_ADD) == -1 && errno == EINVAL);
  // With room, an error is an EV_ERROR event, and the call returns without waiting.
  EV_SET(&changes[0], sv[0], EVFILT_READ, EV_DELETE, 0, 0, NULL);
  EV_SET(&changes[1], sv[0], EVFILT_WRITE, EV_ADD, 0, 0, NULL);
  CHECK(kevent(kq, changes, 2, evs, 8, NULL) == 1);
  CHECK(evs[0].flags == EV_ERROR && evs[0].data == ENOENT && (int)evs[0].ident == sv[0]);
  CHECK(wait_events(kq, evs, 8, 0) == 1 && evs[0].filter == EVFILT_WRITE);
  CHECK(change(kq, sv[0], EVFILT_WRITE, EV_DELETE) == 0);
  // Without room, the first error fails the call and the later changes are not applied.
  CHECK(kevent(kq, changes, 2, NULL, 0, &zero) == -1 && errno == ENOENT);
  CHECK(wait_events(kq, evs, 8, 0) == 0);
  // EV_RECEIPT: one EV_ERROR event per change, data 0 when it worked.
  EV_SET(&changes[0], sv[0], EVFILT_WRITE, EV_ADD | EV_RECEIPT, 0, 0, NULL);
  CHECK(kevent(kq, changes, 1, evs, 8, &zero) == 1 && evs[0].flags == EV_ERROR && evs[0].data == 0);
  CHECK(kevent(100000, NULL, 0, evs, 8, &zero) == -1 && errno == EBADF);
  close(sv[0]);
  close(sv[1]);
  close(kq);
}

static void end_of_stream(void) {
  int sv[2], p[2], kq = kqueue();
  struct kevent evs[8];
  const struct kevent *e;
  CHECK(kq >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && pipe(p) == 0);
  CHECK(change(kq, sv[0], EVFILT_READ, EV_ADD) == 0);
  close(sv[1]);
  CHECK(wait_events(kq, evs, 8, 1000) == 1);
  CHECK(evs[0].filter == EVFILT_READ && (evs[0].flags & EV_EOF) && evs[0].fflags == 0);
  CHECK(change(kq, sv[0], EVFILT_READ, EV_DELETE) == 0);
  // A pipe: the reader sees the writer go, the writer the reader.
  CHECK(change(kq, p[0], EVFILT_READ, EV_ADD) == 0 && change(kq, p[1], EVFILT_WRITE, EV_ADD) == 0);
  CHECK(wait_events(kq, evs, 8, 0) == 1 && (int)evs[0].ident == p[1] && !(evs[0].flags & EV_EOF));
  CHECK(change(kq, p[0], EVFILT_READ, EV_DELETE) == 0);
  close(p[0]);
  CHECK(wait_events(kq, evs, 8, 0) == 1 && (e = find(evs, 1, p[1], EVFILT_WRITE)) && (e->flags & EV_EOF));
  CHECK(change(kq, p[1], EVFILT_WRITE, EV_DELETE) == 0);
  CHECK(pipe(p) == 0);
  CHECK(change(kq, p[0], EVFILT_READ, EV_ADD) == 0);
  close(p[1]);
  CHECK(wait_events(kq, evs, 8, 0) == 1 && evs[0].filter == EVFILT_READ && (evs[0].flags & EV_EOF));
  close(p[0]);
  close(sv[0]);
  close(kq);
}

// Every read event of a batch comes before every write event, so the two events of one fd
// are apart by as many events as the batch has fds: the backend's merging must be exact.
static void events_filter_by_filter(void) {
  enum { pairs = 12 };
  int sv[pairs][2], kq = kqueue();
  struct kevent evs[2 * pairs];
  CHECK(kq >= 0);
  for (int i = 0; i < pairs; i++) {
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]) == 0);
    CHECK(change(kq, sv[i][0], EVFILT_READ, EV_ADD) == 0);
    CHECK(change(kq, sv[i][0], EVFILT_WRITE, EV_ADD) == 0);
    CHECK(write(sv[i][1], "x", 1) == 1);
  }
  CHECK(wait_events(kq, evs, 2 * pairs, 1000) == 2 * pairs);
  for (int i = 0; i < pairs; i++) {
    CHECK(evs[i].filter == EVFILT_READ && evs[pairs + i].filter == EVFILT_WRITE);
    CHECK(evs[i].ident == evs[pairs + i].ident);
  }
  for (int i = 0; i < pairs; i++) {
    close(sv[i][0]);
    close(sv[i][1]);
  }
  close(kq);
}

static void refused_connection_keeps_its_error(void) {
  int kq = kqueue();
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in addr;
  socklen_t len = sizeof addr;
  struct kevent evs[8];
  CHECK(kq >= 0 && probe >= 0 && s >= 0);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A port bound but not listening refuses connections.
  CHECK(bind(probe, (struct sockaddr *)&addr, sizeof addr) == 0);
  CHECK(getsockname(probe, (struct sockaddr *)&addr, &len) == 0);
  CHECK(connect(s, (struct sockaddr *)&addr, sizeof addr) == -1);
  CHECK(change(kq, s, EVFILT_READ, EV_ADD) == 0 && change(kq, s, EVFILT_WRITE, EV_ADD) == 0);
  int n = wait_events(kq, evs, 8, 1000);
  CHECK(n >= 1);
  const struct kevent *r = find(evs, n, s, EVFILT_READ), *w = find(evs, n, s, EVFILT_WRITE);
  CHECK(r && (r->flags & EV_EOF) && r->fflags != 0);
  CHECK(w && (w->flags & EV_EOF));
  // The error is still the application's to read, as on BSD.
  int err = 0;
  len = sizeof err;
  CHECK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == ECONNREFUSED);
  close(s);
  close(probe);
  close(kq);
}

static void out_of_band_data(void) {
  int kq = kqueue();
  int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;
  struct sockaddr_in addr;
  socklen_t len = sizeof addr;
  struct kevent evs[8];
  char byte;
  CHECK(kq >= 0 && l >= 0 && c >= 0);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(l, (struct sockaddr *)&addr, sizeof addr) == 0 && listen(l, 1) == 0);
  CHECK(getsockname(l, (struct sockaddr *)&addr, &len) == 0);
  CHECK(connect(c, (struct sockaddr *)&addr, sizeof addr) == 0 && (s = accept(l, NULL, NULL)) >= 0);
  CHECK(change(kq, s, EVFILT_READ, EV_ADD) == 0);
  CHECK(send(c, "!", 1, MSG_OOB) == 1);
  CHECK(wait_events(kq, evs, 8, 1000) == 1 && (evs[0].flags & EV_OOBAND));
  CHECK(recv(s, &byte, 1, MSG_OOB) == 1 && byte == '!');
  CHECK(wait_events(kq, evs, 8, 0) == 0);
  CHECK(send(c, "x", 1, 0) == 1);
  CHECK(wait_events(kq, evs, 8, 1000) == 1 && !(evs[0].flags & EV_OOBAND));
  close(s);
  close(c);
  close(l);
  close(kq);
}

static void closed_fd_number_reused(void) {
  int sv[2], kq = kqueue();
  struct kevent evs[8];
  CHECK(kq >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  int fd = sv[0];
  CHECK(change(kq, fd, EVFILT_READ, EV_ADD) == 0);
  close(sv[0]);
  close(sv[1]);
  // Closing dropped the registration, as on BSD.
  CHECK(change(kq, fd, EVFILT_READ, EV_DELETE) == -1 && errno == EBADF);
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && sv[0] == fd);
  CHECK(change(kq, fd, EVFILT_READ, EV_DELETE) == -1 && errno == ENOENT);
  CHECK(change(kq, fd, EVFILT_READ, EV_ADD) == 0);
  close(sv[0]);
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && sv[0] == fd);
  // The new socket has the write filter only, not the old read filter too.
  CHECK(change(kq, fd, EVFILT_WRITE, EV_ADD) == 0);
  CHECK(write(sv[1], "x", 1) == 1);
  CHECK(wait_events(kq, evs, 8, 0) == 1 && evs[0].filter == EVFILT_WRITE);
  close(sv[0]);
  close(sv[1]);
  close(kq);
}

static void several_kqueues(void) {
  int sv[2], kq1 = kqueue(), kq2 = kqueue();
  struct kevent evs[8];
  CHECK(kq1 >= 0 && kq2 >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(change(kq1, sv[0], EVFILT_READ, EV_ADD) == 0);
  CHECK(change(kq2, sv[0], EVFILT_WRITE, EV_ADD) == 0);
  CHECK(write(sv[1], "x", 1) == 1);
  CHECK(wait_events(kq1, evs, 8, 0) == 1 && evs[0].filter == EVFILT_READ);
  CHECK(wait_events(kq2, evs, 8, 0) == 1 && evs[0].filter == EVFILT_WRITE);
  CHECK(change(kq2, sv[0], EVFILT_READ, EV_DELETE) == -1 && errno == ENOENT);
  // A kqueue fd number given out again starts empty.
  close(kq1);
  int kq3 = kqueue();
  CHECK(kq3 == kq1);
  CHECK(change(kq3, sv[0], EVFILT_READ, EV_DELETE) == -1 && errno == ENOENT);
  close(sv[0]);
  close(sv[1]);
  close(kq2);
  close(kq3);
}

static void pollable_and_timeout(void) {
  int sv[2], kq = kqueue();
  struct kevent evs[8];
  struct timespec t0, t1;
  CHECK(kq >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(change(kq, sv[0], EVFILT_READ, EV_ADD) == 0);
  struct pollfd pfd = {kq, POLLIN, 0};
  CHECK(poll(&pfd, 1, 0) == 0);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(wait_events(kq, evs, 8, 50) == 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  CHECK(ms >= 45);
  CHECK(write(sv[1], "x", 1) == 1);
  CHECK(poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLIN));
  close(sv[0]);
  close(sv[1]);
  close(kq);
}

int main(void) {
  struct {
    const char *name;
    void (*run)(void);
  } cases[] = {
      {"read and write filters", read_and_write_filters},
      {"EV_ENABLE, EV_DISABLE", enable_disable},
      {"errors", errors},
      {"end of stream", end_of_stream},
      {"events filter by filter", events_filter_by_filter},
      {"refused connection keeps its error", refused_connection_keeps_its_error},
      {"out-of-band data (EV_OOBAND)", out_of_band_data},
      {"closed fd number reused", closed_fd_number_reused},
      {"several kqueues", several_kqueues},
      {"kqueue fd is pollable; timeout", pollable_and_timeout},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int before = failures;
    cases[i].run();
    printf("%s %s\n", failures == before ? "ok  " : "FAIL", cases[i].name);
  }
  return failures == 0 ? 0 : 1;
}
