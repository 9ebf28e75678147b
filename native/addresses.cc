#include "addresses.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <string>

#include "errors.h"

namespace asynchat {
namespace {

// A failed getaddrinfo as Node's dns module reports one: code ENOTFOUND when the name has no
// address, else the EAI_* name (EAI_AGAIN: try again later), with syscall and hostname.
Napi::Error GaiError(Napi::Env env, int rc, const std::string& host) {
  if (rc == EAI_SYSTEM) return SystemError(env, errno, "getaddrinfo", host);
  const char* code = "EAI_FAIL";
  switch (rc) {
    case EAI_NONAME: code = "ENOTFOUND"; break;
#if defined(EAI_NODATA) && EAI_NODATA != EAI_NONAME
    case EAI_NODATA: code = "ENOTFOUND"; break;
#endif
    case EAI_AGAIN: code = "EAI_AGAIN"; break;
    case EAI_BADFLAGS: code = "EAI_BADFLAGS"; break;
    case EAI_FAMILY: code = "EAI_FAMILY"; break;
    case EAI_MEMORY: code = "EAI_MEMORY"; break;
    case EAI_SERVICE: code = "EAI_SERVICE"; break;
    case EAI_SOCKTYPE: code = "EAI_SOCKTYPE"; break;
    default: break;
  }
  Napi::Error err = CodedError(env, code, std::string(code) + ": cannot resolve " + host + ": " + gai_strerror(rc));
  err.Set("syscall", "getaddrinfo");
  err.Set("hostname", host);
  return err;
}

// Numeric hosts are parsed directly; a name is resolved with getaddrinfo, which blocks, as
// Python's socket calls do.
void ResolveHost(Napi::Env env, int family, const std::string& host, void* out) {
  if (host.empty()) {
    if (family == AF_INET)
      static_cast<in_addr*>(out)->s_addr = htonl(INADDR_ANY);
    else
      *static_cast<in6_addr*>(out) = in6addr_any;
    return;
  }
  if (host == "localhost") {
    if (family == AF_INET)
      static_cast<in_addr*>(out)->s_addr = htonl(INADDR_LOOPBACK);
    else
      *static_cast<in6_addr*>(out) = in6addr_loopback;
    return;
  }
  if (inet_pton(family, host.c_str(), out) == 1) return;
  addrinfo hints = {};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) throw GaiError(env, rc, host);
  if (res == nullptr) throw GaiError(env, EAI_NONAME, host);
  if (family == AF_INET)
    *static_cast<in_addr*>(out) = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
  else
    *static_cast<in6_addr*>(out) = reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr;
  freeaddrinfo(res);
}

uint16_t ParsePort(const Napi::Value& v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), "port must be a number");
  double port = v.As<Napi::Number>().DoubleValue();
  if (!(port >= 0 && port <= 65535) || port != static_cast<int>(port))
    throw Napi::RangeError::New(v.Env(), "port must be an integer from 0 to 65535");
  return static_cast<uint16_t>(port);
}

}  // namespace

socklen_t ParseAddress(const Napi::CallbackInfo& info, size_t first, int family,
                       sockaddr_storage* out, const char* syscall) {
  Napi::Env env = info.Env();
  std::memset(out, 0, sizeof(*out));
  if (family == AF_UNIX) {
    if (!info[first].IsString()) throw Napi::TypeError::New(env, "AF_UNIX address must be a path string");
    std::string path = info[first].As<Napi::String>().Utf8Value();
    auto* sun = reinterpret_cast<sockaddr_un*>(out);
    // As Python: an abstract name (leading NUL) may fill sun_path, a path needs room for its
    // NUL, and "" passes no name at all (bind then picks an abstract one on Linux).
    bool abstract = !path.empty() && path[0] == '\0';
    if (path.size() > sizeof(sun->sun_path) - (abstract ? 0 : 1))
      throw SystemError(env, ENAMETOOLONG, syscall, path);
    sun->sun_family = AF_UNIX;
    std::memcpy(sun->sun_path, path.data(), path.size());
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                  (abstract || path.empty() ? 0 : 1));
  }
  if (!info[first].IsString()) throw Napi::TypeError::New(env, "host must be a string");
  std::string host = info[first].As<Napi::String>().Utf8Value();
  uint16_t port = ParsePort(info[first + 1]);
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    ResolveHost(env, AF_INET, host, &sin->sin_addr);
    return sizeof(sockaddr_in);
  }
  if (family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    if (info[first + 2].IsNumber()) sin6->sin6_flowinfo = htonl(info[first + 2].As<Napi::Number>().Uint32Value());
    if (info[first + 3].IsNumber()) sin6->sin6_scope_id = info[first + 3].As<Napi::Number>().Uint32Value();
    ResolveHost(env, AF_INET6, host, &sin6->sin6_addr);
    return sizeof(sockaddr_in6);
  }
  throw SystemError(env, EAFNOSUPPORT, syscall);
}

