// The channel's read: one recv into the caller's memory, and, for a run of short records, the
// search for them in the same crossing. Reading belongs to the channel, not to the record
// parser: this is where other sources of bytes (TLS, completions) would come in.
import type { InputSplitter } from './input-splitter';
import type { Terminator } from './terminator';
import type { TlsReader } from './scan-cache';

/**
 * Reads from fd into memory[offset, offset + size) for `splitter`, with native.recv's contract
 * (bytes read, 0 at end of stream, -1 when nothing was there; errors throw). When the splitter
 * would scan the chunk natively anyway, the scan is made in the same crossing, and the feed of
 * that chunk (memory, offset) starts from its results. `bytes` is memory.buffer, when the
 * caller has it at hand. With `tls`, the bytes are the plaintext it decrypts from fd.
 */
export function receive(
  splitter: InputSplitter, fd: number, memory: Buffer, offset: number, size: number, t: Terminator,
  bytes?: ArrayBufferLike, tls?: TlsReader,
): number {
  return splitter.scans.receive(fd, memory, offset, size, splitter.canScanAhead(t) ? t : null, bytes, tls);
}
