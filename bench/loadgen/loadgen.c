// The load generator of asynchat's benchmarks (bench/run.mjs compiles and runs it).
//
// One process, one thread, one epoll set (level-triggered), non-blocking sockets, TCP_NODELAY
// on every one of them. Each busy connection keeps `depth` requests in flight: a reply that
// completes is answered at once with the next request, and everything generated while one
// read is handled goes out in one send().
//
// Every reply is checked byte for byte. When a request is generated, the exact bytes of its
// reply are appended to the connection's expected stream; received bytes are compared with
// that stream as they arrive, whatever the fragmentation. A byte too many, too few (a stall)
// or different fails the run with the connection, the request number and both byte strings.
//
// Phases: idle connections first (each makes one exchange, then stays silent), then the busy
// ones; warm-up; the measured window; drain (no new requests, every reply still checked).
// At the window's edges it reads utime+stime of the server (/proc/<pid>/stat) and of itself,
// and, given a control port, asks the server to reset its stats() and to report them.
//
// --tls: every connection is a TLS client session (TLS 1.3 unless --tls-version 1.2; the server's
// certificate is not verified). The handshakes are done before the measured window starts, and
// the requests and replies are the same bytes, checked the same way, as plaintext. The sessions
// sit behind conn_read()/conn_write() (tls_transport.h); only build-bench/loadgen-tls, linked
// with OpenSSL, has them.
//
//   loadgen --port P --proto line|resp|http|lp [--host 127.0.0.1] [--conns 50] [--depth 16]
//           [--idle 0] [--warmup 1] [--duration 3] [--line-size 32] [--frame-size 32]
//           [--server-pid PID] [--control PORT] [--tls] [--tls-version 1.3] [--quiet]
//
// Prints one JSON object on stdout. Exit status: 0 ok, 2 a wrong reply, 3 stalled or closed,
// 1 anything else.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM "loadgen"
#include "common.h"
#include "tls_transport.h"

#define MAX_MSG 4096          // largest request or reply of the line, resp and http protocols
#define MAX_FRAME (1 << 20)   // largest --frame-size
#define READ_SIZE (256 * 1024)
#define IDLE_CONNECTING 512   // idle connections set up at a time (the server's backlog)
#define STALL_NS (5ULL * 1000000000ULL)
#define DRAIN_NS (10ULL * 1000000000ULL)

// ---- options ----

static const char *opt_host = "127.0.0.1";
static int opt_port = 0;
static const char *opt_proto = "line";
static int opt_conns = 50;
static int opt_depth = 16;
static int opt_idle = 0;
static double opt_warmup = 1.0;
static double opt_duration = 3.0;
static int opt_line_size = 32;
static int opt_frame_size = 32;
static size_t max_msg = MAX_MSG;  // largest request or reply of the protocol run
static int opt_server_pid = 0;
static int opt_control = 0;
static int opt_quiet = 0;
static int opt_tls = 0;
static const char *opt_tls_version = "1.3";



// ---- connections ----

typedef struct conn {
  int fd;
  int id;
  int idle;       // one exchange, then silence
  int connected;
  tls_session *tls;  // with --tls: the session; requests wait until its handshake is done
  int handshaken;
  int want_out;   // EPOLLOUT registered
  uint64_t sent;  // requests generated
  uint64_t done;  // replies verified
  uint64_t limit; // generate no more than this many
  char *out;      // bytes to send: [out_off, out_len)
  size_t out_off, out_len, out_cap;
  char *exp;      // expected reply bytes not yet received: [exp_off, exp_len)
  size_t exp_off, exp_len, exp_cap;
  uint64_t exp_total;  // bytes of reply expected so far (absolute)
  uint64_t got_total;  // bytes of reply verified so far (absolute)
  uint64_t reply_start;  // where the reply to request `done` starts (absolute)
  uint64_t *ends;      // per request in flight (ring of `ring`): absolute end of its reply
  uint64_t *sent_at;   // ... and when it was sent
  char *tmpl;          // line and lp protocols: this connection's line or message
} conn;

static int ring_size;

// ---- protocols: request n of connection c, and the exact reply it must get ----

typedef void (*gen_fn)(conn *c, uint64_t n, char *req, size_t *req_len, char *rep, size_t *rep_len);

static const char HEX[] = "0123456789abcdef";

