// Line echo, the idiomatic AsyncChat way: a '\r\n' terminator, each line pushed back from
// foundTerminator (as README.md shows it). The class is bench/lib/line-echo.mjs, shared with
// the servers that add timers or timeouts to exactly this work.
import { LineEcho } from '../lib/line-echo.mjs';
import { serve } from '../lib/serve.mjs';

await serve(LineEcho);
