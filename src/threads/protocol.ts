// What serveThreads() hands each thread (as workerData) and what a thread reports back.
/** How a thread serves its map: loop() (blocking) or loopAsync() (attached). */
export type ThreadMode = 'blocking' | 'attached';

/** workerData[THREAD_INIT]: everything a thread needs to start. */
export const THREAD_INIT = 'asynchat:serveThreads';

export interface ThreadInit {
  index: number;
  threads: number;
  host: string;
  /** 0 only for thread 0 when the caller asked for any free port. */
  port: number;
  mode: ThreadMode;
  /**
   * The read end of a socketpair whose write end serveThreads() keeps: its closing wakes the
   * thread's reactor in either mode (in blocking mode the thread's JavaScript never returns to
   * Node's loop, so no message could reach it). serveThreads() owns both fds and closes them
   * once the thread has exited; the thread only watches this one.
   */
  stopFd: number;
  data: unknown;
}

/** The one message a thread sends: it listens on `port`. */
export interface ListeningMessage {
  type: 'asynchat:listening';
  port: number;
}
