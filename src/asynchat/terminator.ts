// Terminators: what setTerminator accepts, normalized, and the byte comparisons that finding
// them needs (Python's find_prefix_at_end among them). The record loop that uses them is
// InputSplitter (input-splitter.ts).
import { asynchatError } from '../errors';
import { Framer } from './framers';

const EMPTY = Buffer.alloc(0);

/** A normalized terminator: a non-empty Buffer, a byte count (integer >= 0), null, or a Framer. */
export type Terminator = Buffer | number | null | Framer;

/**
 * What a terminator may be set to: a string (encoded, UTF-8 unless `encoding` is given), bytes
 * (copied), a non-negative integer, null/undefined, or a Framer (as it is). Empty strings and
 * bytes become null: Python treats a falsy terminator as "collect everything".
 */
export function normalizeTerminator(
  t: string | Uint8Array | number | null | undefined | Framer,
  encoding?: BufferEncoding,
): Terminator {
  if (t === null || t === undefined) return null;
  if (t instanceof Framer) return t;
  if (typeof t === 'string') {
    const b = t.length === 0 ? EMPTY : Buffer.from(t, encoding ?? 'utf8');
    return b.length === 0 ? null : b;
  }
  if (typeof t === 'number') {
    if (Number.isSafeInteger(t) && t >= 0) return t + 0;  // + 0: -0 becomes 0
    throw asynchatError(
      'ERR_ASYNCHAT_BAD_TERMINATOR',
      `the number of received bytes must be a non-negative integer, got ${t}`,
    );
  }
  if (t instanceof Uint8Array) return t.length === 0 ? null : Buffer.from(t);
  throw asynchatError(
    'ERR_ASYNCHAT_BAD_TERMINATOR',
    `a terminator must be a string, bytes, a non-negative integer, null or a framer, got ${describe(t)}`,
    'TypeError',
  );
}

/**
 * Python's find_prefix_at_end: the length of the longest proper prefix of `needle` that
 * `haystack` ends with (0 if none). Strings are compared as strings when both are strings, and
 * encoded as UTF-8 otherwise. As in Python, an empty needle gives -1.
 */
export function findPrefixAtEnd(haystack: Uint8Array | string, needle: Uint8Array | string): number {
  if (typeof haystack === 'string' && typeof needle === 'string') {
    let l = needle.length - 1;
    while (l > 0 && !haystack.endsWith(needle.slice(0, l))) l--;
    return l;
  }
  const hay = typeof haystack === 'string' ? Buffer.from(haystack) : haystack;
  const t = typeof needle === 'string' ? Buffer.from(needle) : needle;
  if (t.length === 0) return -1;
  return prefixAtEnd(hay, 0, hay.length, t, failureTable(t));
}

/**
 * A framer, given a terminator that is neither a count nor null. A Framer has no length: one
 * comparison tells it from bytes, where an instanceof on every record would walk Buffer's
 * prototype chain (the record loop asks this once per record).
 */
export function isFramer(t: Buffer | Framer): t is Framer {
  return (t as Buffer).length === undefined;
}

/** A byte terminator (a non-empty Buffer), as opposed to a count, null or a framer. */
export function isBytes(t: Terminator | undefined): t is Buffer {
  return t !== null && typeof t === 'object' && (t as Buffer).length > 0;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  if (n > 32) return Buffer.compare(a, b) === 0;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** KMP: f[i] is the length of the longest proper border of t[0..i]. */
export function failureTable(t: Uint8Array): Int32Array {
  const f = new Int32Array(t.length);
  let k = 0;
  for (let i = 1; i < t.length; i++) {
    while (k > 0 && t[i] !== t[k]) k = f[k - 1];
    if (t[i] === t[k]) k++;
    f[i] = k;
  }
  return f;
}

/**
 * The longest l < t.length, l <= end - start, with buf[end - l, end) == t[0, l). Short
 * terminators are compared directly; long ones walk KMP over the last t.length - 1 bytes, which
 * keeps the work linear in the terminator's length.
 */
export function prefixAtEnd(buf: Uint8Array, start: number, end: number, t: Uint8Array, fail: Int32Array | null): number {
  const m = t.length;
  const l = Math.min(m - 1, end - start);
  if (l <= 0) return 0;
  if (fail === null) {
    for (let n = l; n > 0; n--) {
      const base = end - n;
      let j = 0;
      while (j < n && buf[base + j] === t[j]) j++;
      if (j === n) return n;
    }
    return 0;
  }
  let s = 0;
  for (let i = end - l; i < end; i++) {
    const c = buf[i];
    while (s > 0 && t[s] !== c) s = fail[s - 1];
    if (t[s] === c) s++;
    if (s === m) s = fail[m - 1];
  }
  return s;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
