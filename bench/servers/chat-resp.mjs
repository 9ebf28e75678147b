// A Redis-protocol server (PING, SET, GET on an in-memory map), the asynchat way: a '\r\n'
// terminator for the `*N` and `$len` lines, an integer terminator for each bulk payload (its
// length plus the CRLF after it).
import { serve } from '../lib/serve.mjs';
import { RespSession } from './resp-session.mjs';

await serve(RespSession);
