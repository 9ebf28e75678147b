// One TLS connection over a non-blocking fd, with memory BIOs: reads recv() the ciphertext
// into the read BIO and decrypt into the caller's memory in the same call; writes encrypt the
// gathered plaintext into the write BIO and send the records with one send(). Ciphertext the
// kernel did not take stays in the write BIO (status[1] says how much) until flush().
// Made with fd -1, the ciphertext goes through memory instead (tls_memory_cipher.h): tests feed
// it and take it with feedCipher()/endCipher()/failCipher()/takeCipher()/setCipherCapacity().
//
// status (an Int32Array(2) shared with JavaScript, read without a call):
//   status[0]  kPlainPending: decrypted or undecrypted input is buffered (read again without
//                waiting for the fd); kWantRead / kWantWrite: what the last step waits for;
//                kPeerClosed: the peer's close_notify arrived.
//   status[1]  ciphertext bytes waiting for the fd.
#pragma once
#ifdef ASYNCHAT_HAVE_TLS

#include <napi.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <memory>

#include "tls_memory_cipher.h"

namespace asynchat {

class TlsConnection : public Napi::ObjectWrap<TlsConnection> {
 public:
  static constexpr int32_t kPlainPending = 1;
  static constexpr int32_t kWantRead = 2;
  static constexpr int32_t kWantWrite = 4;
  static constexpr int32_t kPeerClosed = 8;

  static Napi::Function Define(Napi::Env env);
  explicit TlsConnection(const Napi::CallbackInfo& info);
  ~TlsConnection() override;

 private:
  Napi::Value Handshake(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value ReadScan(const Napi::CallbackInfo& info);
  Napi::Value Writev(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  Napi::Value Shutdown(const Napi::CallbackInfo& info);
  Napi::Value CleartextAfter(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Free(const Napi::CallbackInfo& info);
  Napi::Value FeedCipher(const Napi::CallbackInfo& info);
  Napi::Value EndCipher(const Napi::CallbackInfo& info);
  Napi::Value FailCipher(const Napi::CallbackInfo& info);
  Napi::Value TakeCipher(const Napi::CallbackInfo& info);
  Napi::Value SetCipherCapacity(const Napi::CallbackInfo& info);

  SSL* Live(Napi::Env env);
  MemoryCipher& Memory(Napi::Env env);
  // The ciphertext's transfers, with recv()'s and send()'s contracts: the fd, or memory.
  ssize_t RecvCipher(uint8_t* dst, size_t want);
  ssize_t SendCipher(const uint8_t* p, size_t n);
  // recv() once into the read BIO: bytes, 0 at end of stream, -1 when nothing was there.
  // exact_record: never past the end of the current record (after our close_notify, the bytes
  // that follow the peer's are cleartext and stay in the socket).
  ssize_t Fill(Napi::Env env, bool exact_record);
  // Follows the record framing of every byte put into the read BIO, so that Fill knows where
  // the current record ends even when an earlier read stopped in the middle of one.
  void TrackRecords(const uint8_t* p, size_t n);
  size_t ToRecordEnd() const;
  // Decrypts into dst; the contract of recv (bytes, 0 at close_notify, -1 nothing yet).
  ssize_t ReadPlain(Napi::Env env, uint8_t* dst, size_t len);
  // Sends what the write BIO holds with one send(); returns the bytes still pending.
  size_t FlushCipher(Napi::Env env, bool throw_errors = true);
  [[noreturn]] void ThrowFailure(Napi::Env env, const char* during);
  void UpdateStatus(bool buffer_full);
  void Release();

  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  int fd_ = -1;
  std::unique_ptr<MemoryCipher> memory_;  // instead of fd_, for tests
  bool handshake_done_ = false;
  bool peer_closed_ = false;
  uint8_t record_header_[5] = {};
  size_t header_have_ = 0;  // bytes of the current record's header seen so far
  size_t body_left_ = 0;    // bytes of the current record's body not yet read
  int32_t* status_ = nullptr;
  Napi::ObjectReference context_;  // keeps the SSL_CTX and its ALPN list alive
  Napi::ObjectReference status_ref_;
  Napi::Env env_;
};

}  // namespace asynchat

#endif
