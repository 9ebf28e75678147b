// The one factory of a refused frame's error: what the native parser reported (why, where, what
// it found) as an AsynchatError a handler can switch on.
import { AsynchatError } from '../errors';
import { native } from '../binding/native';
import type { Framer, FramerKind } from './framers';

const F = native.framing;
const S = F.slots;

const NAMES: Record<FramerKind, string> = { resp: 'RESP', lengthPrefixed: 'length-prefixed', netstring: 'netstring' };

/** ERR_ASYNCHAT_BAD_FRAME: a frame that does not parse. */
export interface BadFrameError extends AsynchatError {
  readonly code: 'ERR_ASYNCHAT_BAD_FRAME';
  readonly framer: FramerKind;
  /** The byte that does not fit, counted from the frame's first byte. */
  readonly offset: number;
  /** What the parser expected there ("a decimal digit", "'$'", ...). */
  readonly expected: string;
  /**
   * What it found: the byte, or null at the end of a line; for a length-prefixed frame, the
   * frame length its header gives.
   */
  readonly got: number | null;
  /** The part of the frame ("bulk header", "inline command", "length field", ...). */
  readonly part: string;
}

/** ERR_ASYNCHAT_FRAME_TOO_LARGE: a header that announced more than a limit. */
export interface FrameTooLargeError extends AsynchatError {
  readonly code: 'ERR_ASYNCHAT_FRAME_TOO_LARGE';
  readonly framer: FramerKind;
  /** Where the header is, from the frame's first byte. */
  readonly offset: number;
  /** The option whose limit was passed ('maxArgBytes', 'maxFrameLength', ...). */
  readonly limit: string;
  /** Its value. */
  readonly max: number;
  /** What the header announced, or null when only "more than max" is known. */
  readonly length: number | null;
  readonly part: string;
}

/** The error for the refusal a parse call left in its io array (status bad or tooLarge). */
export function frameRefusal(framer: Framer, state: Float64Array): BadFrameError | FrameTooLargeError {
  const name = NAMES[framer.kind];
  const text = F.reasons[state[S.reason]];
  const part = F.parts[state[S.part]];
  const offset = state[S.offset];
  const detail = state[S.detail];
  if (state[S.status] === F.status.tooLarge) {
    const max = (framer.options as unknown as Record<string, number>)[text];
    const length = detail < 0 ? null : detail;
    const what = length === null ? `more than ${max} bytes` : `${length}`;
    const err = new AsynchatError(
      'ERR_ASYNCHAT_FRAME_TOO_LARGE',
      `${name} frame refused from its ${part} (byte ${offset} of the frame): ${what} is over ${text} (${max})`,
    );
    return Object.assign(err, { framer: framer.kind, offset, limit: text, max, length, part }) as FrameTooLargeError;
  }
  const got = detail < 0 && framer.kind !== 'lengthPrefixed' ? null : detail;
  const found = framer.kind === 'lengthPrefixed' ? `a frame length of ${got}` : describeByte(got);
  const err = new AsynchatError(
    'ERR_ASYNCHAT_BAD_FRAME',
    `bad ${name} frame: expected ${text} at byte ${offset} of the frame (its ${part}), got ${found}`,
  );
  return Object.assign(err, { framer: framer.kind, offset, expected: text, got, part }) as BadFrameError;
}

function describeByte(b: number | null): string {
  if (b === null) return 'the end of the line';
  const hex = `0x${b.toString(16).padStart(2, '0')}`;
  return b >= 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}' (${hex})` : hex;
}
