// Line echo on node:net, tuned: every complete line a 'data' event brings goes back in one
// write; a partial line waits for the rest (lib/tuned-echo.mjs, shared with the node:tls one).
import net from 'node:net';
import { serveNode } from '../lib/serve.mjs';
import { tunedEcho } from '../lib/tuned-echo.mjs';

serveNode(net.createServer(tunedEcho));
