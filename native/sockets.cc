// Thin POSIX socket and fd calls, as Python's socket module makes them for asyncore.
//
// Conventions, so the JavaScript side stays small:
// - Every fd is created non-blocking and close-on-exec.
// - A call that would block returns -1 (recv, send, read, write, writev) or null (accept);
//   connect returns 0 or the errno name, like Python's connect_ex. Every other failure
//   throws a Node-style system error (code, errno, syscall).
// - EINTR is retried; SIGPIPE is never raised (MSG_NOSIGNAL, or SO_NOSIGPIPE on macOS).
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <vector>

#include "addon_state.h"
#include "addresses.h"
#include "errors.h"
#include "gathered_buffers.h"
#include "poller.h"
#include "socket_args.h"
#include "sockets.h"
#include "transfer.h"
#include "typed_args.h"

namespace asynchat {
namespace {

int SetFdFlags(int fd, bool nonblocking) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return errno;
  int want = nonblocking ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
  if (want != fl && fcntl(fd, F_SETFL, want) < 0) return errno;
  return 0;
}

int SetCloexec(int fd) {
  int fl = fcntl(fd, F_GETFD);
  if (fl < 0) return errno;
  if (!(fl & FD_CLOEXEC) && fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) return errno;
  return 0;
}

// What platforms without SOCK_NONBLOCK/SOCK_CLOEXEC/SO_NOSIGPIPE-free sends must do by hand.
[[maybe_unused]] int PrepareFd(int fd) {
  int err = SetCloexec(fd);
  if (err == 0) err = SetFdFlags(fd, true);
#if defined(SO_NOSIGPIPE)
  int one = 1;
  if (err == 0) setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));  // ENOTSOCK for pipes
#endif
  return err;
}

// A new pair of fds (socketpair, pipe) made ready where the call could not do it itself:
// both prepared, or both closed and the error thrown.
[[maybe_unused]] void PreparePair(Napi::Env env, const int (&fds)[2]) {
  for (int fd : fds) {
    if (int err = PrepareFd(fd)) {
      close(fds[0]);
      close(fds[1]);
      ThrowSystemError(env, err, "fcntl");
    }
  }
}

Napi::Value PairToJs(Napi::Env env, const int (&fds)[2]) {
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, fds[0]);
  pair.Set(1u, fds[1]);
  return pair;
}

AddonState* State(const Napi::CallbackInfo& info) { return GetState(info.Env()); }

Napi::Value Socket(const Napi::CallbackInfo& info) {
  int family = IntArg(info, 0, AF_INET), type = IntArg(info, 1, SOCK_STREAM);
  int proto = IntArg(info, 2, 0);
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) ThrowSystemError(info.Env(), errno, "socket");
#if defined(SO_NOSIGPIPE)
  PrepareFd(fd);
#endif
#else
  int fd = socket(family, type, proto);
  if (fd < 0) ThrowSystemError(info.Env(), errno, "socket");
  if (int err = PrepareFd(fd)) {
    close(fd);
    ThrowSystemError(info.Env(), err, "fcntl");
  }
#endif
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  int family = IntArg(info, 0, AF_UNIX), type = IntArg(info, 1, SOCK_STREAM);
  int sv[2];
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  if (socketpair(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
    ThrowSystemError(info.Env(), errno, "socketpair");
#else
  if (socketpair(family, type, 0, sv) < 0) ThrowSystemError(info.Env(), errno, "socketpair");
  PreparePair(info.Env(), sv);
#endif
  return PairToJs(info.Env(), sv);
}

Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
#if defined(__linux__)
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) ThrowSystemError(info.Env(), errno, "pipe");
#else
  if (pipe(fds) < 0) ThrowSystemError(info.Env(), errno, "pipe");
  PreparePair(info.Env(), fds);
#endif
  return PairToJs(info.Env(), fds);
}

// bind(fd, family, ...address)
Napi::Value Bind(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  sockaddr_storage addr;
  socklen_t len = ParseAddress(info, 2, IntArg(info, 1, AF_INET), &addr, "bind");
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0)
    ThrowSystemError(info.Env(), errno, "bind", DescribeAddress(addr, len));
  return info.Env().Undefined();
}

Napi::Value Listen(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  if (listen(fd, IntArg(info, 1, SOMAXCONN)) < 0) ThrowSystemError(info.Env(), errno, "listen");
  return info.Env().Undefined();
}

// connect(fd, family, ...address) -> 0 or an errno name ("EINPROGRESS", "ECONNREFUSED"...)
Napi::Value Connect(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  sockaddr_storage addr;
  socklen_t len = ParseAddress(info, 2, IntArg(info, 1, AF_INET), &addr, "connect");
  int rc = RetryEintr([&] { return connect(fd, reinterpret_cast<sockaddr*>(&addr), len); });
  if (rc == 0) return Napi::Number::New(info.Env(), 0);
  return Napi::String::New(info.Env(), ErrnoName(errno));
}

