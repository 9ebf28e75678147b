// asynchat: Python's asyncore and asynchat for Node.js, on a native reactor.
export * from './binding/socket';
export * from './binding/create-socket';
export * from './asyncore';
export * as asyncore from './asyncore';
export * from './asynchat';
export * as asynchat from './asynchat';
export * from './tls';
export {
  AsynchatError, isSystemError, strerror, systemError, timeoutError, SSL_ERROR_EOF, SSL_ERROR_SSL, SSL_ERROR_SYSCALL,
  type SystemError, type TlsErrorFields,
} from './errors';
export {
  native, addonPath, type NativeAddon, type NativeConstants, type NativeFraming, type NativeReactor, type NativeStats,
  type NativeTlsConnection, type RawAddress,
} from './binding/native';
export { stats, resetStats, backends, defaultBackend } from './binding/backends';
export * from './threads';
