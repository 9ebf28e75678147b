// The record loop for framer terminators: InputSplitter hands it the rest of a chunk while the
// target's terminator is a Framer, and takes the rest back at the first frame boundary where it
// is not (or the input is paused).
//
// One native call parses a whole read into frames and fields (int32 pairs in a shared array);
// each field is delivered as a view of the chunk, made from those offsets, and foundTerminator()
// ends each frame. A frame is delivered only once it is whole and valid: one that a read leaves
// unfinished is kept (its bytes copied once into a buffer of its own, sized from what its header
// says), and the parser resumes where it stopped when the next read comes.
//
// Python's contract, as InputSplitter keeps it for the other terminators: the terminator is
// read afresh after every frame; nothing is delivered once the target is closed or after
// discard(); an exception from a callback leaves what was not delivered (the frame it was
// thrown in, unless it came from foundTerminator) for the next feed, as raw bytes.
import { BufferView } from '../engine/buffer-view';
import { native } from '../binding/native';
import { frameRefusal } from './frame-errors';
import { Framer } from './framers';
import { unquoteInline } from './inline-words';
import type { KeptBytes } from './kept-bytes';
import type { SplitterTarget } from './input-splitter';

const F = native.framing;
const PHASE = F.slots.phase;
const AT = F.slots.at;
const ARGS_LEFT = F.slots.argsLeft;
const LENGTH = F.slots.length;
const SCANNED = F.slots.scanned;
const STATUS = F.slots.status;
const STOP = F.slots.stop;
const NEED = F.slots.need;
const PARTIAL = F.slots.partial;
const CONFIG = F.slots.config;
const POS = F.slots.pos;
const END_AT = F.slots.end;
const MAX_FRAMES_SLOT = F.slots.maxFrames;
const COUNT = F.slots.count;
const END = F.status.end;
const FULL = F.status.full;
const MORE = F.status.more;
/** results: (SKIPPED, end) for bytes that held no frame ("*0\r\n"), consumed. */
const SKIPPED = -2;

/**
 * What parseFrames() reads and writes, shared by every FrameSplitter of this thread and
 * registered once with the addon: io holds the parser's state and the config of the framer it
 * parses with, results the fields and frame ends (32 KiB each per channel would add up). A
 * splitter owns them from its parse call until another splitter's call (one fed from inside a
 * callback) takes them; it then parses again from the frame it is delivering. The state of an
 * unfinished frame is the splitter's own, copied out after the call that leaves it.
 * @internal exported for the tests of the native contract
 */
export const io = new Float64Array(F.slots.ioLength);
/** @internal */
export const results = new Int32Array(8192);
native.framingArrays(io, results);
let owner: FrameSplitter | null = null;
/** The framer whose config io holds. */
let loaded: Framer | null = null;

/**
 * native.parseFrames of buf[pos, end) for `framer` (its config loaded into io when another
 * framer's was there): how many int32 of results hold complete frames. @internal
 */
export function parseFrames(framer: Framer, buf: Uint8Array, pos: number, end: number, maxFrames: number): number {
  if (loaded !== framer) {
    const config = Framer.config(framer);
    for (let i = 0; i < F.slots.configWords; i++) io[CONFIG + i] = i < config.length ? config[i] : 0;
    loaded = framer;
  }
  io[POS] = pos;
  io[END_AT] = end;
  io[MAX_FRAMES_SLOT] = maxFrames;
  native.parseFrames(buf);
  return io[COUNT];
}

/** Frames found per native call, at most: the look-ahead grows to this with a run of frames. */
const MAX_FRAMES = 1024;
/** Bytes of a read joined to an unfinished frame at a time, when its parser cannot say how many it needs. */
const JOIN_STEP = 4096;
const EMPTY = Buffer.alloc(0);

/** At a frame boundary: the rest goes back to InputSplitter (another terminator, or input paused). */
function handsBack(target: SplitterTarget, framer: Framer): boolean {
  return target.terminator !== framer || target.inputPaused === true;
}

