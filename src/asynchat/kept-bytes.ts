// The bytes a splitter keeps back between reads: a possible partial terminator at the end of a
// read (Python keeps it at the end of ac_in_buffer), or, after a callback threw, the rest of the
// chunk that was not delivered.
//
// They live in an append-only arena: nothing written there is ever rewritten, so views of it
// may be handed to the user, who may keep them. A full arena is replaced, not reused.
const EMPTY = Buffer.alloc(0);

export class KeptBytes {
  private arena: Buffer = EMPTY;
  private used = 0;
  private start = 0;
  /** The terminator the kept bytes are a proper prefix of; null when they are arbitrary bytes. */
  private prefixOf: Uint8Array | null = null;

  get length(): number {
    return this.used - this.start;
  }

  /** The terminator they are a partial match of, or null (arbitrary bytes, or none). */
  get partialOf(): Uint8Array | null {
    return this.prefixOf;
  }

  /** Appends buf[from, to); `partialOf` says what they are (see the getter). */
  keep(buf: Uint8Array, from: number, to: number, partialOf: Uint8Array | null): void {
    const n = to - from;
    this.prefixOf = partialOf;
    if (n === 0) return;
    if (this.used + n > this.arena.length) {
      // A new arena; the old one is left as it is, for the views handed out of it.
      const live = this.length;
      const next = Buffer.allocUnsafe(Math.max(64, 2 * (live + n)));
      this.arena.copy(next, 0, this.start, this.used);
      this.arena = next;
      this.start = 0;
      this.used = live;
    }
    this.arena.set(buf.subarray(from, to), this.used);
    this.used += n;
  }

  /** A view of the first n kept bytes, which stay kept until take() or drop(). */
  view(n: number): Buffer {
    return this.arena.subarray(this.start, this.start + n);
  }

  /** The first n kept bytes are delivered: they are kept no more. */
  take(n: number): void {
    this.start += n;
  }

  /** Copies the kept bytes to target[at]; returns how many. */
  copyTo(target: Buffer, at: number): number {
    return this.arena.copy(target, at, this.start, this.used);
  }

  /** Drops every kept byte. */
  drop(): void {
    this.start = this.used;
    this.prefixOf = null;
  }
}
