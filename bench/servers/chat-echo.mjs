// Line echo, the idiomatic AsyncChat way: a '\r\n' terminator, each line pushed back from
// foundTerminator (as README.md shows it).
import { AsyncChat } from 'asynchat';
import { serve } from '../lib/serve.mjs';

const CRLF = Buffer.from('\r\n');

class LineEcho extends AsyncChat {
  constructor(sock) {
    super(sock);
    this.setTerminator('\r\n');
  }

  collectIncomingData(data) {
    this.keepIncomingData(data);
  }

  foundTerminator() {
    this.push(this.getData());
    this.push(CRLF);
  }
}

await serve(LineEcho);