static void put_hex(char *p, uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; i--, v >>= 4) p[i] = HEX[v & 15];
}

static size_t put_uint(char *p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do tmp[n++] = (char)('0' + v % 10); while (v /= 10);
  for (int i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
  return (size_t)n;
}

// line: line_size bytes ending in CRLF; the server echoes it. The sequence number and the
// connection id are written into the line, so a reply sent to the wrong connection or out of
// order does not match.
static void gen_line(conn *c, uint64_t n, char *req, size_t *req_len, char *rep, size_t *rep_len) {
  size_t len = (size_t)opt_line_size;
  memcpy(req, c->tmpl, len);
  size_t body = len - 2;
  if (body >= 12) put_hex(req, n, 12);
  if (body >= 17) put_hex(req + 13, (uint64_t)c->id, 4);
  *req_len = len;
  memcpy(rep, req, len);
  *rep_len = len;
}

static void make_line_template(conn *c) {
  size_t len = (size_t)opt_line_size;
  c->tmpl = malloc(len);
  for (size_t i = 0; i < len - 2; i++) c->tmpl[i] = (char)('a' + (c->id * 7 + i * 3) % 26);
  if (len - 2 >= 13) c->tmpl[12] = '-';
  c->tmpl[len - 2] = '\r';
  c->tmpl[len - 1] = '\n';
}

// lp: a message of frame_size bytes, a 4-byte big-endian length and the payload after it; the
// server echoes it. Like a line, the payload carries the sequence number and the connection id,
// and every byte value (CR, LF, NUL, 0xff) occurs in it.
static void gen_lp(conn *c, uint64_t n, char *req, size_t *req_len, char *rep, size_t *rep_len) {
  size_t len = (size_t)opt_frame_size;
  size_t body = len - 4;
  req[0] = (char)(body >> 24);
  req[1] = (char)(body >> 16);
  req[2] = (char)(body >> 8);
  req[3] = (char)body;
  memcpy(req + 4, c->tmpl, body);
  if (body >= 12) put_hex(req + 4, n, 12);
  if (body >= 17) put_hex(req + 4 + 13, (uint64_t)c->id, 4);
  *req_len = len;
  memcpy(rep, req, len);
  *rep_len = len;
}

static void make_lp_template(conn *c) {
  size_t body = (size_t)opt_frame_size - 4;
  c->tmpl = malloc(body > 0 ? body : 1);
  for (size_t i = 0; i < body; i++) c->tmpl[i] = (char)((c->id * 7 + i * 3) % 256);
}

// resp: a cycle of four commands, each connection on its own keys:
//   n%4 == 0  SET key:<c>:<k> <value(n)>   -> +OK
//   n%4 == 1  GET key:<c>:<k>              -> $<len> <value(n-1)>  (the value just set)
//   n%4 == 2  PING                         -> +PONG
//   n%4 == 3  GET missing:<c>              -> $-1
// Values are 8..64 bytes; some hold CRLF, NUL or 0xff, so a server must honour the length.
static size_t resp_key(char *p, int id, uint64_t n) {
  size_t k = 0;
  memcpy(p, "key:", 4);
  k += 4;
  k += put_uint(p + k, (uint64_t)id);
  p[k++] = ':';
  k += put_uint(p + k, (n / 4) % 64);
  return k;
}

static size_t resp_value(char *p, uint64_t n) {
  uint64_t r = n / 4;
  size_t len = 8 + (size_t)((r * 13) % 57);
  for (size_t i = 0; i < len; i++) p[i] = (char)('A' + (r + i * 5) % 26);
  put_hex(p, n, 8);
  if (r % 5 == 0 && len >= 20) {
    p[14] = '\r';
    p[15] = '\n';
  }
  if (r % 7 == 0 && len >= 24) {
    p[18] = '\0';
    p[19] = (char)0xff;
  }
  return len;
}

static size_t resp_bulk(char *p, const char *s, size_t len) {
  size_t k = 0;
  p[k++] = '$';
  k += put_uint(p + k, len);
  p[k++] = '\r';
  p[k++] = '\n';
  memcpy(p + k, s, len);
  k += len;
  p[k++] = '\r';
  p[k++] = '\n';
  return k;
}

static void gen_resp(conn *c, uint64_t n, char *req, size_t *req_len, char *rep, size_t *rep_len) {
  char key[64], val[128];
  size_t k = 0, klen, vlen;
  switch (n % 4) {
    case 0:
      klen = resp_key(key, c->id, n);
      vlen = resp_value(val, n);
      memcpy(req, "*3\r\n$3\r\nSET\r\n", 13);
      k = 13;
      k += resp_bulk(req + k, key, klen);
      k += resp_bulk(req + k, val, vlen);
      *req_len = k;
      memcpy(rep, "+OK\r\n", 5);
      *rep_len = 5;
      break;
    case 1:
      klen = resp_key(key, c->id, n - 1);
      memcpy(req, "*2\r\n$3\r\nGET\r\n", 13);
      *req_len = 13 + resp_bulk(req + 13, key, klen);
      vlen = resp_value(val, n - 1);
      *rep_len = resp_bulk(rep, val, vlen);
      break;
    case 2:
      memcpy(req, "*1\r\n$4\r\nPING\r\n", 14);
      *req_len = 14;
      memcpy(rep, "+PONG\r\n", 7);
      *rep_len = 7;
      break;
    default:
      memcpy(key, "missing:", 8);
      klen = 8 + put_uint(key + 8, (uint64_t)c->id);
      memcpy(req, "*2\r\n$3\r\nGET\r\n", 13);
      *req_len = 13 + resp_bulk(req + 13, key, klen);
      memcpy(rep, "$-1\r\n", 5);
      *rep_len = 5;
      break;
  }
}

// http: a small keep-alive GET; every server answers these exact bytes.
static const char HTTP_REQ[] = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
static const char HTTP_REP[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
    "Connection: keep-alive\r\n\r\nHello, World!";

static void gen_http(conn *c, uint64_t n, char *req, size_t *req_len, char *rep, size_t *rep_len) {
  (void)c;
  (void)n;
  memcpy(req, HTTP_REQ, sizeof HTTP_REQ - 1);
  *req_len = sizeof HTTP_REQ - 1;
  memcpy(rep, HTTP_REP, sizeof HTTP_REP - 1);
  *rep_len = sizeof HTTP_REP - 1;
}

static gen_fn gen;

// ---- the transport: plain recv()/send(), or a TLS session's read/write ----

static ssize_t conn_read(conn *c, char *buf, size_t len) {
  return c->tls != NULL ? tls_session_read(c->tls, buf, len) : recv(c->fd, buf, len, 0);
}

static ssize_t conn_write(conn *c, const char *buf, size_t len) {
  return c->tls != NULL ? tls_session_write(c->tls, buf, len) : send(c->fd, buf, len, MSG_NOSIGNAL);
}

static const char *conn_error(conn *c) {
  return errno == EPROTO && c->tls != NULL ? tls_session_error(c->tls) : strerror(errno);
}

static int conn_ready(conn *c) { return c->connected && (!opt_tls || c->handshaken); }

// ---- latency histogram: 16 sub-buckets per power of two (about 6% wide) ----

#define HIST_BUCKETS (64 * 16)
static uint64_t hist[HIST_BUCKETS];

static int hist_index(uint64_t v) {
  if (v < 16) return (int)v;
  int msb = 63 - __builtin_clzll(v);
  return (msb - 3) * 16 + (int)((v >> (msb - 4)) & 15);
}

static double hist_value(int idx) {  // the middle of the bucket, in ns
  if (idx < 16) return idx;
  int msb = idx / 16 + 3;
  uint64_t sub = (uint64_t)(idx % 16);
  double lo = (double)((16 + sub) << (msb - 4));
  return lo + (double)(1ULL << (msb - 4)) / 2;
}

static double hist_percentile(double p) {
  uint64_t total = 0;
  for (int i = 0; i < HIST_BUCKETS; i++) total += hist[i];
  if (total == 0) return 0;
  uint64_t want = (uint64_t)(p * (double)total);
  if (want >= total) want = total - 1;
  uint64_t seen = 0;
  for (int i = 0; i < HIST_BUCKETS; i++) {
    seen += hist[i];
    if (seen > want) return hist_value(i);
  }
  return 0;
}

// ---- state ----

enum { SETUP_IDLE, WARMUP, MEASURE, DRAIN };
static int phase = SETUP_IDLE;
static int ep;
static conn *conns;
static int nconns;               // idle + busy
static uint64_t now;
static uint64_t window_done;     // replies verified in the window
static uint64_t window_bytes;
static uint64_t last_progress;   // when bytes last arrived
static int handshakes;           // TLS handshakes completed
static uint64_t handshakes_done_at;
static char tls_description[128];
static char *readbuf;

static void escape(char *dst, size_t cap, const char *src, size_t len) {
  size_t k = 0;
  for (size_t i = 0; i < len && k + 5 < cap; i++) {
    unsigned char ch = (unsigned char)src[i];
    if (ch == '\r') k += (size_t)snprintf(dst + k, cap - k, "\\r");
    else if (ch == '\n') k += (size_t)snprintf(dst + k, cap - k, "\\n");
    else if (ch < 32 || ch >= 127 || ch == '\\') k += (size_t)snprintf(dst + k, cap - k, "\\x%02x", ch);
    else dst[k++] = (char)ch;
  }
  dst[k] = 0;
}

static void grow(char **buf, size_t *cap, size_t need) {
  if (need <= *cap) return;
  size_t size = *cap ? *cap : 4096;
  while (size < need) size *= 2;
  *buf = realloc(*buf, size);
  if (*buf == NULL) die(1, "out of memory");
  *cap = size;
}

static void set_out_interest(conn *c, int on) {
  if (c->want_out == on) return;
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u32 = (uint32_t)c->id};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die(1, "epoll_ctl: %s", strerror(errno));
  c->want_out = on;
}

static void generate(conn *c) {
  if (c->out_off > 0 && c->out_off == c->out_len) c->out_off = c->out_len = 0;
  grow(&c->out, &c->out_cap, c->out_len + max_msg);
  if (c->exp_off > c->exp_cap / 2) {  // keep the expected stream compact
    memmove(c->exp, c->exp + c->exp_off, c->exp_len - c->exp_off);
    c->exp_len -= c->exp_off;
    c->exp_off = 0;
  }
  grow(&c->exp, &c->exp_cap, c->exp_len + max_msg);
  size_t req_len, rep_len;
  gen(c, c->sent, c->out + c->out_len, &req_len, c->exp + c->exp_len, &rep_len);
  c->out_len += req_len;
  c->exp_len += rep_len;
  c->exp_total += rep_len;
  c->ends[c->sent % (uint64_t)ring_size] = c->exp_total;
  c->sent_at[c->sent % (uint64_t)ring_size] = now;
  c->sent++;
}

static void flush(conn *c) {
  if (!conn_ready(c)) return;
  while (c->out_off < c->out_len) {
    ssize_t n = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      die(3, "connection %d: send: %s", c->id, conn_error(c));
    }
    c->out_off += (size_t)n;
  }
  if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
  set_out_interest(c, c->out_len > 0);
}

