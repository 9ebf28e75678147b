// The two places bench/record-path.mjs reaches inside AsyncChat: how a received chunk reaches
// the record parser, and how the queued output is taken as a writev would take it. Kept here so
// that a change of those internals changes one small file.
const scratch = [];

/** Hands one received chunk to the channel's record path. */
export function feedChunk(chat, chunk) {
  chat.splitter.feed(chat, chunk);
}

/** Takes everything queued for output, as a complete write would. */
export function drainOutput(chat) {
  const got = chat.out.gather(scratch, 1 << 30, 1 << 20);
  if (got.total > 0) chat.out.consume(got.total);
}
