#ifdef ASYNCHAT_HAVE_TLS
#include "tls_connection.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "addon_state.h"
#include "errors.h"
#include "scan.h"
#include "gathered_buffers.h"
#include "socket_args.h"
#include "tls_context.h"
#include "tls_errors.h"
#include "transfer.h"
#include "typed_args.h"

namespace asynchat {
namespace {

// A TLS record is at most 16 KiB of plaintext plus its overhead: one read of this size takes
// a whole record, and a few when they are small.
constexpr size_t kCipherRead = 17 * 1024;
// Plaintext encrypted per writev() at most, so that the ciphertext held for a slow peer stays
// bounded (the output queue keeps the rest, as it would for a cleartext channel).
constexpr size_t kEncryptBudget = 256 * 1024;
// Small gathered buffers are coalesced into records of up to this size.
constexpr size_t kRecordPlain = 16 * 1024;

// The thread's error queue must be empty before an SSL call, or SSL_get_error() misreads it. It
// almost always is already: ERR_clear_error() walks every slot of the queue (OpenSSL 3.0), where
// a peek at an empty queue is cheap, and the read and write paths call it per SSL call
// (bench/results/profile-tls-*.md).
void ClearOpenSslErrors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

std::string Hex(const unsigned char* p, unsigned len, char sep) {
  static const char digits[] = "0123456789ABCDEF";
  std::string s;
  for (unsigned i = 0; i < len; i++) {
    if (i > 0 && sep) s += sep;
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

std::string NameText(X509_NAME* name) {
  BIO* b = BIO_new(BIO_s_mem());
  if (b == nullptr) return "";
  X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, n > 0 ? n : 0);
  BIO_free(b);
  return s;
}

std::string TimeText(const ASN1_TIME* t) {
  BIO* b = BIO_new(BIO_s_mem());
  if (b == nullptr) return "";
  ASN1_TIME_print(b, t);
  char* data;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, n > 0 ? n : 0);
  BIO_free(b);
  return s;
}

std::string CommonName(X509_NAME* name) {
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), n);
  OPENSSL_free(utf8);
  return out;
}

std::string AltNames(X509* cert) {
  std::string out;
  GENERAL_NAMES* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
    GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    std::string item;
    if (g->type == GEN_DNS) {
      item = "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                                  ASN1_STRING_length(g->d.dNSName));
    } else if (g->type == GEN_IPADD) {
      char text[INET6_ADDRSTRLEN] = "";
      int len = ASN1_STRING_length(g->d.iPAddress);
      const unsigned char* p = ASN1_STRING_get0_data(g->d.iPAddress);
      if (len == 4) inet_ntop(AF_INET, p, text, sizeof(text));
      else if (len == 16) inet_ntop(AF_INET6, p, text, sizeof(text));
      item = std::string("IP Address:") + text;
    } else {
      continue;
    }
    if (!out.empty()) out += ", ";
    out += item;
  }
  GENERAL_NAMES_free(names);
  return out;
}

}  // namespace

Napi::Function TlsConnection::Define(Napi::Env env) {
  return DefineClass(env, "TlsConnection", {
      InstanceMethod<&TlsConnection::Handshake>("handshake"),
      InstanceMethod<&TlsConnection::Read>("read"),
      InstanceMethod<&TlsConnection::ReadScan>("readScan"),
      InstanceMethod<&TlsConnection::Writev>("writev"),
      InstanceMethod<&TlsConnection::Flush>("flush"),
      InstanceMethod<&TlsConnection::Shutdown>("shutdown"),
      InstanceMethod<&TlsConnection::CleartextAfter>("cleartextAfter"),
      InstanceMethod<&TlsConnection::Info>("info"),
      InstanceMethod<&TlsConnection::Free>("free"),
      InstanceMethod<&TlsConnection::FeedCipher>("feedCipher"),
      InstanceMethod<&TlsConnection::EndCipher>("endCipher"),
      InstanceMethod<&TlsConnection::FailCipher>("failCipher"),
      InstanceMethod<&TlsConnection::TakeCipher>("takeCipher"),
      InstanceMethod<&TlsConnection::SetCipherCapacity>("setCipherCapacity"),
  });
}