export class FrameSplitter {
  private epoch = 0;
  /** The last refused frame's error (thrown by the parse, not a callback: nothing to keep for it). */
  private refusal: Error | null = null;
  /** Frames delivered in a row with runFramer: how far a parse call may look ahead (what it finds beyond a change of terminator is thrown away). */
  private run = 0;
  private runFramer: Framer | null = null;

  // An unfinished frame: its bytes part[partStart, partEnd), its fields found so far (pairs of
  // positions in part), what the parser still needs, the framer it is parsed with.
  private partOf: Framer | null = null;
  private part: Buffer = EMPTY;
  private partBytes: ArrayBufferLike = EMPTY.buffer;
  private partStart = 0;
  private partEnd = 0;
  private partNeed = 0;
  private partFields: number[] = [];
  // The parser's state where it stopped in the unfinished frame (io's resume slots).
  private resumePhase = 0;
  private resumeAt = 0;
  private resumeArgsLeft = 0;
  private resumeLength = 0;
  private resumeScanned = 0;

  /**
   * `kept`: where the bytes a callback's exception leaves undelivered go (InputSplitter's);
   * `onRefuse`: makes every later feed throw a refused frame's error until discard()
   * (InputSplitter.refuse).
   */
  constructor(private readonly kept: KeptBytes, private readonly onRefuse: (err: Error) => void) {}

  /** Bytes of an unfinished frame, kept back from earlier reads. */
  get pending(): number {
    return this.partOf === null ? 0 : this.partEnd - this.partStart;
  }

  /** The framer an unfinished frame is parsed with (null: none is kept). */
  get pendingFramer(): Framer | null {
    return this.partOf;
  }

  /**
   * The terminator is no longer the framer an unfinished frame was parsed with: its bytes are
   * unread input again, for whatever the terminator is now (they join the next chunk).
   */
  giveBack(): void {
    if (this.partOf === null) return;
    this.kept.keep(this.part, this.partStart, this.partEnd, null);
    this.dropPartial();
  }

  /** Drops an unfinished frame (discard_buffers), and stops a delivery in progress. */
  discard(): void {
    this.epoch++;
    this.dropPartial();
  }

  /** Drops an unfinished frame (the channel closed, or its input was refused). */
  drop(): void {
    this.dropPartial();
  }

  /**
   * Delivers the frames of buf[pos, end) for `framer`, the target's terminator, and returns where
   * the terminator stopped being it (or the input was paused), for InputSplitter to go on from;
   * -1 when the chunk is used up (an unfinished frame kept) or the target was closed or discarded.
   * `ab` and `base` are buf's memory and offset in it, for the views. Throws a refused frame's
   * error once the frames before it are delivered; an exception from a callback leaves what was
   * not delivered in `kept`.
   */
  feed(target: SplitterTarget, framer: Framer, buf: Buffer, pos: number, end: number, ab: ArrayBufferLike, base: number): number {
    const epoch = this.epoch;
    if (framer !== this.runFramer) this.startRun(framer);
    if (this.partOf !== null) {
      pos = this.finishPartial(target, framer, buf, pos, end, epoch);
      if (pos < 0) return -1;
    }
    let frameAt = pos;  // the first byte not delivered: the frame being delivered starts there
    try {
      while (pos < end) {
        if (target.closed || this.epoch !== epoch) return -1;
        if (handsBack(target, framer)) return this.endRun(pos, target, framer);
        io[PHASE] = 0;  // at a frame boundary
        let n = parseFrames(framer, buf, pos, end, this.lookAhead());
        owner = this;
        let fields = 0;  // of the frame at frameAt, delivered
        for (let i = 0; i < n; i += 2) {
          const a = results[i];
          const b = results[i + 1];
          if (a >= 0) {
            target.collectIncomingData(b >= 0 ? new BufferView(ab, base + a, b) : unquoteInline(buf, a, -1 - b));
            fields++;
          } else if (a === SKIPPED) {
            frameAt = pos = b;  // no frame, nothing to deliver: consumed
            continue;
          } else {
            // Whole and delivered: what remains starts after it (Python slices its buffer before found_terminator).
            frameAt = pos = b;
            fields = 0;
            this.run++;
            target.foundTerminator();
            if (target.closed || this.epoch !== epoch) return -1;
            if (handsBack(target, framer)) return this.endRun(pos, target, framer);
          }
          if (target.closed || this.epoch !== epoch) return -1;
          if (owner !== this) {
            // A callback made another splitter parse: the same call again, from the frame being delivered.
            io[PHASE] = 0;
            n = parseFrames(framer, buf, frameAt, end, this.lookAhead());
            owner = this;
            i = 2 * fields - 2;
          }
        }
        const status = io[STATUS];
        if (status === END) return -1;
        if (status === FULL) {
          pos = io[STOP];
        } else if (status === MORE) {
          // From here the unfinished frame's own bookkeeping says what is undelivered.
          this.keepPartial(framer, buf, io[STOP], end, n);
          frameAt = end;
          pos = this.finishPartial(target, framer, buf, end, end, epoch);
          if (pos < 0) return -1;
          frameAt = pos;
        } else {
          throw this.refuse(framer);
        }
      }
      return -1;
    } catch (err) {
      if (err !== this.refusal && this.epoch === epoch && !target.closed) this.kept.keep(buf, frameAt, end, null);
      throw err;
    }
  }