static void mismatch(conn *c, const char *got, size_t len) {
  size_t avail = c->exp_len - c->exp_off;
  size_t i = 0;
  while (i < len && i < avail && got[i] == c->exp[c->exp_off + i]) i++;
  uint64_t abs = c->got_total + i;  // the first byte that is wrong, in the reply stream
  uint64_t req = c->done, start = c->reply_start;
  while (req < c->sent && c->ends[req % (uint64_t)ring_size] <= abs) start = c->ends[req++ % (uint64_t)ring_size];
  size_t from = i > 24 ? i - 24 : 0;
  char e[512], g[512];
  size_t elen = avail > from ? avail - from : 0;
  escape(e, sizeof e, c->exp + c->exp_off + from, elen < 64 ? elen : 64);
  escape(g, sizeof g, got + from, len - from < 64 ? len - from : 64);
  if (i >= avail)
    die(2, "connection %d: %zu bytes more than the requests sent ask for (after request %llu); "
           "received \"%s\"", c->id, len - avail, (unsigned long long)req, g);
  die(2, "connection %d: wrong reply to request %llu, byte %llu of it (shown from %zu bytes earlier)\n"
         "  expected \"%s\"\n  received \"%s\"",
      c->id, (unsigned long long)req, (unsigned long long)(abs - start), i - from, e, g);
}

