// A TLS connection's ciphertext in memory instead of a socket, so that the handshake, records
// split at every byte, alerts and close_notify in every state can be tested without sockets (as
// ws tests its receiver): what the peer "sent" is fed in, what this end "sent" is taken out. The
// output side has a capacity, a socket buffer that fills, so that a write that would block
// (EAGAIN) is tested as well; a failure (a reset) can be set for the next transfer.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

namespace asynchat {

class MemoryCipher {
 public:
  void Feed(const uint8_t* p, size_t n) { in_.insert(in_.end(), p, p + n); }
  void End() { eof_ = true; }
  void Fail(int err) { fail_ = err; }
  // Bytes the output may hold before a send would block (negative: no limit).
  void SetCapacity(long capacity) { capacity_ = capacity; }

  // recv()'s contract: bytes, 0 at the end, -1 with errno set (EAGAIN when nothing is there).
  ssize_t Recv(uint8_t* dst, size_t want) {
    if (fail_ != 0) return Failed();
    size_t have = in_.size() - in_pos_;
    if (have == 0) {
      if (eof_) return 0;
      errno = EAGAIN;
      return -1;
    }
    size_t n = want < have ? want : have;
    memcpy(dst, in_.data() + in_pos_, n);
    in_pos_ += n;
    if (in_pos_ == in_.size()) {
      in_.clear();
      in_pos_ = 0;
    }
    return static_cast<ssize_t>(n);
  }

  // send()'s contract.
  ssize_t Send(const uint8_t* p, size_t n) {
    if (fail_ != 0) return Failed();
    if (capacity_ >= 0) {
      size_t room = out_.size() < static_cast<size_t>(capacity_) ? capacity_ - out_.size() : 0;
      if (room == 0) {
        errno = EAGAIN;
        return -1;
      }
      if (n > room) n = room;
    }
    out_.insert(out_.end(), p, p + n);
    return static_cast<ssize_t>(n);
  }

  // What was sent since the last call (the peer read it: room again).
  std::vector<uint8_t> Take() {
    std::vector<uint8_t> taken;
    taken.swap(out_);
    return taken;
  }

 private:
  ssize_t Failed() {
    errno = fail_;
    return -1;
  }

  std::vector<uint8_t> in_;
  size_t in_pos_ = 0;
  bool eof_ = false;
  int fail_ = 0;
  std::vector<uint8_t> out_;
  long capacity_ = -1;
};

}  // namespace asynchat
