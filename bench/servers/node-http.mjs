// HTTP/1.1 keep-alive on node:http. The response carries exactly the bytes the asynchat and
// net servers send: no Date header, Connection given explicitly (so no Keep-Alive header).
import http from 'node:http';
import { serveNode } from '../lib/serve.mjs';

const BODY = Buffer.from('Hello, World!');
const HEADERS = {
  'Content-Type': 'text/plain',
  'Content-Length': String(BODY.length),
  'Connection': 'keep-alive',
};

const server = http.createServer({ noDelay: true }, (req, res) => {
  res.sendDate = false;
  res.writeHead(200, HEADERS);
  res.end(BODY);
});

serveNode(server);
