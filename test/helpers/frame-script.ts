// A scripted SplitterTarget for the framer tests: it records every callback, and at chosen
// callbacks switches its terminator, closes, discards, throws or pauses its input. The same
// script runs over the library's InputSplitter (and so its FrameSplitter) and over the slow
// reference (terminator-reference.ts), chunk by chunk, and the two outcomes must be equal.
import { expect } from 'vitest';
import { InputSplitter, type SplitterTarget } from '../../src/asynchat/input-splitter';
import { Framer } from '../../src/asynchat/framers';
import type { Terminator } from '../../src/asynchat/terminator';
import { ReferenceSplitter } from './terminator-reference';

export type FrameEvent = ['collect', string] | ['found'] | ['throw'] | ['error', string, Record<string, unknown>];

export interface Splitter {
  feed(target: SplitterTarget, chunk: Buffer): void;
  discard(): void;
  readonly pending: number;
}

/** A terminator in a script: a Framer, bytes as a latin1 string, a count, or null. */
export type ScriptTerminator = Framer | string | number | null;

export interface FrameScript {
  terminator: ScriptTerminator;
  /** At the k-th found (from 0), the terminator becomes switchTo[k % length]. */
  switchTo?: ScriptTerminator[];
  /** At these callbacks (counted from 1): close, discard, throw. */
  closeAt?: number;
  discardAt?: number[];
  throwAt?: number[];
  /** At these callbacks the input is paused; it is resumed (resume()) after the chunk's feed. */
  pauseAt?: number[];
  /** Feed this chunk from inside the callback with this number (a chunk fed while feeding). */
  feedAt?: Map<number, Buffer>;
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

export class ScriptTarget implements SplitterTarget {
  terminator: Terminator;
  closed = false;
  inputPaused = false;
  readonly trace: FrameEvent[] = [];
  /** Every Buffer collectIncomingData got, as given. */
  readonly kept: Buffer[] = [];
  private calls = 0;
  private founds = 0;
  private readonly interned = new Map<string, Buffer>();

  constructor(private readonly script: FrameScript, private readonly splitter: Splitter) {
    this.terminator = this.term(script.terminator);
  }

  term(t: ScriptTerminator): Terminator {
    if (typeof t !== 'string') return t;
    let b = this.interned.get(t);
    if (!b) this.interned.set(t, (b = latin1(t)));
    return b;
  }

  collectIncomingData(data: Buffer): void {
    this.trace.push(['collect', data.toString('latin1')]);
    this.kept.push(data);
    this.after();
  }

  foundTerminator(): void {
    this.trace.push(['found']);
    const { switchTo } = this.script;
    if (switchTo) this.terminator = this.term(switchTo[this.founds % switchTo.length]);
    this.founds++;
    this.after();
  }

  private after(): void {
    const n = ++this.calls;
    const s = this.script;
    if (s.closeAt === n) this.closed = true;
    if (s.discardAt?.includes(n)) this.splitter.discard();
    if (s.pauseAt?.includes(n)) this.inputPaused = true;
    const fed = s.feedAt?.get(n);
    if (fed !== undefined) this.splitter.feed(this, fed);
    if (s.throwAt?.includes(n)) throw new Error(`thrown at callback ${n}`);
  }
}

export interface FrameOutcome {
  trace: FrameEvent[];
  /** Bytes kept for the next feed, or 'closed'. */
  pending: number | 'closed';
}

/** The coded error's details that the reference can know, by code. */
function errorEvent(err: unknown): FrameEvent | null {
  const e = err as { code?: string } & Record<string, unknown>;
  if (e.code === 'ERR_ASYNCHAT_BAD_FRAME') {
    const d = (e.details as Record<string, unknown>) ?? { offset: e.offset, expected: e.expected, got: e.got, part: e.part };
    return ['error', e.code, d];
  }
  if (e.code === 'ERR_ASYNCHAT_FRAME_TOO_LARGE') {
    const d = (e.details as Record<string, unknown>) ?? { offset: e.offset, limit: e.limit, length: e.length, part: e.part };
    return ['error', e.code, d];
  }
  return null;
}

/** Feeds the chunks to one splitter under the script, resuming paused input after each chunk. */
export function runScript(splitter: Splitter, script: FrameScript, chunks: Buffer[]): FrameOutcome & { target: ScriptTarget } {
  const target = new ScriptTarget(script, splitter);
  const feed = (chunk: Buffer): void => {
    try {
      splitter.feed(target, chunk);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('thrown at')) {
        target.trace.push(['throw']);
        return;
      }
      const ev = errorEvent(err);
      if (ev === null) throw err;
      target.trace.push(ev);
    }
  };
  for (const chunk of chunks) {
    feed(chunk);
    // Paused input resumes here (the reference never holds anything: pausing only delays).
    while (target.inputPaused && !target.closed) {
      target.inputPaused = false;
      if (splitter instanceof InputSplitter) {
        try {
          splitter.resume(target);
        } catch (err) {
          const ev = errorEvent(err);
          if (ev === null && !(err instanceof Error && err.message.startsWith('thrown at'))) throw err;
          target.trace.push(ev ?? ['throw']);
        }
      }
    }
  }
  return { target, trace: target.trace, pending: target.closed ? 'closed' : splitter.pending };
}

/** The library and the reference, the same script and chunks: equal traces and pending bytes. */
export function compareWithReference(script: FrameScript, chunks: Buffer[], label = ''): FrameOutcome {
  const fast = runScript(new InputSplitter(), script, chunks);
  const ref = runScript(new ReferenceSplitter(), script, chunks);
  const a = { trace: fast.trace, pending: fast.pending };
  const b = { trace: ref.trace, pending: ref.pending };
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    const show = chunks.map((c) => c.toString('latin1'));
    const described = describeScript(script);
    expect({ label, script: described, chunks: show, ...a }).toEqual({ label, script: described, chunks: show, ...b });
  }
  return a;
}

/** A script as text, for a failure's message. */
export function describeScript(script: FrameScript): string {
  return JSON.stringify(script, (_, v: unknown) => (v instanceof Framer ? String(v) : v instanceof Map ? [...v] : v));
}

/** The chunks of `data` cut at these positions (sorted, within it). */
export function cutAt(data: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    out.push(data.subarray(from, c));
    from = c;
  }
  out.push(data.subarray(from));
  return out.filter((c) => c.length > 0);
}