static void on_bytes(conn *c, const char *data, size_t len) {
  size_t avail = c->exp_len - c->exp_off;
  if (len > avail || memcmp(data, c->exp + c->exp_off, len) != 0) mismatch(c, data, len);
  c->exp_off += len;
  c->got_total += len;
  last_progress = now;
  if (phase == MEASURE) window_bytes += len;
  while (c->done < c->sent && c->ends[c->done % (uint64_t)ring_size] <= c->got_total) {
    if (phase == MEASURE) {
      hist[hist_index(now - c->sent_at[c->done % (uint64_t)ring_size])]++;
      window_done++;
    }
    c->reply_start = c->ends[c->done % (uint64_t)ring_size];
    c->done++;
    if (phase != DRAIN && phase != SETUP_IDLE && c->sent < c->limit) generate(c);
  }
}

// One step of a TLS handshake; once it is done, the requests generated at connect go out.
static void handshake(conn *c) {
  int r = tls_session_handshake(c->tls);
  if (r < 0) die(3, "connection %d: TLS handshake: %s", c->id, tls_session_error(c->tls));
  if (r == 0) {
    set_out_interest(c, tls_session_wants_write(c->tls));
    return;
  }
  c->handshaken = 1;
  if (handshakes++ == 0) tls_session_describe(c->tls, tls_description, sizeof tls_description);
  if (handshakes == nconns) handshakes_done_at = now;
  flush(c);
}

