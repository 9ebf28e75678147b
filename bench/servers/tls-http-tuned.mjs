// HTTP/1.1 keep-alive on node:tls, written for speed as servers/net-http-tuned.mjs is (the same
// handler, lib/tuned-http.mjs), over the certificate given by --tls-cert/--tls-key: the HTTPS
// baseline a Node engineer would write instead of node:https.
import tls from 'node:tls';
import { serveNode, tlsOptions } from '../lib/serve.mjs';
import { tunedHttp } from '../lib/tuned-http.mjs';

serveNode(tls.createServer(tlsOptions(), tunedHttp));
