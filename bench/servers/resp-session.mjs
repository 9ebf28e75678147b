// The session of a Redis-protocol server (PING, SET, GET on an in-memory map), the asynchat way: a '\r\n'
// terminator for the `*N` and `$len` lines, an integer terminator for each bulk payload (its
// length plus the CRLF after it).
// (bench/servers/chat-resp.mjs serves it; bench/record-path.mjs --workload resp feeds it bytes.)
import { AsyncChat } from 'asynchat';

const store = new Map();
const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NIL = Buffer.from('$-1\r\n');
const CRLF = Buffer.from('\r\n');

export class RespSession extends AsyncChat {
  constructor(sock) {
    super(sock);
    this.setTerminator('\r\n');
    this.argc = 0;     // arguments the current command has
    this.args = [];
    this.inBulk = false;
  }

  collectIncomingData(data) {
    this.keepIncomingData(data);
  }

  foundTerminator() {
    const data = this.getData();
    if (this.inBulk) {
      this.args.push(data.subarray(0, data.length - 2));
      this.inBulk = false;
      this.setTerminator('\r\n');
      if (this.args.length === this.argc) this.execute();
    } else if (this.argc === 0) {
      if (data[0] !== 0x2a) return this.fail('expected *<count>');
      this.argc = parseInt(data.toString('latin1', 1), 10);
      if (!(this.argc > 0)) return this.fail('bad argument count');
    } else {
      if (data[0] !== 0x24) return this.fail('expected $<length>');
      const len = parseInt(data.toString('latin1', 1), 10);
      if (!(len >= 0)) return this.fail('bad bulk length');
      this.inBulk = true;
      this.setTerminator(len + 2);
    }
  }

  execute() {
    const [name, key, value] = this.args;
    const command = name.toString('latin1').toUpperCase();
    if (command === 'PING') {
      this.push(PONG);
    } else if (command === 'SET' && value !== undefined) {
      store.set(key.toString('latin1'), value);
      this.push(OK);
    } else if (command === 'GET' && key !== undefined) {
      const found = store.get(key.toString('latin1'));
      if (found === undefined) {
        this.push(NIL);
      } else {
        this.push(`$${found.length}\r\n`);
        this.push(found);
        this.push(CRLF);
      }
    } else {
      this.push(`-ERR unknown command '${command}'\r\n`);
    }
    this.argc = 0;
    this.args = [];
  }

  fail(message) {
    this.push(`-ERR Protocol error: ${message}\r\n`);
    this.closeWhenDone();
  }
}

