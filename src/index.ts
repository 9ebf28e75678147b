// asynchat: Python's asyncore and asynchat for Node.js, on a native reactor.
export * from './socket';
export * from './asyncore';
export * as asyncore from './asyncore';
export * from './asynchat-module';
export * as asynchat from './asynchat-module';
export { AsynchatError, isSystemError, strerror, systemError, type SystemError } from './errors';
export { native, addonPath, type NativeStats } from './native';
export { stats, resetStats, backends, defaultBackend } from './reactor';
