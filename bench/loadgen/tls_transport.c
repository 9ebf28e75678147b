// The load generator's TLS sessions on OpenSSL (the system's libssl: build-bench/loadgen-tls is
// linked with -lssl -lcrypto). Clients only, on loopback against a generated certificate: no
// verification. One record's plaintext may span calls, so a read drains what OpenSSL holds
// before it asks the socket again; read-ahead lets one recv() bring several records.
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_transport.h"

struct tls_session {
  SSL *ssl;
  int wants_write;
  char error[256];
};

static SSL_CTX *ctx;  // the one client context of the process (set once by tls_setup)

const char *tls_setup(const char *version) {
  int v = !strcmp(version, "1.3") ? TLS1_3_VERSION : !strcmp(version, "1.2") ? TLS1_2_VERSION : 0;
  if (v == 0) return "--tls-version must be 1.2 or 1.3";
  ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL) return "SSL_CTX_new failed";
  if (SSL_CTX_set_min_proto_version(ctx, v) != 1 || SSL_CTX_set_max_proto_version(ctx, v) != 1)
    return "cannot set the TLS version";
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  // The output buffer grows (realloc) between a write that waits and its retry, and takes partial writes.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(ctx, 1);
  return NULL;
}

tls_session *tls_session_new(int fd) {
  tls_session *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->ssl = SSL_new(ctx);
  if (s->ssl == NULL || SSL_set_fd(s->ssl, fd) != 1) {
    SSL_free(s->ssl);
    free(s);
    return NULL;
  }
  SSL_set_connect_state(s->ssl);
  return s;
}

// Maps the result `r` of an SSL call to the recv()/send() convention (see tls_transport.h).
static ssize_t outcome(tls_session *s, int r) {
  int e = SSL_get_error(s->ssl, r);
  switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      s->wants_write = e == SSL_ERROR_WANT_WRITE;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      return 0;
    case SSL_ERROR_SYSCALL: {
      int saved = errno;
      if (ERR_peek_error() == 0 && saved == 0) return 0;  // EOF without close_notify
      snprintf(s->error, sizeof s->error, "%s", saved ? strerror(saved) : "TLS I/O error");
      break;
    }
    default: {
      unsigned long code = ERR_get_error();
      if (code != 0) ERR_error_string_n(code, s->error, sizeof s->error);
      else snprintf(s->error, sizeof s->error, "SSL error %d", e);
    }
  }
  ERR_clear_error();
  errno = EPROTO;
  return -1;
}

int tls_session_handshake(tls_session *s) {
  int r = SSL_do_handshake(s->ssl);
  if (r == 1) return 1;
  ssize_t o = outcome(s, r);
  if (o == 0) {
    snprintf(s->error, sizeof s->error, "the server closed the connection during the handshake");
    errno = EPROTO;
    return -1;
  }
  return errno == EAGAIN ? 0 : -1;
}

ssize_t tls_session_read(tls_session *s, char *buf, size_t len) {
  size_t total = 0;
  while (total < len) {
    size_t got = 0;
    int r = SSL_read_ex(s->ssl, buf + total, len - total, &got);
    if (r != 1) {
      if (total > 0) {
        ERR_clear_error();
        break;  // what was read now; the error (or the close) comes again on the next call
      }
      return outcome(s, r);
    }
    total += got;
    // Nothing left inside OpenSSL: stop, as a short recv() does; the fd says when more comes.
    if (!SSL_has_pending(s->ssl)) break;
  }
  return (ssize_t)total;
}

ssize_t tls_session_write(tls_session *s, const char *buf, size_t len) {
  size_t written = 0;
  int r = SSL_write_ex(s->ssl, buf, len, &written);
  if (r == 1) return (ssize_t)written;
  return outcome(s, r);
}

int tls_session_wants_write(const tls_session *s) { return s->wants_write; }

const char *tls_session_describe(tls_session *s, char *out, size_t cap) {
  snprintf(out, cap, "%s %s", SSL_get_version(s->ssl), SSL_CIPHER_get_name(SSL_get_current_cipher(s->ssl)));
  return out;
}

const char *tls_session_error(const tls_session *s) { return s->error[0] ? s->error : "unknown TLS error"; }

void tls_session_free(tls_session *s) {
  if (s == NULL) return;
  SSL_free(s->ssl);
  free(s);
}
