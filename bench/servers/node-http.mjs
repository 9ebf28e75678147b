// HTTP/1.1 keep-alive on node:http. The response carries exactly the bytes the asynchat and
// net servers send: no Date header, Connection given explicitly (so no Keep-Alive header).
import http from 'node:http';
import { serveNode } from '../lib/serve.mjs';
import { BODY, NODE_HEADERS } from './http-replies.mjs';

const server = http.createServer({ noDelay: true }, (req, res) => {
  res.sendDate = false;
  res.writeHead(200, NODE_HEADERS);
  res.end(BODY);
});

serveNode(server);
