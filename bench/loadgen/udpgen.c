// The UDP load generator of asynchat's benchmarks (bench/udp.mjs compiles and runs it).
//
// One process, one thread, one epoll set. `clients` UDP sockets, each connected to the server
// (so the kernel drops anything not from it), each keeping `depth` datagrams in flight: every
// reply is answered at once with the next request. Every reply is checked byte for byte: its
// payload names its client and sequence number, the rest is a pattern derived from both, and
// it must match a request of that client still in flight. A reply that matches nothing, or
// differs, fails the run (exit 2).
//
// UDP may drop: a request without a reply after LOSS_NS is counted lost and replaced by a new
// one; no reply at all for STALL_NS fails the run (exit 3). The report gives the loss.
//
//   udpgen --port P [--host 127.0.0.1] [--clients 50] [--depth 4] [--size 64]
//          [--warmup 1] [--duration 3] [--server-pid PID]
//
// Prints one JSON object on stdout: requests (replies in the window), seconds, rate, lost,
// p50us, p99us, serverCpu, loadgenCpu.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM "udpgen"
#include "common.h"

#define MAX_SIZE 1400
#define MAX_DEPTH 64
#define LOSS_NS (200ULL * 1000000ULL)
#define STALL_NS (5ULL * 1000000000ULL)
#define SAMPLES (1 << 18)

static const char *opt_host = "127.0.0.1";
static int opt_port = 0, opt_clients = 50, opt_depth = 4, opt_size = 64, opt_server_pid = 0;
static double opt_warmup = 1.0, opt_duration = 3.0;



typedef struct {
  int fd;
  uint32_t id;
  uint64_t next_seq;
  uint64_t seq[MAX_DEPTH];   // in flight; UINT64_MAX: a free slot
  uint64_t sent[MAX_DEPTH];
} client;

static client *clients;

// The payload of (client, seq): both numbers, then bytes that depend on both.
static void payload(uint32_t id, uint64_t seq, uint8_t *out) {
  memcpy(out, &id, 4);
  memcpy(out + 4, &seq, 8);
  uint64_t x = seq * 0x9E3779B97F4A7C15ULL ^ id;
  for (int i = 12; i < opt_size; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = (uint8_t)x;
  }
}

static void send_request(client *c, int slot) {
  uint8_t buf[MAX_SIZE];
  uint64_t seq = c->next_seq++;
  payload(c->id, seq, buf);
  c->seq[slot] = seq;
  c->sent[slot] = now_ns();
  ssize_t n;
  do n = send(c->fd, buf, (size_t)opt_size, 0);
  while (n < 0 && errno == EINTR);
  // A full send buffer or a refused datagram: the slot times out as a loss and is retried.
  if (n < 0 && errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED) die(1, "send: %s", strerror(errno));
}


