// Used by the package test (scripts/test-package.mjs) inside a consumer project: serves one
// line on loopback with the asynchat it is given (the ESM or the CommonJS entry), echoes it
// back to a node:net client, and resolves with what came back and which addon file was loaded.
'use strict';
const net = require('node:net');

function serveOneLine(asynchat, line) {
  const { AsyncChat, Dispatcher, AF_INET, loopAsync, addonPath } = asynchat;

  class LineEcho extends AsyncChat {
    constructor(sock) {
      super(sock);
      this.setTerminator('\n');
    }
    collectIncomingData(data) { this.keepIncomingData(data); }
    foundTerminator() {
      this.push(Buffer.concat([this.getData(), Buffer.from('\n')]));
      this.closeWhenDone();
    }
  }

  class Server extends Dispatcher {
    constructor() {
      super();
      this.createSocket(AF_INET);
      this.bind(['127.0.0.1', 0]);
      this.listen(5);
    }
    handleAccepted(sock) {
      new LineEcho(sock);
      this.close();   // one client: then the map empties and loopAsync() resolves
    }
  }

  const server = new Server();
  const port = server.socket.getsockname()[1];
  const served = loopAsync();
  const reply = new Promise((resolve, reject) => {
    const client = net.connect(port, '127.0.0.1', () => client.end(`${line}\n`));
    const chunks = [];
    client.on('data', (c) => chunks.push(c));
    client.on('error', reject);
    client.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
  const deadline = new Promise((_, reject) => {
    const t = setTimeout(() => reject(new Error(`no echo of "${line}" within 10 s`)), 10_000);
    t.unref();
  });
  return Promise.race([Promise.all([reply, served]), deadline]).then(([text]) => ({ reply: text, addonPath }));
}

module.exports = { serveOneLine };
