// npm run example:resp -- [--port 6380] [--host 127.0.0.1] [--mode attached|blocking]
//                         [--max-bulk BYTES] [--max-line BYTES]
import { TLS_FLAGS, TLS_USAGE, tlsContextOf } from '../common/tls-options';
import { announce, intOption, parseArgs, serve } from '../common/cli';
import { RespServer } from './server';

const usage = `usage: npm run example:resp -- [options]

A Redis-protocol server with an in-memory store (PING ECHO SET GET DEL EXISTS INCR MGET MSET
QUIT). Try it: redis-cli -p 6380 SET greeting hello; redis-cli -p 6380 GET greeting

  --port N        port to listen on (default 0: any free port, printed at start)
  --host ADDR     address to listen on (default 127.0.0.1)
  --mode MODE     attached (loopAsync, default) or blocking (loop)
  --max-bulk N    largest bulk string in bytes (default 67108864)
  --max-line N    longest inline command in bytes (default 65536)
${TLS_USAGE}`;

const cli = parseArgs(usage, [...['max-bulk', 'max-line'], ...TLS_FLAGS]);
const server = new RespServer({
  host: cli.host,
  port: cli.port,
  tls: tlsContextOf(cli),
  maxBulk: intOption(cli, 'max-bulk', 64 * 1024 * 1024),
  maxLine: intOption(cli, 'max-line', 64 * 1024),
});
announce('resp', cli, server.port);
void serve(cli.mode);
