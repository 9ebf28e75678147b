// The asyncore module, as one namespace: `import { asyncore } from 'asynchat'`.
export { socketMap, Dispatcher, DispatcherWithSend, type AnyDispatcher, type SocketLike } from './dispatcher';
export { FileWrapper, FileDispatcher } from './file-dispatcher';
export { DATAGRAM_READS_PER_EVENT } from './datagram';
export { loop, loopAsync, poll, poll2, poll3, closeAll, type LoopOptions, type LoopAsyncOptions } from './loop';
export { callLater, callAt, now, setTimerErrorHandler, TimerHandle, type TimerOptions } from './timers';
export type { TimerErrorHandler } from '../engine/map-state';
export { readwrite, type Channel, type SocketMap } from '../engine/map-state';
export { ExitNow, DISCONNECTED } from '../errors';
export { compactTraceback, type CompactTraceback } from './traceback';
