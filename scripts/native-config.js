#!/usr/bin/env node
// The one description of the native build, read by binding.gyp (node-gyp) and by
// CMakeLists.txt (cmake-js), so that both compile the same sources with the same defines.
//
//   node scripts/native-config.js sources|defines|includes|libraries [--cmake]
//
// Output is one item per line for gyp's <!@(...), or a CMake list with --cmake.
// Environment:
//   ASYNCHAT_KQUEUE_INCLUDE, ASYNCHAT_KQUEUE_LIB  compile the kqueue backend on a platform
//     without kqueue, against an emulation library (a folder holding sys/event.h, and the
//     library to link).
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const native = (f) => `native/${f}`;

const sources = [
  'addon.cc',
  'addon_state.cc',
  'addresses.cc',
  'always_ready.cc',
  'attach.cc',
  'datagrams.cc',
  'errors.cc',
  'framer.cc',
  'framer_length.cc',
  'framer_netstring.cc',
  'framer_resp.cc',
  'parse_frames.cc',
  'poller.cc',
  'poller_epoll.cc',
  'poller_kqueue.cc',
  'poller_poll.cc',
  'reactor.cc',
  'scan.cc',
  'signal_watch.cc',
  'sockets.cc',
  'tls_connection.cc',
  'tls_context.cc',
  'tls_errors.cc',
  'tls_init.cc',
].map(native);

const kqueueInclude = process.env.ASYNCHAT_KQUEUE_INCLUDE || '';
const kqueueLib = process.env.ASYNCHAT_KQUEUE_LIB || '';
const nativeKqueue = ['darwin', 'freebsd', 'openbsd', 'netbsd'].includes(process.platform);

const defines = ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'];
if (process.platform === 'linux') defines.push('ASYNCHAT_HAVE_EPOLL');
if (nativeKqueue) defines.push('ASYNCHAT_HAVE_KQUEUE');
else if (kqueueInclude) defines.push('ASYNCHAT_HAVE_KQUEUE', 'ASYNCHAT_KQUEUE_EMULATED');

const includes = [require('node-addon-api').include_dir.replace(/^"|"$/g, '')];
if (kqueueInclude && !nativeKqueue) includes.push(path.resolve(kqueueInclude));

// TLS uses the OpenSSL inside Node: its headers ship in Node's include folder, and the symbols
// are resolved from the node binary when the addon loads (no second libssl is linked). Where
// the headers are missing (or ASYNCHAT_NO_TLS=1), the addon is built without TLS, and TLS calls
// throw ERR_ASYNCHAT_NO_TLS.
const tlsInclude = process.env.ASYNCHAT_NO_TLS === '1' ? null : opensslIncludeDir();
if (tlsInclude !== null) {
  defines.push('ASYNCHAT_HAVE_TLS');
  includes.push(tlsInclude);
}

const libraries = [];
if (kqueueLib && !nativeKqueue) libraries.push(path.resolve(kqueueLib));

// Node's own headers (uv.h) for builds whose header set lacks them (cmake-js uses the
// Node-API-only headers when package.json declares napi_versions).
function nodeIncludes() {
  const dir = path.resolve(process.execPath, '..', '..', 'include', 'node');
  return fs.existsSync(path.join(dir, 'uv.h')) ? [dir] : [];
}

// The Node header folder holding openssl/ssl.h: the one node-gyp builds against (nodedir), or
// the one next to the running node (what cmake-js and a system Node use).
function opensslIncludeDir() {
  const candidates = [];
  if (process.env.npm_config_nodedir) candidates.push(path.join(process.env.npm_config_nodedir, 'include', 'node'));
  candidates.push(path.resolve(process.execPath, '..', '..', 'include', 'node'));
  const cache = process.env.XDG_CACHE_HOME || path.join(require('node:os').homedir(), '.cache');
  candidates.push(path.join(cache, 'node-gyp', process.versions.node, 'include', 'node'));
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'openssl', 'ssl.h'))) return dir;
  }
  return null;
}

const what = process.argv[2];
const lists = { sources, defines, includes, libraries, 'node-includes': nodeIncludes(), tls: [tlsInclude ?? ''] };
if (!(what in lists)) {
  console.error(`usage: native-config.js ${Object.keys(lists).join('|')} [--cmake]`);
  process.exit(2);
}
const items = what === 'sources' && process.argv.includes('--cmake')
  ? lists[what].map((f) => path.join(root, f))
  : lists[what];
process.stdout.write(process.argv.includes('--cmake') ? items.join(';') : items.join('\n') + '\n');