// new TlsConnection(context, fd (-1: ciphertext in memory), serverSide, hostname | null, status: Int32Array(2))
TlsConnection::TlsConnection(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<TlsConnection>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "TlsConnection needs a TlsContext");
  TlsContext* context = Napi::ObjectWrap<TlsContext>::Unwrap(info[0].As<Napi::Object>());
  if (context == nullptr) throw Napi::TypeError::New(env, "TlsConnection needs a TlsContext");
  if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "fd must be a number");
  fd_ = info[1].As<Napi::Number>().Int32Value();
  if (fd_ < 0) memory_ = std::make_unique<MemoryCipher>();
  bool server = info[2].ToBoolean().Value();
  size_t status_len;
  if (!TypedElements(env, info[4], napi_int32_array, &status_, &status_len) || status_len < 2)
    throw Napi::TypeError::New(env, "status must be an Int32Array(2)");
  status_ref_ = Napi::Persistent(info[4].As<Napi::Object>());
  context_ = Napi::Persistent(info[0].As<Napi::Object>());

  ERR_clear_error();
  ssl_ = SSL_new(context->ctx());
  if (ssl_ == nullptr) throw TlsError(env, "ERR_ASYNCHAT_TLS_OPTION", "SSL_new failed");
  GetState(env)->tls_live++;
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (rbio_ == nullptr || wbio_ == nullptr) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    rbio_ = wbio_ = nullptr;
    Release();
    throw TlsError(env, "ERR_ASYNCHAT_TLS_OPTION", "BIO_new failed");
  }
  // An empty read BIO means "no data yet" (retry), not end of file.
  BIO_set_mem_eof_return(rbio_, -1);
  SSL_set_bio(ssl_, rbio_, wbio_);
  if (server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
    if (info[3].IsString()) {
      std::string host = info[3].As<Napi::String>().Utf8Value();
      unsigned char ip[16];
      bool is_ip = inet_pton(AF_INET, host.c_str(), ip) == 1 || inet_pton(AF_INET6, host.c_str(), ip) == 1;
      int ok = 1;
      if (is_ip) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
      } else {
        ok = SSL_set_tlsext_host_name(ssl_, host.c_str()) == 1 && SSL_set1_host(ssl_, host.c_str()) == 1;
      }
      if (!ok) {
        Release();
        throw TlsError(env, "ERR_ASYNCHAT_TLS_OPTION", "cannot use server hostname '" + host + "'");
      }
    }
  }
  status_[0] = status_[1] = 0;
}

TlsConnection::~TlsConnection() { Release(); }

void TlsConnection::Release() {
  if (ssl_ == nullptr) return;
  SSL_free(ssl_);  // frees both BIOs
  ssl_ = nullptr;
  rbio_ = wbio_ = nullptr;
  AddonState* state = GetState(env_);
  if (state != nullptr && state->tls_live > 0) state->tls_live--;
}

SSL* TlsConnection::Live(Napi::Env env) {
  if (ssl_ == nullptr) throw CodedError(env, "ERR_ASYNCHAT_TLS_STATE", "the TLS connection was freed");
  return ssl_;
}

void TlsConnection::TrackRecords(const uint8_t* p, size_t n) {
  while (n > 0) {
    if (body_left_ > 0) {
      size_t k = n < body_left_ ? n : body_left_;
      body_left_ -= k;
      p += k;
      n -= k;
      continue;
    }
    size_t k = sizeof(record_header_) - header_have_;
    if (k > n) k = n;
    memcpy(record_header_ + header_have_, p, k);
    header_have_ += k;
    p += k;
    n -= k;
    if (header_have_ == sizeof(record_header_)) {
      body_left_ = (size_t(record_header_[3]) << 8) | record_header_[4];
      header_have_ = 0;
    }
  }
}

