// The two places bench/record-path.mjs reaches inside AsyncChat: how a received chunk reaches
// the record parser, and how the queued output is taken as a writev would take it. Kept here so
// that a change of those internals changes one small file. Both live on the channel's engine
// record (src/engine/channel-core.ts's ENGINE symbol; ChatCore for an AsyncChat).
const scratch = [];

let engine = null;

function core(chat) {
  engine ??= Object.getOwnPropertySymbols(chat).find((s) => s.description === 'asynchat.engine') ?? null;
  return engine === null ? chat : chat[engine];
}

/** Hands one received chunk to the channel's record path. */
export function feedChunk(chat, chunk) {
  core(chat).splitter.feed(chat, chunk);
}

/** Takes everything queued for output, as a complete write would. */
export function drainOutput(chat) {
  const out = core(chat).out;
  const got = out.gather(scratch, 1 << 30, 1 << 20);
  if (got.total > 0) out.consume(got.total);
}
