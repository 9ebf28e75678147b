// The channel's read for its records: one read through the channel's transport into the
// caller's memory, and, for a run of short records, the search for them in the same crossing.
// Reading belongs to the transport (the socket, TLS, a recv() override); when a scan pays
// belongs to the splitter's ScanCache, which does no I/O.
import type { Transport } from '../engine/transport';
import type { InputSplitter } from './input-splitter';
import { SCAN_RESULTS } from './scan-cache';
import type { Terminator } from './terminator';

/**
 * Reads through `transport` into memory[offset, offset + size) for `splitter`, with
 * native.recv's contract (bytes read, 0 at end of stream, -1 when nothing was there; errors
 * throw). When the splitter would scan the chunk natively anyway, the scan is made in the same
 * crossing, and the feed of that chunk (memory, offset) starts from its results. `bytes` is
 * memory.buffer, when the caller has it at hand.
 */
export function receive(
  splitter: InputSplitter, transport: Transport, memory: Buffer, offset: number, size: number, t: Terminator,
  bytes?: ArrayBufferLike,
): number {
  const scans = splitter.scans;
  const max = splitter.canScanAhead(t) ? scans.planRead(t, offset + size) : 0;
  if (max === 0) return scans.noteRead(transport.read(memory, offset, size));
  const n = transport.readScan(memory, offset, size, t as Uint8Array, SCAN_RESULTS, max, scans.readScanMin());
  return scans.noteScannedRead(n, bytes ?? memory.buffer, offset, t as Uint8Array, max);
}
