#pragma once
#include <napi.h>
namespace asynchat {
// recvfrom, sendto, pending, inetPton/inetNtop and the datagram socket options' constants
// (added to exports.constants, which InitSockets made).
void InitDatagrams(Napi::Env env, Napi::Object exports);
}
