// Socket addresses between Python's shapes (as src/binding/socket.ts passes them) and sockaddr.
//   AF_INET:  (host, port)                     host "" = any, "localhost" = loopback
//   AF_INET6: (host, port, flowinfo, scope_id)
//   AF_UNIX:  (path)                           a leading NUL is Linux's abstract namespace
#pragma once

#include <napi.h>
#include <sys/socket.h>

namespace asynchat {

// Reads the address from info[first..] for `family`; throws a TypeError or a system error
// naming `syscall`.
socklen_t ParseAddress(const Napi::CallbackInfo& info, size_t first, int family,
                       sockaddr_storage* out, const char* syscall);
// [family, host, port, flowinfo, scope_id] for IP, [family, path] for AF_UNIX.
Napi::Array AddressToJs(Napi::Env env, const sockaddr_storage& addr, socklen_t len);
// The path of an AF_UNIX address ("" for an unnamed socket).
Napi::String UnixPath(Napi::Env env, const sockaddr_storage& addr, socklen_t len);
// Python's shape at once: the path for AF_UNIX, [host, port] for IPv4, [host, port, flowinfo,
// scope_id] for IPv6 (what src/binding/socket.ts's addressFromRaw makes of AddressToJs).
Napi::Value PythonAddressToJs(Napi::Env env, const sockaddr_storage& addr, socklen_t len);
// "127.0.0.1:80", "[::1]:80" or the path, for error messages.
std::string DescribeAddress(const sockaddr_storage& addr, socklen_t len);
// Python's socket.getaddrinfo, for JavaScript (registered by sockets.cc).
Napi::Value GetAddrInfo(const Napi::CallbackInfo& info);

}  // namespace asynchat