namespace {

// Fills result[first..] with the address's fields: host, port (and flowinfo, scope_id) for IP,
// the path for AF_UNIX.
void SetAddressFields(Napi::Env env, Napi::Array& result, uint32_t first, const sockaddr_storage& addr, socklen_t len) {
  char host[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
    result.Set(first, Napi::String::New(env, host));
    result.Set(first + 1, Napi::Number::New(env, ntohs(sin->sin_port)));
  } else if (addr.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
    result.Set(first, Napi::String::New(env, host));
    result.Set(first + 1, Napi::Number::New(env, ntohs(sin6->sin6_port)));
    result.Set(first + 2, Napi::Number::New(env, ntohl(sin6->sin6_flowinfo)));
    result.Set(first + 3, Napi::Number::New(env, sin6->sin6_scope_id));
  } else if (addr.ss_family == AF_UNIX) {
    result.Set(first, UnixPath(env, addr, len));
  }
}

}  // namespace

Napi::String UnixPath(Napi::Env env, const sockaddr_storage& addr, socklen_t len) {
  const auto* sun = reinterpret_cast<const sockaddr_un*>(&addr);
  size_t path_len = 0;
  if (len > offsetof(sockaddr_un, sun_path)) {
    path_len = len - offsetof(sockaddr_un, sun_path);
    // A filesystem path is NUL-terminated; an abstract one (leading NUL) is not.
    if (path_len > 0 && sun->sun_path[0] != '\0') path_len = strnlen(sun->sun_path, path_len);
  }
  return Napi::String::New(env, sun->sun_path, path_len);
}

Napi::Array AddressToJs(Napi::Env env, const sockaddr_storage& addr, socklen_t len) {
  Napi::Array result = Napi::Array::New(env);
  result.Set(0u, Napi::Number::New(env, addr.ss_family));
  SetAddressFields(env, result, 1, addr, len);
  return result;
}

Napi::Value PythonAddressToJs(Napi::Env env, const sockaddr_storage& addr, socklen_t len) {
  if (addr.ss_family == AF_UNIX) return UnixPath(env, addr, len);
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) return env.Null();
  Napi::Array result = Napi::Array::New(env, addr.ss_family == AF_INET ? 2 : 4);
  SetAddressFields(env, result, 0, addr, len);
  return result;
}

std::string DescribeAddress(const sockaddr_storage& addr, socklen_t len) {
  char host[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(sin->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(sin6->sin6_port));
  }
  if (addr.ss_family == AF_UNIX && len > offsetof(sockaddr_un, sun_path)) {
    const auto* sun = reinterpret_cast<const sockaddr_un*>(&addr);
    size_t n = len - offsetof(sockaddr_un, sun_path);
    if (sun->sun_path[0] != '\0') n = strnlen(sun->sun_path, n);
    return std::string(sun->sun_path, n);
  }
  return "";
}

// getaddrinfo(host, port, family, type, proto, flags) -> [[family, type, proto, canonname,
// address], ...] as Python's socket.getaddrinfo (address as AddressToJs gives it). host null:
// the wildcard (AI_PASSIVE) or loopback address; port a number, a service name, or null. It
// blocks while a name is resolved, as Python's does.
Napi::Value GetAddrInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool any_host = info[0].IsNull() || info[0].IsUndefined();
  if (!any_host && !info[0].IsString()) throw Napi::TypeError::New(env, "host must be a string or null");
  std::string host = any_host ? std::string() : info[0].As<Napi::String>().Utf8Value();
  std::string service;
  bool any_port = info[1].IsNull() || info[1].IsUndefined();
  if (info[1].IsNumber()) {
    service = std::to_string(ParsePort(info[1]));
  } else if (info[1].IsString()) {
    service = info[1].As<Napi::String>().Utf8Value();
  } else if (!any_port) {
    throw Napi::TypeError::New(env, "port must be a number, a service name or null");
  }
  addrinfo hints = {};
  hints.ai_family = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : AF_UNSPEC;
  hints.ai_socktype = info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 0;
  hints.ai_protocol = info[4].IsNumber() ? info[4].As<Napi::Number>().Int32Value() : 0;
  hints.ai_flags = info[5].IsNumber() ? info[5].As<Napi::Number>().Int32Value() : 0;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(any_host ? nullptr : host.c_str(), any_port ? nullptr : service.c_str(), &hints, &res);
  if (rc != 0) throw GaiError(env, rc, any_host ? service : host);
  Napi::Array list = Napi::Array::New(env);
  uint32_t n = 0;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    sockaddr_storage addr = {};
    std::memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    Napi::Array entry = Napi::Array::New(env, 5);
    entry.Set(0u, Napi::Number::New(env, ai->ai_family));
    entry.Set(1u, Napi::Number::New(env, ai->ai_socktype));
    entry.Set(2u, Napi::Number::New(env, ai->ai_protocol));
    entry.Set(3u, Napi::String::New(env, ai->ai_canonname != nullptr ? ai->ai_canonname : ""));
    entry.Set(4u, AddressToJs(env, addr, static_cast<socklen_t>(ai->ai_addrlen)));
    list.Set(n++, entry);
  }
  freeaddrinfo(res);
  return list;
}

}  // namespace asynchat