  /** Frames a parse call may find: as many as the run has delivered (at least 1, at most MAX_FRAMES). */
  private lookAhead(): number {
    const run = this.run;
    return run === 0 ? 1 : run < MAX_FRAMES ? run : MAX_FRAMES;
  }

  /** A run of frames with this framer starts (or goes on after another framer). */
  private startRun(framer: Framer): void {
    this.runFramer = framer;
    this.run = 0;
  }

  /** The terminator changed (or input paused) at a frame boundary: a new run starts when the framer is back. */
  private endRun(pos: number, target: SplitterTarget, framer: Framer): number {
    if (target.terminator !== framer) this.run = 0;
    return pos;
  }

  /** The chunk ends inside a frame starting at `at`: its bytes so far and the fields found in them are kept. */
  private keepPartial(framer: Framer, buf: Buffer, at: number, end: number, n: number): void {
    this.saveResume();
    const need = io[NEED];
    const bytes = end - at;
    this.partOf = framer;
    this.part = Buffer.allocUnsafeSlow(Math.max(64, bytes + need));
    this.partBytes = this.part.buffer;
    buf.copy(this.part, 0, at, end);
    this.partStart = 0;
    this.partEnd = bytes;
    this.partNeed = need;
    const fields = this.partFields;
    fields.length = 0;
    for (let i = n, last = n + io[PARTIAL]; i < last; i += 2) fields.push(results[i] - at, results[i + 1]);
  }

  /** The parser stopped inside the unfinished frame: where, for the call that goes on with it. */
  private saveResume(): void {
    this.resumePhase = io[PHASE];
    this.resumeAt = io[AT];
    this.resumeArgsLeft = io[ARGS_LEFT];
    this.resumeLength = io[LENGTH];
    this.resumeScanned = io[SCANNED];
  }

  private restoreResume(): void {
    io[PHASE] = this.resumePhase;
    io[AT] = this.resumeAt;
    io[ARGS_LEFT] = this.resumeArgsLeft;
    io[LENGTH] = this.resumeLength;
    io[SCANNED] = this.resumeScanned;
  }

