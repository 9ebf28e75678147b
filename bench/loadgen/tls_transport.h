// The load generator's TLS seam: a client session over a connected non-blocking socket, read and
// written like recv()/send(). loadgen.c calls only these; tls_transport.c implements them on
// OpenSSL (the build-bench/loadgen-tls binary, linked with -lssl -lcrypto), tls_none.c refuses
// them (build-bench/loadgen, which needs no OpenSSL headers).
//
// read/write return what recv/send would: bytes moved, 0 for the peer's close (read), or -1 with
// errno EAGAIN (wait for the fd: tls_session_wants_write says which way) or EPROTO (a TLS failure;
// tls_session_error says why).
#pragma once

#include <stddef.h>
#include <sys/types.h>

typedef struct tls_session tls_session;

// Once, before any session: the client context. `version`: "1.2" or "1.3" (the only one offered).
// NULL when ready, else why not.
const char *tls_setup(const char *version);
tls_session *tls_session_new(int fd);
// One step of the handshake: 1 done, 0 not yet (errno EAGAIN), -1 failed (errno EPROTO).
int tls_session_handshake(tls_session *s);
ssize_t tls_session_read(tls_session *s, char *buf, size_t len);
ssize_t tls_session_write(tls_session *s, const char *buf, size_t len);
// After EAGAIN: whether OpenSSL waits for writability (else readability).
int tls_session_wants_write(const tls_session *s);
// "TLSv1.3 TLS_AES_256_GCM_SHA384", once the handshake is done.
const char *tls_session_describe(tls_session *s, char *out, size_t cap);
const char *tls_session_error(const tls_session *s);
void tls_session_free(tls_session *s);
