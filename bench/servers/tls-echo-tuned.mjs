// Line echo on node:tls, tuned as servers/net-echo-tuned.mjs is (one write per 'data'), over the
// certificate given by --tls-cert/--tls-key (bench/tls.mjs).
import tls from 'node:tls';
import { serveNode, tlsOptions } from '../lib/serve.mjs';
import { tunedEcho } from '../lib/tuned-echo.mjs';

serveNode(tls.createServer(tlsOptions(), tunedEcho));
