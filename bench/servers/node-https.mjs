// HTTPS keep-alive on node:https, as servers/node-http.mjs serves HTTP (the same bytes), over the
// certificate given by --tls-cert/--tls-key (bench/tls.mjs).
import https from 'node:https';
import { serveNode, tlsOptions } from '../lib/serve.mjs';
import { BODY, NODE_HEADERS } from './http-replies.mjs';

const server = https.createServer({ ...tlsOptions(), noDelay: true }, (req, res) => {
  res.sendDate = false;
  res.writeHead(200, NODE_HEADERS);
  res.end(BODY);
});

serveNode(server);