size_t TlsConnection::ToRecordEnd() const {
  // Inside a body: its rest. Else the rest of the header (the body comes with the next read).
  return body_left_ > 0 ? body_left_ : sizeof(record_header_) - header_have_;
}

MemoryCipher& TlsConnection::Memory(Napi::Env env) {
  if (memory_ == nullptr) {
    throw CodedError(env, "ERR_ASYNCHAT_TLS_STATE", "this TLS connection's ciphertext goes through its fd, not memory");
  }
  return *memory_;
}

ssize_t TlsConnection::RecvCipher(uint8_t* dst, size_t want) {
  if (memory_ != nullptr) return memory_->Recv(dst, want);
  return RetryEintr([&] { return recv(fd_, dst, want, 0); });
}

ssize_t TlsConnection::SendCipher(const uint8_t* p, size_t n) {
  if (memory_ != nullptr) return memory_->Send(p, n);
  return RetryEintr([&] { return send(fd_, p, n, kSendFlags); });
}

ssize_t TlsConnection::Fill(Napi::Env env, bool exact_record) {
  uint8_t buf[kCipherRead];
  size_t want = sizeof(buf);
  if (exact_record && ToRecordEnd() < want) want = ToRecordEnd();
  GetState(env)->stats.reads++;
  ssize_t n = RecvCipher(buf, want);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
    ThrowSystemError(env, errno, "recv");
  }
  if (n > 0 && BIO_write(rbio_, buf, static_cast<int>(n)) != n)
    throw TlsError(env, "ERR_ASYNCHAT_TLS_PROTOCOL", "cannot buffer TLS input");
  if (n > 0) TrackRecords(buf, static_cast<size_t>(n));
  return n;
}

size_t TlsConnection::FlushCipher(Napi::Env env, bool throw_errors) {
  char* data;
  long pending = BIO_get_mem_data(wbio_, &data);
  if (pending <= 0) {
    status_[1] = 0;
    return 0;
  }
  GetState(env)->stats.writes++;
  ssize_t n = SendCipher(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(pending));
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && throw_errors) ThrowSystemError(env, errno, "send");
    n = 0;
  }
  if (n == pending) {
    (void)BIO_reset(wbio_);
  } else {
    // Rare (the socket's buffer is full): drop what was sent from the front of the BIO.
    uint8_t discard[4096];
    for (ssize_t left = n; left > 0;) {
      int got = BIO_read(wbio_, discard, static_cast<int>(left < 4096 ? left : 4096));
      if (got <= 0) break;
      left -= got;
    }
  }
  long rest = BIO_ctrl_pending(wbio_);
  status_[1] = static_cast<int32_t>(rest > INT32_MAX ? INT32_MAX : rest);
  return static_cast<size_t>(rest);
}

void TlsConnection::UpdateStatus(bool buffer_full) {
  int32_t flags = status_[0] & ~(kPlainPending | kWantWrite);
  // Only a read that filled the caller's buffer may have left plaintext behind; a read that
  // stopped for want of input has a partial record at most, and the fd tells when the rest comes.
  if (buffer_full && (SSL_has_pending(ssl_) || BIO_ctrl_pending(rbio_) > 0)) flags |= kPlainPending;
  if (peer_closed_) flags |= kPeerClosed;
  if (status_[1] > 0) flags |= kWantWrite;
  status_[0] = flags;
}