// accept(fd) -> [fd, address] or null when no connection is waiting.
Napi::Value Accept(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  sockaddr_storage addr;
  socklen_t len;
  int conn;
  State(info)->stats.accepts++;
  do {
    len = sizeof(addr);
#if defined(__linux__)
    conn = accept4(fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    conn = accept(fd, reinterpret_cast<sockaddr*>(&addr), &len);
#endif
  } while (conn < 0 && errno == EINTR);
  if (conn < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return info.Env().Null();
    ThrowSystemError(info.Env(), errno, "accept");
  }
#if !defined(__linux__)
  if (int err = PrepareFd(conn)) {
    close(conn);
    ThrowSystemError(info.Env(), err, "fcntl");
  }
#endif
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, conn);
  result.Set(1u, AddressToJs(info.Env(), addr, len));
  return result;
}

Napi::Value SockName(const Napi::CallbackInfo& info, bool peer) {
  int fd = FdArg(info);
  sockaddr_storage addr = {};
  socklen_t len = sizeof(addr);
  int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                : getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc < 0) ThrowSystemError(info.Env(), errno, peer ? "getpeername" : "getsockname");
  return AddressToJs(info.Env(), addr, len);
}

Napi::Value GetSockName(const Napi::CallbackInfo& info) { return SockName(info, false); }
Napi::Value GetPeerName(const Napi::CallbackInfo& info) { return SockName(info, true); }

// recv(fd, buf, offset?, length?, flags?) -> bytes read (0 at end of stream) or -1 (EAGAIN)
Napi::Value Recv(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  Bytes b = BytesArg(info, 1);
  int flags = IntArg(info, 4, 0);
  State(info)->stats.reads++;
  ssize_t n = RetryEintr([&] { return recv(fd, b.data, b.length, flags); });
  return TransferResult(info.Env(), n, "recv");
}

// send(fd, buf, offset?, length?, flags?) -> bytes sent or -1 (EAGAIN)
Napi::Value Send(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  Bytes b = BytesArg(info, 1);
  int flags = IntArg(info, 4, 0) | kSendFlags;
  State(info)->stats.writes++;
  ssize_t n = RetryEintr([&] { return send(fd, b.data, b.length, flags); });
  return TransferResult(info.Env(), n, "send");
}

// writev(fd, buffers: Uint8Array[] | Uint8Array, firstOffset?) -> bytes written or -1 (EAGAIN).
// Sockets go through sendmsg so that SIGPIPE is never raised; other fds through writev. A lone
// buffer may be passed as it is: the usual write (small pushes share one block) then skips the
// array and its element lookup.
Napi::Value Writev(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info);
  GatheredBuffers gathered(env, info[1], info[2].IsNumber() ? IndexArg(info[2], "firstOffset") : 0);
  iovec* iov = gathered.iov();
  uint32_t count = gathered.count();
  State(info)->stats.writes++;
  msghdr msg = {};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  ssize_t n = RetryEintr([&] { return sendmsg(fd, &msg, kSendFlags); });
  if (n < 0 && errno == ENOTSOCK) n = RetryEintr([&] { return writev(fd, iov, static_cast<int>(count)); });
  return TransferResult(env, n, "writev");
}

// read(fd, buf, offset?, length?) / write(fd, buf, offset?, length?) for pipes and files.
Napi::Value Read(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  Bytes b = BytesArg(info, 1);
  State(info)->stats.reads++;
  ssize_t n = RetryEintr([&] { return read(fd, b.data, b.length); });
  return TransferResult(info.Env(), n, "read");
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  Bytes b = BytesArg(info, 1);
  State(info)->stats.writes++;
  ssize_t n = RetryEintr([&] { return write(fd, b.data, b.length); });
  return TransferResult(info.Env(), n, "write");
}

Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  if (shutdown(fd, IntArg(info, 1, SHUT_RDWR)) < 0) ThrowSystemError(info.Env(), errno, "shutdown");
  return info.Env().Undefined();
}

// close(fd): an EINTR from close still closed the fd on Linux and macOS, so it is not retried.
Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  if (close(fd) < 0 && errno != EINTR) ThrowSystemError(info.Env(), errno, "close");
  return info.Env().Undefined();
}

// setsockopt(fd, level, option, value: number | Uint8Array)
Napi::Value SetSockOpt(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  int level = IntArg(info, 1, SOL_SOCKET), opt = IntArg(info, 2, 0);
  int rc;
  if (info[3].IsTypedArray()) {
    Bytes b = BytesArg(info, 3);
    rc = setsockopt(fd, level, opt, b.data, static_cast<socklen_t>(b.length));
  } else {
    int value = info[3].IsBoolean() ? info[3].As<Napi::Boolean>().Value() : IntArg(info, 3, 0);
    rc = setsockopt(fd, level, opt, &value, sizeof(value));
  }
  if (rc < 0) ThrowSystemError(info.Env(), errno, "setsockopt");
  return info.Env().Undefined();
}

