// Python's asyncore.compact_traceback, for JavaScript errors: the innermost frame, the error's
// type and message, and a one-line summary of the stack from the outermost frame inwards.
/** Python's compact_traceback result: ((file, function, line), type, value, info). */
export type CompactTraceback = [[file: string, func: string, line: string], type: string, value: string, info: string];

const FRAME = /^\s*at (?:(.*?) \()?(.*?):(\d+):\d+\)?$/;

/** Python's asyncore.compact_traceback for a JavaScript error (handleError's log line is made of it). */
export function compactTraceback(err: unknown): CompactTraceback {
  const error = err instanceof Error ? err : new Error(String(err));
  const frames: [string, string, string][] = [];
  for (const line of (error.stack ?? '').split('\n').slice(1)) {
    const m = FRAME.exec(line);
    if (m) frames.push([m[2], m[1] ?? '?', m[3]]);
  }
  if (frames.length === 0) frames.push(['?', '?', '?']);
  frames.reverse();
  const info = frames.map(([file, func, line]) => `[${file}|${func}|${line}]`).join(' ');
  const type = error.constructor?.name ?? error.name;
  return [frames[frames.length - 1], type, error.message, info];
}
