// Which signals end a blocking loop(): those the program listens for (process.on('SIGTERM')),
// among the signals whose default action ends the process. The reactor learns them here
// (native/signal_watch.h), as soon as a listener is added or removed, so that a signal that
// arrives before loop() is called, or between two of its waits, still ends it.
//
// A listener for a signal that does not end a process (SIGCHLD, SIGWINCH: Node itself listens
// for it while stdout is a terminal) is a notification and stops nothing. SIGPIPE neither:
// Node ignores it. Only the main thread watches: Node delivers signals to no worker.
import { constants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { native } from '../binding/native';

const NOTIFICATIONS = new Set([
  'SIGCHLD', 'SIGCLD', 'SIGCONT', 'SIGURG', 'SIGWINCH', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGINFO', 'SIGPIPE',
  'SIGKILL', 'SIGSTOP',
]);

/** Signal name -> number, for the signals a listener makes stop loop(). */
const stopping = new Map<string, number>(
  Object.entries(constants.signals as Record<string, number>).filter(([name]) => !NOTIFICATIONS.has(name)),
);

let watched = '';  // the numbers last given to the reactor, joined
let failure: unknown = null;

function listened(adding?: string): number[] {
  const numbers = new Set<number>();
  for (const [name, signum] of stopping) {
    if (name === adding || process.listenerCount(name) > 0) numbers.add(signum);
  }
  return [...numbers].sort((a, b) => a - b);
}

// `adding`: the signal a listener is being added for ('newListener' comes before the add).
function sync(adding?: string): void {
  const numbers = listened(adding);
  const key = numbers.join(',');
  if (key === watched && failure === null) return;
  try {
    native.watchSignals(numbers);
    watched = key;
    failure = null;
  } catch (err) {
    // Not thrown from the program's process.on(): loop() throws it (stopSignalsReady).
    failure = err;
  }
}

if (isMainThread) {
  process.on('newListener', (event: string | symbol) => {
    if (typeof event === 'string' && stopping.has(event)) sync(event);
  });
  process.on('removeListener', (event: string | symbol) => {
    if (typeof event === 'string' && stopping.has(event)) sync();
  });
  sync();
}

/**
 * Called as loop() or poll() starts: throws what kept the reactor from watching the signals the
 * program listens for (EMFILE, say), after one more try, rather than block where it cannot stop.
 */
export function stopSignalsReady(): void {
  if (failure === null) return;
  sync();
  if (failure !== null) throw failure;
}

/** The name of a signal number the reactor stopped for, as the program's listener has it. */
export function signalName(signum: number): NodeJS.Signals {
  let first: string | undefined;
  for (const [name, n] of stopping) {
    if (n !== signum) continue;
    if (process.listenerCount(name) > 0) return name as NodeJS.Signals;
    first ??= name;
  }
  return (first ?? `SIG${signum}`) as NodeJS.Signals;
}
