// HTTP/1.1 keep-alive on node:net, written for speed (lib/tuned-http.mjs: heads checked byte by
// byte, no string per request, one write per 'data'; shared with the node:tls one).
import net from 'node:net';
import { serveNode } from '../lib/serve.mjs';
import { tunedHttp } from '../lib/tuned-http.mjs';

serveNode(net.createServer(tunedHttp));
