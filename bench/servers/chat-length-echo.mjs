// Length-prefixed echo on AsyncChat with framers.lengthPrefixed(): a 4-byte big-endian length, then
// the payload; collectIncomingData gets the payload (a view of the read), foundTerminator() pushes
// the header and the payload back. pushShared() queues the payload without copying it (a read's
// bytes are never rewritten); it copies only what is small enough to pack with the header.
import { AsyncChat, framers } from 'asynchat';
import { serve } from '../lib/serve.mjs';

const FRAMER = framers.lengthPrefixed({ maxFrameLength: 1 << 20 });
const header = Buffer.alloc(4);  // push() copies it

class LengthEcho extends AsyncChat {
  constructor(sock) {
    super(sock);
    this.payload = null;
    this.setTerminator(FRAMER);
  }

  collectIncomingData(data) {
    this.payload = data;
  }

  foundTerminator() {
    const payload = this.payload;
    header.writeUInt32BE(payload.length);
    this.push(header);
    this.pushShared(payload);
  }
}

await serve(LengthEcho);
