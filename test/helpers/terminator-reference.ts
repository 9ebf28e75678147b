// The reference for test/terminator.test.ts: a literal port of Python 3.11's
// async_chat.handle_read loop and find_prefix_at_end. Like the original it joins what it kept
// with each read (ac_in_buffer), searches from the start of the buffer every time, and slices
// (views here, copies in Python: the results are the same). The test also checks it against
// CPython itself when python3 with asynchat is installed.
//
// One deliberate difference, the fix this project makes (flaw 5 in the spec): once
// target.closed is true, no further callback is made. With stopWhenClosed = false it is
// Python's loop exactly.
import type { SplitterTarget } from '../../src/asynchat/input-splitter';

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

  constructor(private readonly stopWhenClosed = true) {}

  get pending(): number {
    return this.acInBuffer.length;
  }

  /** Python's discard_buffers, as far as input goes. */
  discard(): void {
    this.acInBuffer = Buffer.alloc(0);
  }

  /** handle_read after recv returned `data`. */
  feed(target: SplitterTarget, data: Buffer): void {
    const stop = (): boolean => this.stopWhenClosed && target.closed;
    if (stop()) return;
    this.acInBuffer = Buffer.concat([this.acInBuffer, data]);

    while (this.acInBuffer.length) {
      if (stop()) return;
      const lb = this.acInBuffer.length;
      const terminator = target.terminator;
      if (!terminator || (typeof terminator !== 'number' && terminator.length === 0)) {
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
}