static void on_readable(conn *c) {
  if (c->tls != NULL && !c->handshaken) {
    handshake(c);
    if (!c->handshaken) return;
  }
  for (;;) {
    ssize_t n = conn_read(c, readbuf, READ_SIZE);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      die(3, "connection %d: recv: %s (after %llu replies)", c->id, conn_error(c),
          (unsigned long long)c->done);
    }
    if (n == 0)
      die(3, "connection %d: the server closed it after %llu replies, %llu outstanding", c->id,
          (unsigned long long)c->done, (unsigned long long)(c->sent - c->done));
    on_bytes(c, readbuf, (size_t)n);
    if (n < READ_SIZE) break;
  }
  flush(c);
}

static void open_conn(conn *c) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die(1, "socket: %s (connection %d; ulimit -n?)", strerror(errno), c->id);
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die(1, "TCP_NODELAY: %s", strerror(errno));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
  if (inet_pton(AF_INET, opt_host, &sa.sin_addr) != 1) die(1, "bad host %s", opt_host);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
    die(3, "connect to %s:%d: %s", opt_host, opt_port, strerror(errno));
  c->fd = fd;
  if (opt_tls && (c->tls = tls_session_new(fd)) == NULL) die(1, "connection %d: cannot create a TLS session", c->id);
  c->want_out = 1;  // the connect completes with writability
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)c->id};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die(1, "epoll_ctl: %s", strerror(errno));
  uint64_t first = c->limit < (uint64_t)opt_depth ? c->limit : (uint64_t)opt_depth;
  for (uint64_t i = 0; i < first; i++) generate(c);
}

static void on_writable(conn *c) {
  if (!c->connected) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) die(3, "connect to %s:%d: %s", opt_host, opt_port, strerror(err));
    c->connected = 1;
  }
  if (c->tls != NULL && !c->handshaken) handshake(c);
  else flush(c);
}

// ---- CPU time and the control channel ----


static int control_fd = -1;

static void control_open(void) {
  if (opt_control <= 0) return;
  control_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(control_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval tv = {.tv_sec = 10};
  setsockopt(control_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_control)};
  inet_pton(AF_INET, opt_host, &sa.sin_addr);
  if (connect(control_fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    die(1, "control connect to port %d: %s", opt_control, strerror(errno));
}

// Sends one command line; returns the one-line answer (without the newline).
static char *control(const char *cmd, char *answer, size_t cap) {
  answer[0] = 0;
  if (control_fd < 0) return answer;
  size_t len = strlen(cmd);
  if (send(control_fd, cmd, len, MSG_NOSIGNAL) != (ssize_t)len) die(1, "control send: %s", strerror(errno));
  size_t k = 0;
  while (k + 1 < cap) {
    ssize_t n = recv(control_fd, answer + k, cap - 1 - k, 0);
    if (n <= 0) die(1, "control: no answer to %s", cmd);
    k += (size_t)n;
    if (answer[k - 1] == '\n') break;
  }
  answer[k] = 0;
  while (k > 0 && (answer[k - 1] == '\n' || answer[k - 1] == '\r')) answer[--k] = 0;
  return answer;
}

// ---- main ----

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen --port P --proto line|resp|http|lp [--host H] [--conns N] [--depth D]\n"
          "               [--idle N] [--warmup S] [--duration S] [--line-size B] [--frame-size B]\n"
          "               [--server-pid PID] [--control PORT] [--tls] [--tls-version 1.2|1.3]\n"
          "               [--quiet]\n");
  exit(1);
}

