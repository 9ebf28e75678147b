// The TLS seam of a load generator built without OpenSSL (build-bench/loadgen): --tls is refused
// with the reason, and nothing else here is ever reached.
#include <errno.h>

#include "tls_transport.h"

const char *tls_setup(const char *version) {
  (void)version;
  return "this load generator was built without OpenSSL; build-bench/loadgen-tls speaks TLS "
         "(Debian: apt-get install libssl-dev)";
}

tls_session *tls_session_new(int fd) {
  (void)fd;
  return NULL;
}

int tls_session_handshake(tls_session *s) {
  (void)s;
  errno = EPROTO;
  return -1;
}

ssize_t tls_session_read(tls_session *s, char *buf, size_t len) {
  (void)s, (void)buf, (void)len;
  errno = EPROTO;
  return -1;
}

ssize_t tls_session_write(tls_session *s, const char *buf, size_t len) {
  (void)s, (void)buf, (void)len;
  errno = EPROTO;
  return -1;
}

int tls_session_wants_write(const tls_session *s) {
  (void)s;
  return 0;
}

const char *tls_session_describe(tls_session *s, char *out, size_t cap) {
  (void)s;
  if (cap > 0) out[0] = 0;
  return out;
}

const char *tls_session_error(const tls_session *s) {
  (void)s;
  return "no TLS in this build";
}

void tls_session_free(tls_session *s) { (void)s; }
