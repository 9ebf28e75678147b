// The session of a Redis-protocol server (PING, SET, GET on an in-memory map) on the RESP framer:
// the native parser splits each read into commands, collectIncomingData gets each argument (a
// view of the read) and foundTerminator() runs the command. The command name is compared byte by
// byte and replies are pushed as prepared Buffers, as the tuned net server does; keys are latin1
// strings (a Map needs one) and values are copied out of the read (a view would pin its slab).
// (bench/servers/chat-resp-framer.mjs serves it; bench/record-path.mjs --workload resp-framer feeds it bytes.)
import { AsyncChat, framers } from 'asynchat';

const store = new Map();
const RESP = framers.resp();
const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NIL = Buffer.from('$-1\r\n');
const CRLF = Buffer.from('\r\n');

// "$<n>\r\n" for the bulk lengths replies use, made once each.
const bulkHeaders = [];
function bulkHeader(n) {
  if (n >= 4096) return Buffer.from(`$${n}\r\n`);
  return (bulkHeaders[n] ??= Buffer.from(`$${n}\r\n`));
}

// ASCII letters compared case-insensitively (| 0x20 lower-cases them).
const isPing = (b) => b.length === 4 && (b[0] | 0x20) === 0x70 && (b[1] | 0x20) === 0x69 && (b[2] | 0x20) === 0x6e && (b[3] | 0x20) === 0x67;
const isSet = (b) => b.length === 3 && (b[0] | 0x20) === 0x73 && (b[1] | 0x20) === 0x65 && (b[2] | 0x20) === 0x74;
const isGet = (b) => b.length === 3 && (b[0] | 0x20) === 0x67 && (b[1] | 0x20) === 0x65 && (b[2] | 0x20) === 0x74;

export class RespFramerSession extends AsyncChat {
  constructor(sock) {
    super(sock);
    this.args = [];
    this.setTerminator(RESP);
  }

  collectIncomingData(data) {
    this.args.push(data);
  }

  foundTerminator() {
    const args = this.args;
    this.args = [];
    const name = args[0];
    if (isGet(name) && args.length === 2) {
      const found = store.get(args[1].toString('latin1'));
      if (found === undefined) {
        this.push(NIL);
      } else {
        this.push(bulkHeader(found.length));
        this.push(found);
        this.push(CRLF);
      }
    } else if (isSet(name) && args.length === 3) {
      store.set(args[1].toString('latin1'), Buffer.from(args[2]));
      this.push(OK);
    } else if (isPing(name) && args.length === 1) {
      this.push(PONG);
    } else {
      this.push(`-ERR unknown command '${name.toString('latin1')}'\r\n`);
    }
  }

  handleError(err) {
    if (err?.code === 'ERR_ASYNCHAT_BAD_FRAME' || err?.code === 'ERR_ASYNCHAT_FRAME_TOO_LARGE') {
      this.push(`-ERR Protocol error: ${err.message}\r\n`);
      this.closeWhenDone();
      this.discardInput();
      this.setTerminator(null);
      return;
    }
    super.handleError(err);
  }
}