static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--quiet") == 0) continue;
    if (v == NULL) die(1, "%s needs a value", a);
    i++;
    if (strcmp(a, "--port") == 0) opt_port = atoi(v);
    else if (strcmp(a, "--host") == 0) opt_host = v;
    else if (strcmp(a, "--clients") == 0) opt_clients = atoi(v);
    else if (strcmp(a, "--depth") == 0) opt_depth = atoi(v);
    else if (strcmp(a, "--size") == 0) opt_size = atoi(v);
    else if (strcmp(a, "--warmup") == 0) opt_warmup = atof(v);
    else if (strcmp(a, "--duration") == 0) opt_duration = atof(v);
    else if (strcmp(a, "--server-pid") == 0) opt_server_pid = atoi(v);
    else die(1, "unknown option %s", a);
  }
  if (opt_port <= 0 || opt_clients <= 0 || opt_depth <= 0 || opt_depth > MAX_DEPTH || opt_size < 12 || opt_size > MAX_SIZE)
    die(1, "bad options (need --port; 1 <= depth <= %d; 12 <= size <= %d)", MAX_DEPTH, MAX_SIZE);

  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
  if (inet_pton(AF_INET, opt_host, &to.sin_addr) != 1) die(1, "bad --host %s", opt_host);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die(1, "epoll_create1: %s", strerror(errno));
  clients = calloc((size_t)opt_clients, sizeof *clients);
  if (clients == NULL) die(1, "out of memory");
  for (int i = 0; i < opt_clients; i++) {
    client *c = &clients[i];
    c->id = (uint32_t)i;
    c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die(1, "socket: %s", strerror(errno));
    if (connect(c->fd, (struct sockaddr *)&to, sizeof to) < 0) die(1, "connect: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die(1, "epoll_ctl: %s", strerror(errno));
    for (int s = 0; s < opt_depth; s++) send_request(c, s);
  }

  uint32_t *samples = malloc(SAMPLES * sizeof *samples);
  if (samples == NULL) die(1, "out of memory");
  size_t nsamples = 0;
  uint64_t start = now_ns(), last_reply = start, last_sweep = start;
  uint64_t window_start = start + (uint64_t)(opt_warmup * 1e9);
  uint64_t window_end = window_start + (uint64_t)(opt_duration * 1e9);
  uint64_t replies = 0, lost = 0, lost_in_window = 0;
  double server0 = -1, self0 = -1, server1 = -1, self1 = -1;
  int measuring = 0;
  struct epoll_event events[256];
  uint8_t buf[MAX_SIZE + 1], want[MAX_SIZE];

  for (;;) {
    uint64_t t = now_ns();
    if (!measuring && t >= window_start) {
      measuring = 1;
      server0 = cpu_seconds(opt_server_pid);
      self0 = cpu_seconds(0);
    }
    if (t >= window_end) {
      server1 = cpu_seconds(opt_server_pid);
      self1 = cpu_seconds(0);
      break;
    }
    if (t - last_reply > STALL_NS) die(3, "no reply for %.1f s", (double)STALL_NS / 1e9);
    if (t - last_sweep > LOSS_NS / 4) {
      last_sweep = t;
      for (int i = 0; i < opt_clients; i++) {
        for (int s = 0; s < opt_depth; s++) {
          if (t - clients[i].sent[s] <= LOSS_NS) continue;
          lost++;
          if (measuring) lost_in_window++;
          send_request(&clients[i], s);
        }
      }
    }
    int n = epoll_wait(ep, events, 256, 10);
    if (n < 0 && errno != EINTR) die(1, "epoll_wait: %s", strerror(errno));
    for (int e = 0; e < n; e++) {
      client *c = &clients[events[e].data.u32];
      for (;;) {
        ssize_t got = recv(c->fd, buf, sizeof buf, 0);
        if (got < 0) {
          if (errno == EAGAIN || errno == EINTR) break;
          if (errno == ECONNREFUSED) die(3, "the server is gone (ECONNREFUSED)");
          die(1, "recv: %s", strerror(errno));
        }
        uint64_t seq;
        uint32_t id;
        if (got < 12) die(2, "client %u: a reply of %zd bytes", c->id, got);
        memcpy(&id, buf, 4);
        memcpy(&seq, buf + 4, 8);
        if (id != c->id || seq >= c->next_seq)
          die(2, "client %u: a reply for client %u request %llu, which it never sent", c->id, id, (unsigned long long)seq);
        payload(c->id, seq, want);
        if (got != opt_size || memcmp(buf, want, (size_t)opt_size) != 0)
          die(2, "client %u request %llu: the reply differs from the request (%zd bytes, want %d)", c->id, (unsigned long long)seq, got, opt_size);
        int slot = -1;
        for (int s = 0; s < opt_depth; s++) {
          if (c->seq[s] == seq) slot = s;
        }
        // A late reply to a request already counted lost: its slot holds a newer request.
        if (slot < 0) continue;
        uint64_t done = now_ns();
        last_reply = done;
        if (measuring && done < window_end) {
          replies++;
          if (nsamples < SAMPLES) samples[nsamples++] = (uint32_t)((done - c->sent[slot]) / 1000);
        }
        send_request(c, slot);
      }
    }
  }
  qsort(samples, nsamples, sizeof *samples, cmp_u32);
  double p50 = nsamples ? samples[nsamples / 2] : 0, p99 = nsamples ? samples[(nsamples * 99) / 100] : 0;
  double seconds = opt_duration;
  printf("{\"requests\":%llu,\"seconds\":%.3f,\"rate\":%.1f,\"lost\":%llu,\"lostTotal\":%llu,\"p50us\":%.0f,\"p99us\":%.0f,"
         "\"serverCpu\":%.3f,\"loadgenCpu\":%.3f}\n",
         (unsigned long long)replies, seconds, (double)replies / seconds, (unsigned long long)lost_in_window,
         (unsigned long long)lost, p50, p99, server1 - server0, self1 - self0);
  return 0;
}
