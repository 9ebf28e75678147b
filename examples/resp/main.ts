// npm run example:resp -- [--port 6380] [--host 127.0.0.1] [--mode attached|blocking] [--threads N]
//                         [--max-bulk BYTES] [--max-line BYTES] [--parser framer|terminator]
import { idleTimeoutOf, intOption, parseArgs } from '../common/cli';
import { DEFAULT_IDLE_TIMEOUT } from '../common/listener';
import { serveExample } from '../common/threads';
import { TLS_FLAGS, TLS_USAGE, tlsContextOf } from '../common/tls-options';
import { RespServer } from './server';

const usage = `usage: npm run example:resp -- [options]

A Redis-protocol server with an in-memory store (PING ECHO SET GET DEL EXISTS INCR MGET MSET
QUIT). Try it: redis-cli -p 6380 SET greeting hello; redis-cli -p 6380 GET greeting

  --port N        port to listen on (default 0: any free port, printed at start)
  --host ADDR     address to listen on (default 127.0.0.1)
  --mode MODE     attached (loopAsync, default) or blocking (loop)
  --idle-timeout S
                  close a connection silent for S seconds (default 300; 0: never)
  --threads N     threads serving the port, each with its own store (default 1)
  --max-bulk N    largest bulk string in bytes (default 67108864)
  --max-line N    longest inline command in bytes (default 65536)
  --parser P      framer (default: the native RESP framer splits commands) or terminator (the
                  asynchat port: '\r\n' and integer terminators)
${TLS_USAGE}`;

const cli = parseArgs(usage, [...['max-bulk', 'max-line', 'parser'], ...TLS_FLAGS]);
const idleTimeout = idleTimeoutOf(cli, DEFAULT_IDLE_TIMEOUT);
const tls = tlsContextOf(cli);
const maxBulk = intOption(cli, 'max-bulk', 64 * 1024 * 1024);
const maxLine = intOption(cli, 'max-line', 64 * 1024);
const parser = cli.options.get('parser') ?? 'framer';
if (parser !== 'framer' && parser !== 'terminator') {
  process.stderr.write(`--parser is framer or terminator, not ${parser}\n\n${usage}`);
  process.exit(2);
}
void serveExample('resp', cli, __filename, (at) => new RespServer({ ...at, idleTimeout, tls, maxBulk, maxLine, parser }).port);