void TlsConnection::ThrowFailure(Napi::Env env, const char* during) {
  // Tell the peer why (the alert OpenSSL queued), best effort, then report.
  std::string all;
  unsigned long last = 0;
  std::string reason = DrainOpenSslErrors(&all, &last);
  FlushCipher(env, false);
  long verify = SSL_get_verify_result(ssl_);
  Napi::Error e;
  if (!handshake_done_ && verify != X509_V_OK) {
    std::string name = VerifyResultName(verify);
    e = CodedError(env, "ERR_ASYNCHAT_TLS_CERT", std::string("certificate verification failed: ") + name + " (" +
                                                     X509_verify_cert_error_string(verify) + ")");
    e.Set("reason", name);
    SetVerifyFields(e, ssl_, verify);
  } else {
    std::string message = std::string(during) + (reason.empty() ? " failed" : " failed: " + reason);
    if (!all.empty()) message += " (" + all + ")";
    e = CodedError(env, handshake_done_ ? "ERR_ASYNCHAT_TLS_PROTOCOL" : "ERR_ASYNCHAT_TLS_HANDSHAKE", message);
    if (!reason.empty()) e.Set("reason", reason);
  }
  SetSslErrorFields(e, last);
  throw e;
}

// handshake() -> 0 when done, else kWantRead | kWantWrite (what to wait for).
Napi::Value TlsConnection::Handshake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SSL* ssl = Live(env);
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl);
    int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
    if (err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL) ThrowFailure(env, "TLS handshake");
    size_t pending = FlushCipher(env);
    if (r == 1) {
      handshake_done_ = true;
      // Application data sent right behind the peer's Finished is already in the read BIO.
      UpdateStatus(true);
      return Napi::Number::New(env, 0);
    }
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) ThrowFailure(env, "TLS handshake");
    if (err == SSL_ERROR_WANT_READ) {
      ssize_t n = Fill(env, false);
      if (n > 0) continue;
      if (n == 0) {
        throw TlsEofError(env, "ERR_ASYNCHAT_TLS_HANDSHAKE",
                          "TLS handshake failed: the peer closed the connection (EOF occurred in violation of protocol)");
      }
    }
    UpdateStatus(false);
    int32_t want = (err == SSL_ERROR_WANT_READ ? kWantRead : 0) | (pending > 0 ? kWantWrite : 0);
    status_[0] = (status_[0] & ~(kWantRead | kWantWrite)) | want;
    return Napi::Number::New(env, want);
  }
}

ssize_t TlsConnection::ReadPlain(Napi::Env env, uint8_t* dst, size_t len) {
  SSL* ssl = Live(env);
  size_t total = 0;
  bool drained = false;
  bool closed_now = false;
  // stopTls() sent our close_notify: what follows the peer's is cleartext, left in the socket.
  bool unwrapping = (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) != 0;
  // Nothing inside OpenSSL: SSL_read could only ask for input, so read the socket first (one
  // SSL_read per arrival instead of two; Fill failing to find any is handled below as before).
  if (!peer_closed_ && !SSL_has_pending(ssl) && BIO_ctrl_pending(rbio_) == 0) drained = Fill(env, unwrapping) < 0;
  while (total < len) {
    // All of it delivered, nothing left inside OpenSSL: done; the fd tells when more comes.
    if (total > 0 && !SSL_has_pending(ssl) && BIO_ctrl_pending(rbio_) == 0) break;
    size_t got = 0;
    ClearOpenSslErrors();
    int r = SSL_read_ex(ssl, dst + total, len - total, &got);
    if (r == 1) {
      total += got;
      continue;
    }
    int err = SSL_get_error(ssl, r);
    if (err == SSL_ERROR_WANT_READ) {
      if (total > 0 || drained) break;
      ssize_t n = Fill(env, unwrapping);
      if (n > 0) continue;
      if (n < 0) {
        drained = true;
        break;
      }
      // End of stream without close_notify: a truncation attack or a careless peer.
      FlushCipher(env, false);
      throw TlsEofError(env, "ERR_ASYNCHAT_TLS_EOF", "EOF occurred in violation of protocol (the peer closed without close_notify)");
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      closed_now = true;
      break;
    }
    if (err == SSL_ERROR_WANT_WRITE) break;  // a memory BIO never refuses; kept for safety
    ThrowFailure(env, "TLS read");
  }
  // Post-handshake messages (KeyUpdate, alerts) may have queued a reply.
  FlushCipher(env);
  UpdateStatus(total == len);
  // A close_notify behind the data just returned: deliver it without waiting for the fd.
  if (closed_now && total > 0) status_[0] |= kPlainPending;
  if (total > 0) return static_cast<ssize_t>(total);
  if (peer_closed_) return 0;
  return -1;
}

