// Length-prefixed echo on AsyncChat with framers.lengthPrefixed(): a 4-byte big-endian length, then
// the payload. An echo sends each message back as it came, so the framer strips nothing
// (initialBytesToStrip 0, Netty's default): collectIncomingData gets the whole message, a view
// of the read, and foundTerminator() queues it with pushShared(), which keeps a large one by
// reference (a read's bytes are never rewritten) and packs small ones into one block per batch.
import { AsyncChat, framers } from 'asynchat';
import { serve } from '../lib/serve.mjs';

const FRAMER = framers.lengthPrefixed({ initialBytesToStrip: 0, maxFrameLength: 1 << 20 });

class LengthEcho extends AsyncChat {
  constructor(sock) {
    super(sock);
    this.message = null;
    this.setTerminator(FRAMER);
  }

  collectIncomingData(data) {
    this.message = data;
  }

  foundTerminator() {
    this.pushShared(this.message);
    this.message = null;
  }
}

await serve(LengthEcho);
