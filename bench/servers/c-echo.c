// A reference, not a contender: the line echo in C (one thread, epoll, level-triggered), every
// complete line a read brings written back with one send(). It shows what the kernel and the
// loopback allow on this machine, so that the Node servers' numbers have a ceiling to be read
// against. bench/run.mjs compiles it into build-bench/ like the load generator.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (64 * 1024)

typedef struct {
  char *in;    // a partial line kept from the last read: [0, in_len)
  size_t in_len;
  char *out;   // what a partial send left: [out_off, out_len)
  size_t out_off, out_len, out_cap;
} conn;

static conn **conns;
static int conns_cap;
static int ep;

static conn *get(int fd) {
  if (fd >= conns_cap) {
    int cap = conns_cap ? conns_cap : 1024;
    while (cap <= fd) cap *= 2;
    conns = realloc(conns, sizeof *conns * (size_t)cap);
    memset(conns + conns_cap, 0, sizeof *conns * (size_t)(cap - conns_cap));
    conns_cap = cap;
  }
  if (conns[fd] == NULL) {
    conns[fd] = calloc(1, sizeof(conn));
    conns[fd]->in = malloc(BUF);
  }
  return conns[fd];
}

static void drop(int fd) {
  conn *c = conns[fd];
  close(fd);
  if (c) {
    free(c->in);
    free(c->out);
    free(c);
    conns[fd] = NULL;
  }
}

static void want_out(int fd, int on) {
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static int send_all(int fd, conn *c, const char *p, size_t len) {
  if (c->out_len == 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) return -1;
    if (n < 0) n = 0;
    p += n;
    len -= (size_t)n;
    if (len == 0) return 0;
    want_out(fd, 1);
  }
  if (c->out_len + len > c->out_cap) {
    c->out_cap = (c->out_len + len) * 2;
    c->out = realloc(c->out, c->out_cap);
  }
  memcpy(c->out + c->out_len, p, len);
  c->out_len += len;
  return 0;
}

static void on_read(int fd) {
  conn *c = get(fd);
  ssize_t n = recv(fd, c->in + c->in_len, BUF - c->in_len, 0);
  if (n < 0 && errno == EAGAIN) return;
  if (n <= 0) {
    drop(fd);
    return;
  }
  size_t have = c->in_len + (size_t)n;
  char *nl = memrchr(c->in, '\n', have);
  if (nl == NULL) {
    c->in_len = have;
    if (have == BUF) drop(fd);  // a line longer than the buffer: not this benchmark
    return;
  }
  size_t lines = (size_t)(nl - c->in) + 1;
  if (send_all(fd, c, c->in, lines) < 0) {
    drop(fd);
    return;
  }
  memmove(c->in, c->in + lines, have - lines);
  c->in_len = have - lines;
}

static void on_write(int fd) {
  conn *c = get(fd);
  ssize_t n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
  if (n < 0 && errno != EAGAIN) {
    drop(fd);
    return;
  }
  if (n > 0) c->out_off += (size_t)n;
  if (c->out_off == c->out_len) {
    c->out_off = c->out_len = 0;
    want_out(fd, 0);
  }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1024) < 0 ||
      getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
    perror("c-echo: listen");
    return 1;
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  printf("READY {\"pid\":%d,\"port\":%d,\"control\":null,\"mode\":\"c\"}\n", getpid(), ntohs(sa.sin_port));
  fflush(stdout);
  struct epoll_event evs[1024];
  for (;;) {
    int n = epoll_wait(ep, evs, 1024, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        int cfd;
        while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
          get(cfd);
        }
        continue;
      }
      if ((evs[i].events & EPOLLOUT) && conns[fd]) on_write(fd);
      if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && fd < conns_cap && conns[fd]) on_read(fd);
    }
  }
}
