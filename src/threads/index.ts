// One server on N threads (worker_threads, one reactor and one SO_REUSEPORT listener each).
export { serveThreads, type ServeThreadsOptions, type ThreadInfo, type ThreadedServer } from './serve-threads';
export { runThread, isServedThread, type ThreadContext, type ThreadStart } from './run-thread';
export { reusePortOption, setReusePort } from './reuse-port';
export type { ThreadMode } from './protocol';
