// The reference for test/terminator.test.ts: a literal port of Python 3.11's
// async_chat.handle_read loop and find_prefix_at_end. Like the original it joins what it kept
// with each read (ac_in_buffer), searches from the start of the buffer every time, and slices
// (views here, copies in Python: the results are the same). The test also checks it against
// CPython itself when python3 with asynchat is installed.
//
// One deliberate difference, the fix this project makes (flaw 5 in the spec): once
// target.closed is true, no further callback is made. With stopWhenClosed = false it is
// Python's loop exactly.
//
// Framer terminators have no Python original: their branch of the loop delivers one whole frame
// at a time, as framer-reference.ts reads it from the start of the buffer, with the same
// slicing rule (the frame is sliced off just before found_terminator, so an exception from a
// collect leaves it all in the buffer); a refused frame empties the buffer and its error is
// thrown again by every feed until discard().
import { Framer } from '../../src/asynchat/framers';
import type { SplitterTarget } from '../../src/asynchat/input-splitter';
import { referenceFrame, type RefFrame } from './framer-reference';

/** What the reference throws for a refused frame: the fields a test compares with the library's error. */
export class RefFrameError extends Error {
  constructor(
    readonly code: 'ERR_ASYNCHAT_BAD_FRAME' | 'ERR_ASYNCHAT_FRAME_TOO_LARGE',
    readonly details: Record<string, unknown>,
  ) {
    super(`${code} ${JSON.stringify(details)}`);
  }
}

function refError(r: Extract<RefFrame, { kind: 'bad' | 'tooLarge' }>): RefFrameError {
  if (r.kind === 'bad') {
    return new RefFrameError('ERR_ASYNCHAT_BAD_FRAME', { offset: r.offset, expected: r.expected, got: r.got, part: r.part });
  }
  return new RefFrameError('ERR_ASYNCHAT_FRAME_TOO_LARGE', { offset: r.offset, limit: r.limit, length: r.length, part: r.part });
}

/** Python's find_prefix_at_end, over bytes. */
export function referencePrefixAtEnd(haystack: Buffer, needle: Buffer): number {
  let l = needle.length - 1;
  while (l !== 0 && !endsWith(haystack, needle.subarray(0, l))) l--;
  return l;
}

/** bytes.endswith */
function endsWith(hay: Buffer, suffix: Buffer): boolean {
  const base = hay.length - suffix.length;
  if (base < 0) return false;
  for (let i = 0; i < suffix.length; i++) if (hay[base + i] !== suffix[i]) return false;
  return true;
}

export class ReferenceSplitter {
  acInBuffer: Buffer = Buffer.alloc(0);
  /** A refused frame's error, thrown by every feed until discard(). */
  failure: RefFrameError | null = null;
  private epoch = 0;

  constructor(private readonly stopWhenClosed = true) {}

  get pending(): number {
    return this.acInBuffer.length;
  }

  /** Python's discard_buffers, as far as input goes. */
  discard(): void {
    this.acInBuffer = Buffer.alloc(0);
    this.failure = null;
    this.epoch++;
  }

  /** handle_read after recv returned `data`. */
  feed(target: SplitterTarget, data: Buffer): void {
    const stop = (): boolean => this.stopWhenClosed && target.closed;
    if (stop()) return;
    if (this.failure !== null) throw this.failure;
    this.acInBuffer = Buffer.concat([this.acInBuffer, data]);

    while (this.acInBuffer.length) {
      if (stop()) return;
      const lb = this.acInBuffer.length;
      const terminator = target.terminator;
      if (terminator instanceof Framer) {
        if (!this.frame(target, terminator, stop)) return;
      } else if (!terminator || (typeof terminator !== 'number' && terminator.length === 0)) {
        // no terminator, collect it all
        target.collectIncomingData(this.acInBuffer);
        this.acInBuffer = Buffer.alloc(0);
      } else if (typeof terminator === 'number') {
        // numeric terminator
        const n = terminator;
        if (lb < n) {
          target.collectIncomingData(this.acInBuffer);
          this.acInBuffer = Buffer.alloc(0);
          target.terminator = (target.terminator as number) - lb;
        } else {
          target.collectIncomingData(this.acInBuffer.subarray(0, n));
          this.acInBuffer = this.acInBuffer.subarray(n);
          target.terminator = 0;
          if (stop()) return;
          target.foundTerminator();
        }
      } else {
        const terminatorLen = terminator.length;
        let index = this.acInBuffer.indexOf(terminator);
        if (index !== -1) {
          // we found the terminator
          if (index > 0) {
            // don't bother reporting the empty string (source of subtle bugs)
            target.collectIncomingData(this.acInBuffer.subarray(0, index));
          }
          this.acInBuffer = this.acInBuffer.subarray(index + terminatorLen);
          if (stop()) return;
          // This does the Right Thing if the terminator is changed here.
          target.foundTerminator();
        } else {
          // check for a prefix of the terminator
          index = referencePrefixAtEnd(this.acInBuffer, terminator);
          if (index) {
            if (index !== lb) {
              // we found a prefix, collect up to the prefix
              target.collectIncomingData(this.acInBuffer.subarray(0, lb - index));
              this.acInBuffer = this.acInBuffer.subarray(lb - index);
            }
            break;
          } else {
            // no prefix, collect it all
            target.collectIncomingData(this.acInBuffer);
            this.acInBuffer = Buffer.alloc(0);
          }
        }
      }
    }
  }

  /** One frame at the start of the buffer; false when the loop stops (incomplete, closed, discarded). */
  private frame(target: SplitterTarget, framer: Framer, stop: () => boolean): boolean {
    const r = referenceFrame(framer, this.acInBuffer);
    if (r.kind === 'incomplete') return false;
    if (r.kind === 'none') {
      this.acInBuffer = this.acInBuffer.subarray(r.length);
      return true;
    }
    if (r.kind === 'frame') {
      const epoch = this.epoch;
      for (const field of r.fields) {
        target.collectIncomingData(field);
        if (stop() || this.epoch !== epoch) return false;
      }
      this.acInBuffer = this.acInBuffer.subarray(r.length);
      target.foundTerminator();
      return this.epoch === epoch;
    }
    this.acInBuffer = Buffer.alloc(0);
    throw (this.failure = refError(r));
  }
}