// read(buf, offset, length) -> plaintext bytes, 0 after the peer's close_notify, -1 nothing yet.
Napi::Value TlsConnection::Read(const Napi::CallbackInfo& info) {
  Bytes s = BytesArg(info, 0);
  return Napi::Number::New(info.Env(), static_cast<double>(ReadPlain(info.Env(), s.data, s.length)));
}

// readScan(buf, offset, size, terminator, out, max, minBytes): read(), then recvScan()'s scan
// of the plaintext that arrived, in the same crossing (out's last slot: count, -1 no scan).
Napi::Value TlsConnection::ReadScan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes s = BytesArg(info, 0);
  uint8_t* t;
  size_t tlen, out_len;
  int32_t* out;
  if (!ByteElements(env, info[3], &t, &tlen) || !TypedElements(env, info[4], napi_int32_array, &out, &out_len) ||
      tlen == 0 || out_len < 2)
    throw Napi::TypeError::New(env, "readScan(buf, offset, size, terminator, out: Int32Array, max, minBytes)");
  size_t max = IndexArg(info[5], "max"), min_bytes = IndexArg(info[6], "minBytes");
  if (max > out_len - 2) max = out_len - 2;
  if (s.length > 0x7fffffff) throw Napi::RangeError::New(env, "readScan: size too large");
  out[out_len - 1] = -1;
  ssize_t n = ReadPlain(env, s.data, s.length);
  if (n > 0 && static_cast<size_t>(n) >= min_bytes) {
    GetState(env)->stats.scans++;
    out[out_len - 1] = static_cast<int32_t>(FindTerminators(s.data, 0, n, t, tlen, out, max));
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// writev(buffers | buffer, firstOffset) -> plaintext bytes taken (encrypted, and sent as far as
// the kernel took them), or -1 when ciphertext from before still waits for the fd.
Napi::Value TlsConnection::Writev(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SSL* ssl = Live(env);
  if (FlushCipher(env) > 0) {
    UpdateStatus(false);
    return Napi::Number::New(env, -1);
  }
  GatheredBuffers gathered(env, info[0], info[1].IsNumber() ? IndexArg(info[1], "firstOffset") : 0);
  uint8_t stage[kRecordPlain];
  size_t staged = 0, taken = 0;
  auto write_out = [&](const uint8_t* p, size_t n) {
    size_t written = 0;
    ClearOpenSslErrors();
    if (SSL_write_ex(ssl, p, n, &written) != 1 || written != n) ThrowFailure(env, "TLS write");
  };
  for (uint32_t i = 0; i < gathered.count() && taken < kEncryptBudget; i++) {
    const uint8_t* p = static_cast<const uint8_t*>(gathered.iov()[i].iov_base);
    size_t n = gathered.iov()[i].iov_len;
    if (n > kEncryptBudget - taken) n = kEncryptBudget - taken;
    // Small buffers are coalesced into one record; a large one is encrypted where it lies.
    if (staged + n <= sizeof(stage)) {
      memcpy(stage + staged, p, n);
      staged += n;
    } else {
      if (staged > 0) write_out(stage, staged);
      staged = 0;
      if (n < sizeof(stage)) {
        memcpy(stage, p, n);
        staged = n;
      } else {
        write_out(p, n);
      }
    }
    taken += n;
  }
  if (staged > 0) write_out(stage, staged);
  FlushCipher(env);
  UpdateStatus(false);
  return Napi::Number::New(env, static_cast<double>(taken));
}

// flush() -> ciphertext bytes still waiting for the fd.
Napi::Value TlsConnection::Flush(const Napi::CallbackInfo& info) {
  Live(info.Env());
  size_t rest = FlushCipher(info.Env());
  UpdateStatus(false);
  return Napi::Number::New(info.Env(), static_cast<double>(rest));
}

// shutdown(wait) -> 0 when both close_notify alerts are exchanged (or wait is false and ours
// is sent), as handshake() says done; else kWantRead | kWantWrite, or kPlainPending: plaintext the peer sent before its
// close_notify is there, for the channel to read (read()/readScan()) before stepping again.
// Nothing is read here but records, one at a time, so that what follows the peer's
// close_notify (cleartext) stays in the socket.
Napi::Value TlsConnection::Shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SSL* ssl = Live(env);
  bool wait = info[0].ToBoolean().Value();
  for (;;) {
    int state = SSL_get_shutdown(ssl);
    // SSL_shutdown sends ours, and completes once the peer's is in; called in between it would
    // read, and application data would then be lost or an error.
    if (!(state & SSL_SENT_SHUTDOWN) || (state & SSL_RECEIVED_SHUTDOWN)) {
      ERR_clear_error();
      int r = SSL_shutdown(ssl);
      size_t pending = FlushCipher(env, wait);
      if (r == 1 || (!wait && r == 0)) {
        UpdateStatus(false);
        return Napi::Number::New(env, pending > 0 ? kWantWrite : 0);
      }
      if (r < 0) {
        int err = SSL_get_error(ssl, r);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) ThrowFailure(env, "TLS shutdown");
      }
      if (!(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN)) ThrowFailure(env, "TLS shutdown");
    }
    if (!wait) {
      UpdateStatus(false);
      return Napi::Number::New(env, 0);
    }
    // Ours is sent, the peer's is awaited: is there plaintext before it?
    size_t pending = FlushCipher(env);
    uint8_t probe;
    size_t got = 0;
    ERR_clear_error();
    int rr = SSL_peek_ex(ssl, &probe, 1, &got);
    if (rr == 1) {
      UpdateStatus(false);
      status_[0] |= kPlainPending;
      return Napi::Number::New(env, kPlainPending | (pending > 0 ? kWantWrite : 0));
    }
    int err = SSL_get_error(ssl, rr);
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      if (!(SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN)) ThrowFailure(env, "TLS shutdown");
      continue;  // SSL_shutdown completes now
    }
    if (err != SSL_ERROR_WANT_READ) ThrowFailure(env, "TLS shutdown");
    ssize_t n = Fill(env, true);
    if (n > 0) continue;
    if (n == 0) {
      throw TlsEofError(env, "ERR_ASYNCHAT_TLS_EOF", "EOF occurred in violation of protocol (no close_notify during unwrap)");
    }
    UpdateStatus(false);
    return Napi::Number::New(env, kWantRead | (pending > 0 ? kWantWrite : 0));
  }
}