static void parse(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--quiet")) { opt_quiet = 1; continue; }
    if (!strcmp(a, "--tls")) { opt_tls = 1; continue; }
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--host")) opt_host = v;
    else if (!strcmp(a, "--port")) opt_port = atoi(v);
    else if (!strcmp(a, "--proto")) opt_proto = v;
    else if (!strcmp(a, "--conns")) opt_conns = atoi(v);
    else if (!strcmp(a, "--depth")) opt_depth = atoi(v);
    else if (!strcmp(a, "--idle")) opt_idle = atoi(v);
    else if (!strcmp(a, "--warmup")) opt_warmup = atof(v);
    else if (!strcmp(a, "--duration")) opt_duration = atof(v);
    else if (!strcmp(a, "--line-size")) opt_line_size = atoi(v);
    else if (!strcmp(a, "--frame-size")) opt_frame_size = atoi(v);
    else if (!strcmp(a, "--server-pid")) opt_server_pid = atoi(v);
    else if (!strcmp(a, "--control")) opt_control = atoi(v);
    else if (!strcmp(a, "--tls-version")) opt_tls_version = v;
    else usage();
  }
  if (opt_port <= 0 || opt_conns <= 0 || opt_depth <= 0 || opt_idle < 0 || opt_duration <= 0) usage();
  if (!strcmp(opt_proto, "line")) gen = gen_line;
  else if (!strcmp(opt_proto, "resp")) gen = gen_resp;
  else if (!strcmp(opt_proto, "http")) gen = gen_http;
  else if (!strcmp(opt_proto, "lp")) gen = gen_lp;
  else usage();
  if (opt_line_size < 4 || opt_line_size > MAX_MSG) die(1, "--line-size must be 4..%d", MAX_MSG);
  if (opt_frame_size < 4 || opt_frame_size > MAX_FRAME) die(1, "--frame-size must be 4..%d", MAX_FRAME);
  if (gen == gen_lp && (size_t)opt_frame_size > max_msg) max_msg = (size_t)opt_frame_size;
  const char *why = opt_tls ? tls_setup(opt_tls_version) : NULL;
  if (why != NULL) die(1, "--tls: %s", why);
}

static void raise_fd_limit(int need) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= (rlim_t)need) return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= (rlim_t)need ? (rlim_t)need : rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < (rlim_t)need)
    die(1, "%d connections need %d file descriptors; the hard limit is %llu", nconns, need,
        (unsigned long long)rl.rlim_max);
}

