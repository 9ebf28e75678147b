// Picks a backend by name. Which ones exist is decided at compile time by the ASYNCHAT_HAVE_*
// defines that binding.gyp and CMakeLists.txt set alike.
#include "poller.h"

#include <cerrno>

namespace asynchat {

const char* DefaultPollerName() {
#if defined(ASYNCHAT_HAVE_EPOLL)
  return "epoll";
#elif defined(ASYNCHAT_HAVE_KQUEUE) && !defined(ASYNCHAT_KQUEUE_EMULATED)
  return "kqueue";
#else
  return "poll";
#endif
}

const char* AvailablePollers() {
  return ""
#if defined(ASYNCHAT_HAVE_EPOLL)
         "epoll,"
#endif
#if defined(ASYNCHAT_HAVE_KQUEUE)
         "kqueue,"
#endif
         "poll";
}

std::unique_ptr<Poller> CreatePoller(const std::string& requested, int* err) {
  const std::string name = requested.empty() ? DefaultPollerName() : requested;
  if (name == "epoll") return CreateEpollPoller(err);
  if (name == "kqueue") return CreateKqueuePoller(err);
  if (name == "poll") return CreatePollPoller(err);
  *err = EINVAL;
  return nullptr;
}

#if !defined(ASYNCHAT_HAVE_EPOLL)
std::unique_ptr<Poller> CreateEpollPoller(int* err) {
  *err = ENOSYS;
  return nullptr;
}
#endif

#if !defined(ASYNCHAT_HAVE_KQUEUE)
std::unique_ptr<Poller> CreateKqueuePoller(int* err) {
  *err = ENOSYS;
  return nullptr;
}
#endif

}  // namespace asynchat