  /**
   * Goes on with the unfinished frame: joins bytes of buf[pos, end) to it, as many as the parser
   * needs, and parses again from where it stopped. Returns the position in buf after the frame
   * once it is delivered, or -1 (buf used up, or the target closed or discarded).
   */
  private finishPartial(target: SplitterTarget, framer: Framer, buf: Buffer, pos: number, end: number, epoch: number): number {
    for (;;) {
      const need = this.partNeed;
      if (need > 0) {
        if (pos === end) return -1;
        const k = Math.min(end - pos, need > JOIN_STEP ? need : JOIN_STEP);
        this.join(buf, pos, pos + k, need);
        pos += k;
      }
      this.restoreResume();
      const n = parseFrames(framer, this.part, this.partStart, this.partEnd, 1);
      owner = this;
      const fields = this.partFields;
      for (let i = 0; i < n; i += 2) {
        const a = results[i];
        if (a >= 0) {
          fields.push(a, results[i + 1]);
        } else if (a === SKIPPED) {
          this.partStart = results[i + 1];  // bytes that held no frame ("*0\r\n"): consumed
        } else {
          const frameEnd = results[i + 1];
          return this.deliverPartial(target, buf, pos - (this.partEnd - frameEnd), end, frameEnd, epoch);
        }
      }
      const status = io[STATUS];
      if (status === END) {
        this.dropPartial();
        return pos;
      }
      if (status !== MORE) {
        this.dropPartial();
        throw this.refuse(framer);
      }
      this.saveResume();
      this.partStart = io[STOP];
      for (let i = n, last = n + io[PARTIAL]; i < last; i += 2) fields.push(results[i], results[i + 1]);
      this.partNeed = io[NEED];
    }
  }

  /**
   * Delivers the now whole frame part[partStart, frameEnd) from its kept fields; `rest` is where
   * buf goes on after it. Returns rest, or -1 once the target is closed or discarded.
   */
  private deliverPartial(target: SplitterTarget, buf: Buffer, rest: number, end: number, frameEnd: number, epoch: number): number {
    const part = this.part;
    const ab = this.partBytes;
    const fields = this.partFields;
    // What was not delivered, should a callback throw: the frame, then (once found) only what follows it.
    let undelivered = this.partStart;
    const partEnd = this.partEnd;
    this.partFields = [];
    this.partOf = null;
    try {
      for (let i = 0; i < fields.length; i += 2) {
        const a = fields[i];
        const b = fields[i + 1];
        target.collectIncomingData(b >= 0 ? new BufferView(ab, a, b) : unquoteInline(part, a, -1 - b));
        if (target.closed || this.epoch !== epoch) return -1;
      }
      undelivered = frameEnd;
      this.run++;
      target.foundTerminator();
    } catch (err) {
      if (this.epoch === epoch && !target.closed) {
        // The frame's bytes read past its end came from buf[.., rest + (partEnd - frameEnd)).
        this.kept.keep(part, undelivered, partEnd, null);
        this.kept.keep(buf, rest + (partEnd - frameEnd), end, null);
      }
      throw err;
    } finally {
      this.dropPartial();
    }
    return target.closed || this.epoch !== epoch ? -1 : rest;
  }

  /** Appends buf[from, to) to the unfinished frame, in a larger buffer if need be (sized for `need` more). */
  private join(buf: Buffer, from: number, to: number, need: number): void {
    const k = to - from;
    if (this.partEnd + k > this.part.length) {
      const have = this.partEnd - this.partStart;
      const bigger = Buffer.allocUnsafeSlow(Math.max(have + Math.max(need, k), 2 * have));
      this.part.copy(bigger, 0, this.partStart, this.partEnd);
      const shift = this.partStart;
      const fields = this.partFields;
      for (let i = 0; i < fields.length; i += 2) fields[i] -= shift;
      this.part = bigger;
      this.partBytes = bigger.buffer;
      this.partStart = 0;
      this.partEnd = have;
    }
    buf.copy(this.part, this.partEnd, from, to);
    this.partEnd += k;
  }

  /** The refusal the last parse call reported: every later feed throws it until discard(). */
  private refuse(framer: Framer): Error {
    this.dropPartial();
    const err = frameRefusal(framer, io);
    this.refusal = err;
    this.onRefuse(err);
    return err;
  }

  private dropPartial(): void {
    // The buffer is let go, not reused: views of the frames delivered from it may be kept.
    this.partOf = null;
    this.part = EMPTY;
    this.partBytes = EMPTY.buffer;
    this.partStart = this.partEnd = this.partNeed = 0;
    this.partFields.length = 0;
  }
}