int main(int argc, char **argv) {
  parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  nconns = opt_idle + opt_conns;
  raise_fd_limit(nconns + 64);
  ring_size = opt_depth;
  readbuf = malloc(READ_SIZE);
  conns = calloc((size_t)nconns, sizeof *conns);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die(1, "epoll_create1: %s", strerror(errno));
  for (int i = 0; i < nconns; i++) {
    conn *c = &conns[i];
    c->id = i;
    c->fd = -1;
    c->idle = i < opt_idle;
    c->limit = c->idle ? 1 : UINT64_MAX;
    c->ends = calloc((size_t)ring_size, sizeof *c->ends);
    c->sent_at = calloc((size_t)ring_size, sizeof *c->sent_at);
    if (gen == gen_line) make_line_template(c);
    if (gen == gen_lp) make_lp_template(c);
  }
  control_open();

  now = now_ns();
  last_progress = now;
  uint64_t started = now;
  // Idle connections: a bounded number connecting at once, each making one exchange.
  int idle_next = 0, idle_done = 0;
  uint64_t deadline = 0, t0 = 0, t1 = 0;
  double srv0 = 0, srv1 = 0, me0 = 0, me1 = 0;
  char stats[4096] = "", answer[4096];
  struct epoll_event evs[1024];
  int busy_started = 0;

  for (;;) {
    if (phase == SETUP_IDLE) {
      while (idle_next < opt_idle && idle_next - idle_done < IDLE_CONNECTING) open_conn(&conns[idle_next++]);
      if (idle_done == opt_idle) {
        for (int i = opt_idle; i < nconns; i++) open_conn(&conns[i]);
        busy_started = 1;
        phase = WARMUP;
        deadline = now + (uint64_t)(opt_warmup * 1e9);
        if (!opt_quiet && opt_idle > 0)
          fprintf(stderr, "loadgen: %d idle connections open (%.2f s)\n", opt_idle, (double)(now - started) / 1e9);
      }
    }
    int timeout = 100;
    if (phase == WARMUP || phase == MEASURE) {
      int64_t left = (int64_t)(deadline - now) / 1000000;
      if ((int64_t)deadline - (int64_t)now <= 0) left = 0;
      if (left < timeout) timeout = (int)left;
    }
    int n = epoll_wait(ep, evs, 1024, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      die(1, "epoll_wait: %s", strerror(errno));
    }
    now = now_ns();
    for (int i = 0; i < n; i++) {
      conn *c = &conns[evs[i].data.u32];
      uint32_t e = evs[i].events;
      if (e & EPOLLOUT) on_writable(c);
      if (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        uint64_t before = c->done;
        on_readable(c);
        if (c->idle && before == 0 && c->done == 1) idle_done++;
      }
    }
    // With TLS, the window starts only once every handshake is done (the warm-up waits for them).
    if (phase == WARMUP && now >= deadline && (!opt_tls || handshakes == nconns)) {
      control("reset\n", answer, sizeof answer);
      srv0 = cpu_seconds(opt_server_pid);
      me0 = cpu_seconds(0);
      now = now_ns();
      t0 = now;
      window_done = window_bytes = 0;
      memset(hist, 0, sizeof hist);
      phase = MEASURE;
      deadline = t0 + (uint64_t)(opt_duration * 1e9);
    } else if (phase == MEASURE && now >= deadline) {
      t1 = now;
      srv1 = cpu_seconds(opt_server_pid);
      me1 = cpu_seconds(0);
      control("stats\n", stats, sizeof stats);
      phase = DRAIN;
      deadline = now_ns() + DRAIN_NS;
    }
    if (phase == DRAIN) {
      int outstanding = 0;
      for (int i = 0; i < nconns; i++) outstanding += conns[i].done < conns[i].sent;
      if (outstanding == 0) break;
      if (now >= deadline) die(3, "%d connections still wait for replies after the run", outstanding);
    }
    if (now - last_progress > STALL_NS) {
      uint64_t waiting = 0;
      for (int i = 0; i < nconns; i++) waiting += conns[i].sent - conns[i].done;
      die(3, "stalled: no reply byte for %.0f s, %llu replies outstanding (%s)",
          (double)STALL_NS / 1e9, (unsigned long long)waiting,
          busy_started ? "busy connections running" : "setting up idle connections");
    }
  }

  double secs = (double)(t1 - t0) / 1e9;
  uint64_t verified = 0;
  for (int i = 0; i < nconns; i++) verified += conns[i].done;
  for (int i = 0; i < nconns; i++) {
    tls_session_free(conns[i].tls);
    close(conns[i].fd);
  }
  char tls[192] = "null";
  if (opt_tls)
    snprintf(tls, sizeof tls, "{\"session\":\"%s\",\"handshakesSeconds\":%.3f}", tls_description,
             (double)(handshakes_done_at - started) / 1e9);
  printf("{\"proto\":\"%s\",\"conns\":%d,\"depth\":%d,\"idle\":%d,\"tcpNodelay\":true,\"tls\":%s,"
         "\"seconds\":%.6f,\"requests\":%llu,\"rate\":%.1f,\"bytesIn\":%llu,"
         "\"p50us\":%.2f,\"p90us\":%.2f,\"p99us\":%.2f,\"p999us\":%.2f,"
         "\"serverCpu\":%.3f,\"loadgenCpu\":%.3f,\"verifiedReplies\":%llu,\"stats\":%s}\n",
         opt_proto, opt_conns, opt_depth, opt_idle, tls, secs, (unsigned long long)window_done,
         (double)window_done / secs, (unsigned long long)window_bytes,
         hist_percentile(0.50) / 1e3, hist_percentile(0.90) / 1e3, hist_percentile(0.99) / 1e3,
         hist_percentile(0.999) / 1e3, opt_server_pid > 0 && srv0 >= 0 ? srv1 - srv0 : -1.0, me1 - me0,
         (unsigned long long)verified, stats[0] ? stats : "null");
  return 0;
}