// cleartextAfter() -> the bytes read past the peer's close_notify (a read before stopTls()
// took them with its records): cleartext, for the channel. Empty before the peer's close_notify.
Napi::Value TlsConnection::CleartextAfter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SSL* ssl = Live(env);
  if (!(SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN)) return Napi::Buffer<uint8_t>::New(env, 0);
  char* data = nullptr;
  long n = BIO_get_mem_data(rbio_, &data);
  if (n <= 0) return Napi::Buffer<uint8_t>::New(env, 0);
  Napi::Buffer<uint8_t> rest = Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(data), static_cast<size_t>(n));
  (void)BIO_reset(rbio_);
  return rest;
}

Napi::Value TlsConnection::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SSL* ssl = Live(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("protocol", SSL_get_version(ssl));
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
  if (c != nullptr) {
    o.Set("cipher", SSL_CIPHER_get_name(c));
    o.Set("standardName", SSL_CIPHER_standard_name(c));
    o.Set("bits", SSL_CIPHER_get_bits(c, nullptr));
  }
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn_len > 0) o.Set("alpnProtocol", std::string(reinterpret_cast<const char*>(alpn), alpn_len));
  else o.Set("alpnProtocol", env.Null());
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  o.Set("servername", sni ? Napi::Value(Napi::String::New(env, sni)) : env.Null());
  o.Set("sessionReused", SSL_session_reused(ssl) == 1);
  X509* peer = SSL_get1_peer_certificate(ssl);
  long verify = SSL_get_verify_result(ssl);
  if (peer == nullptr) {
    o.Set("peerCertificate", env.Null());
    o.Set("authorized", false);
    o.Set("authorizationError", "NO_PEER_CERTIFICATE");
  } else {
    Napi::Object p = Napi::Object::New(env);
    p.Set("subject", NameText(X509_get_subject_name(peer)));
    p.Set("issuer", NameText(X509_get_issuer_name(peer)));
    p.Set("commonName", CommonName(X509_get_subject_name(peer)));
    p.Set("subjectAltName", AltNames(peer));
    p.Set("validFrom", TimeText(X509_get0_notBefore(peer)));
    p.Set("validTo", TimeText(X509_get0_notAfter(peer)));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (X509_digest(peer, EVP_sha256(), md, &md_len) == 1) p.Set("fingerprint256", Hex(md, md_len, ':'));
    const ASN1_INTEGER* serial = X509_get0_serialNumber(peer);
    p.Set("serialNumber", Hex(serial->data, static_cast<unsigned>(serial->length), 0));
    o.Set("peerCertificate", p);
    o.Set("authorized", verify == X509_V_OK);
    o.Set("authorizationError", verify == X509_V_OK ? env.Null() : Napi::Value(Napi::String::New(env, VerifyResultName(verify))));
    X509_free(peer);
  }
  ERR_clear_error();
  return o;
}