// getsockopt(fd, level, option, buflen?) -> number, or a Buffer of up to buflen bytes
Napi::Value GetSockOpt(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  int level = IntArg(info, 1, SOL_SOCKET), opt = IntArg(info, 2, 0);
  int buflen = IntArg(info, 3, 0);
  if (buflen > 0) {
    if (buflen > 1024) throw Napi::RangeError::New(info.Env(), "buflen must be at most 1024");
    std::vector<uint8_t> buf(buflen);
    socklen_t len = buflen;
    if (getsockopt(fd, level, opt, buf.data(), &len) < 0) ThrowSystemError(info.Env(), errno, "getsockopt");
    return Napi::Buffer<uint8_t>::Copy(info.Env(), buf.data(), len);
  }
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, level, opt, &value, &len) < 0) ThrowSystemError(info.Env(), errno, "getsockopt");
  return Napi::Number::New(info.Env(), value);
}

// getSocketError(fd) -> 0 or the pending error's name (SO_ERROR, cleared by reading it).
Napi::Value GetSocketError(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len) < 0) {
    // Not a socket (a pipe or file in a FileDispatcher): it has no pending error.
    if (errno == ENOTSOCK) return Napi::Number::New(info.Env(), 0);
    ThrowSystemError(info.Env(), errno, "getsockopt");
  }
  if (value == 0) return Napi::Number::New(info.Env(), 0);
  return Napi::String::New(info.Env(), ErrnoName(value));
}

Napi::Value SetBlocking(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  bool blocking = info[1].ToBoolean().Value();
  if (int err = SetFdFlags(fd, !blocking)) ThrowSystemError(info.Env(), err, "fcntl");
  return info.Env().Undefined();
}

// fdFlags(fd) -> bit 1: non-blocking, bit 2: close-on-exec
Napi::Value FdFlags(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) ThrowSystemError(info.Env(), errno, "fcntl");
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0) ThrowSystemError(info.Env(), errno, "fcntl");
  return Napi::Number::New(info.Env(), ((fl & O_NONBLOCK) ? 1 : 0) | ((fdfl & FD_CLOEXEC) ? 2 : 0));
}

// waitFd(fd, mask, timeoutMs) -> the ready bits (READ, WRITE, and HUP, ERR, NVAL whatever the
// mask) or 0 once timeoutMs passed (negative: no limit): what a socket with a timeout (Python's
// settimeout) waits with before it retries the call that would block. A signal does not end the
// wait early (it is retried with what is left, as PEP 475 does); no reactor is involved.
Napi::Value WaitFd(const Napi::CallbackInfo& info) {
  constexpr BitPair kPollBits[] = {
      {kRead, POLLIN}, {kWrite, POLLOUT}, {kPri, POLLPRI}, {kHup, POLLHUP}, {kErr, POLLERR}, {kNval, POLLNVAL},
  };
  int fd = FdArg(info);
  uint32_t mask = info[1].As<Napi::Number>().Uint32Value() & kInterestMask;
  double timeout = info[2].As<Napi::Number>().DoubleValue();
  if (timeout != timeout) throw Napi::RangeError::New(info.Env(), "timeout must be a number of milliseconds");
  bool forever = timeout < 0 || timeout > 1e15;
  using Clock = std::chrono::steady_clock;
  Clock::time_point deadline = Clock::now() + std::chrono::microseconds(forever ? 0 : static_cast<int64_t>(timeout * 1000));
  struct pollfd p = {fd, static_cast<short>(TheirBits(mask, kPollBits)), 0};
  for (;;) {
    int ms = -1;
    if (!forever) {
      Clock::time_point now = Clock::now();
      int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
      // Rounded up, so that a wait never ends before the timeout and spins on a 0 ms poll.
      if (now + std::chrono::milliseconds(left) < deadline) left++;
      ms = static_cast<int>(left < 0 ? 0 : (left > INT_MAX ? INT_MAX : left));
    }
    int rc = poll(&p, 1, ms);
    if (rc > 0) return Napi::Number::New(info.Env(), OurBits(static_cast<uint16_t>(p.revents), kPollBits));
    if (rc == 0 && !forever && Clock::now() >= deadline) return Napi::Number::New(info.Env(), 0);
    if (rc < 0 && errno != EINTR) ThrowSystemError(info.Env(), errno, "poll");
  }
}

// dup(fd) -> a close-on-exec duplicate (FileWrapper owns one, as Python's does).
Napi::Value Dup(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) ThrowSystemError(info.Env(), errno, "dup");
  return Napi::Number::New(info.Env(), copy);
}

}  // namespace

void InitSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("socket", Napi::Function::New<Socket>(env, "socket"));
  exports.Set("socketpair", Napi::Function::New<SocketPair>(env, "socketpair"));
  exports.Set("pipe", Napi::Function::New<Pipe>(env, "pipe"));
  exports.Set("bind", Napi::Function::New<Bind>(env, "bind"));
  exports.Set("listen", Napi::Function::New<Listen>(env, "listen"));
  exports.Set("connect", Napi::Function::New<Connect>(env, "connect"));
  exports.Set("accept", Napi::Function::New<Accept>(env, "accept"));
  exports.Set("getsockname", Napi::Function::New<GetSockName>(env, "getsockname"));
  exports.Set("getpeername", Napi::Function::New<GetPeerName>(env, "getpeername"));
  exports.Set("recv", Napi::Function::New<Recv>(env, "recv"));
  exports.Set("send", Napi::Function::New<Send>(env, "send"));
  exports.Set("writev", Napi::Function::New<Writev>(env, "writev"));
  exports.Set("read", Napi::Function::New<Read>(env, "read"));
  exports.Set("write", Napi::Function::New<Write>(env, "write"));
  exports.Set("shutdown", Napi::Function::New<Shutdown>(env, "shutdown"));
  exports.Set("close", Napi::Function::New<Close>(env, "close"));
  exports.Set("setsockopt", Napi::Function::New<SetSockOpt>(env, "setsockopt"));
  exports.Set("getsockopt", Napi::Function::New<GetSockOpt>(env, "getsockopt"));
  exports.Set("getSocketError", Napi::Function::New<GetSocketError>(env, "getSocketError"));
  exports.Set("setBlocking", Napi::Function::New<SetBlocking>(env, "setBlocking"));
  exports.Set("fdFlags", Napi::Function::New<FdFlags>(env, "fdFlags"));
  exports.Set("dup", Napi::Function::New<Dup>(env, "dup"));
  exports.Set("waitFd", Napi::Function::New<WaitFd>(env, "waitFd"));
  exports.Set("getaddrinfo", Napi::Function::New<GetAddrInfo>(env, "getaddrinfo"));

  Napi::Object c = Napi::Object::New(env);
  SetConstant(c, "AF_INET", AF_INET);
  SetConstant(c, "AF_INET6", AF_INET6);
  SetConstant(c, "AF_UNIX", AF_UNIX);
  SetConstant(c, "AF_UNSPEC", AF_UNSPEC);
  SetConstant(c, "AI_PASSIVE", AI_PASSIVE);
  SetConstant(c, "AI_CANONNAME", AI_CANONNAME);
  SetConstant(c, "AI_NUMERICHOST", AI_NUMERICHOST);
  SetConstant(c, "SOCK_STREAM", SOCK_STREAM);
  SetConstant(c, "SOCK_DGRAM", SOCK_DGRAM);
  SetConstant(c, "SOL_SOCKET", SOL_SOCKET);
  SetConstant(c, "SO_REUSEADDR", SO_REUSEADDR);
#if defined(SO_REUSEPORT)
  SetConstant(c, "SO_REUSEPORT", SO_REUSEPORT);
#endif
#if defined(SO_REUSEPORT_LB)
  SetConstant(c, "SO_REUSEPORT_LB", SO_REUSEPORT_LB);  // FreeBSD: SO_REUSEPORT that balances
#endif
  SetConstant(c, "SO_ERROR", SO_ERROR);
  SetConstant(c, "SO_LINGER", SO_LINGER);
  SetConstant(c, "SO_RCVBUF", SO_RCVBUF);
  SetConstant(c, "SO_SNDBUF", SO_SNDBUF);
  SetConstant(c, "SO_KEEPALIVE", SO_KEEPALIVE);
  SetConstant(c, "SO_TYPE", SO_TYPE);
  SetConstant(c, "SO_OOBINLINE", SO_OOBINLINE);
  SetConstant(c, "IPPROTO_TCP", IPPROTO_TCP);
  SetConstant(c, "IPPROTO_IPV6", IPPROTO_IPV6);
  SetConstant(c, "IPV6_V6ONLY", IPV6_V6ONLY);
  SetConstant(c, "TCP_NODELAY", TCP_NODELAY);
  SetConstant(c, "SHUT_RD", SHUT_RD);
  SetConstant(c, "SHUT_WR", SHUT_WR);
  SetConstant(c, "SHUT_RDWR", SHUT_RDWR);
  SetConstant(c, "MSG_OOB", MSG_OOB);
  SetConstant(c, "MSG_PEEK", MSG_PEEK);
  SetConstant(c, "SOMAXCONN", SOMAXCONN);
  SetConstant(c, "SIZEOF_INT", sizeof(int));
  exports.Set("constants", c);
}

}  // namespace asynchat
