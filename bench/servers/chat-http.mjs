// HTTP/1.1 keep-alive on AsyncChat: the head of each request ends at '\r\n\r\n'; a GET gets a
// fixed body. A minimal parser: request line, `Connection: close`; no request bodies.
import { AsyncChat } from 'asynchat';
import { serve } from '../lib/serve.mjs';
import { BAD, RESPONSE } from './http-replies.mjs';

class HttpSession extends AsyncChat {
  constructor(sock) {
    super(sock);
    this.setTerminator('\r\n\r\n');
  }

  collectIncomingData(data) {
    this.keepIncomingData(data);
  }

  foundTerminator() {
    const head = this.getData().toString('latin1');
    const line = head.slice(0, head.indexOf('\r\n') >>> 0);
    if (!line.startsWith('GET ') || !line.endsWith(' HTTP/1.1')) {
      this.push(BAD);
      this.closeWhenDone();
      return;
    }
    this.push(RESPONSE);
    if (/\r\nconnection:\s*close/i.test(head)) this.closeWhenDone();
  }
}

await serve(HttpSession);