Napi::Value TlsConnection::Free(const Napi::CallbackInfo& info) {
  Release();
  context_.Reset();
  return info.Env().Undefined();
}

// feedCipher(buf): ciphertext "received" (memory connections only).
Napi::Value TlsConnection::FeedCipher(const Napi::CallbackInfo& info) {
  MemoryCipher& memory = Memory(info.Env());
  Bytes b = BytesArg(info, 0);
  memory.Feed(b.data, b.length);
  return info.Env().Undefined();
}

// endCipher(): the peer closed its side (a read finds the end of stream once the rest is read).
Napi::Value TlsConnection::EndCipher(const Napi::CallbackInfo& info) {
  Memory(info.Env()).End();
  return info.Env().Undefined();
}

// failCipher(errno): the next transfers fail with this errno (positive, e.g. ECONNRESET).
Napi::Value TlsConnection::FailCipher(const Napi::CallbackInfo& info) {
  MemoryCipher& memory = Memory(info.Env());
  memory.Fail(static_cast<int>(IndexArg(info[0], "errno")));
  return info.Env().Undefined();
}

// takeCipher() -> the ciphertext "sent" since the last call, as a Buffer.
Napi::Value TlsConnection::TakeCipher(const Napi::CallbackInfo& info) {
  std::vector<uint8_t> taken = Memory(info.Env()).Take();
  return Napi::Buffer<uint8_t>::Copy(info.Env(), taken.data(), taken.size());
}

// setCipherCapacity(bytes | -1): how much "sent" ciphertext may wait untaken before a send would block.
Napi::Value TlsConnection::SetCipherCapacity(const Napi::CallbackInfo& info) {
  MemoryCipher& memory = Memory(info.Env());
  double capacity = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  memory.SetCapacity(capacity < 0 ? -1 : static_cast<long>(capacity));
  return info.Env().Undefined();
}

}  // namespace asynchat
#endif
