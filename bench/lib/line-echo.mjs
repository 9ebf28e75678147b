// The AsyncChat line echo of bench/servers/chat-echo.mjs, as a class, for the servers that add
// something to it (timers, idle timeouts) and must otherwise do exactly the same work.
import { AsyncChat } from 'asynchat';

const CRLF = Buffer.from('\r\n');

export class LineEcho extends AsyncChat {
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
