// npm run example:chat -- [--port 7000] [--host 127.0.0.1] [--mode attached|blocking] [--threads N]
//                         [--max-backlog BYTES] [--max-line BYTES]
import { idleTimeoutOf, intOption, parseArgs } from '../common/cli';
import { DEFAULT_IDLE_TIMEOUT } from '../common/listener';
import { serveExample } from '../common/threads';
import { TLS_FLAGS, TLS_USAGE, tlsContextOf } from '../common/tls-options';
import { ChatRoom } from './server';

const usage = `usage: npm run example:chat -- [options]

A chat room: the first line you send is your nick, every other line goes to everyone else;
/who lists who is here, /quit leaves. Try it with two terminals: nc 127.0.0.1 7000

  --port N           port to listen on (default 0: any free port, printed at start)
  --host ADDR        address to listen on (default 127.0.0.1)
  --mode MODE        attached (loopAsync, default) or blocking (loop)
  --idle-timeout S   close a connection silent for S seconds (default 300; 0: never)
  --threads N        threads serving the port (default 1); each thread is a room of its own
  --max-backlog N    bytes that may wait for a slow reader before it is dropped (default 262144)
  --max-line N       longest line accepted, in bytes (default 4096)
${TLS_USAGE}`;

const cli = parseArgs(usage, [...['max-backlog', 'max-line'], ...TLS_FLAGS]);
const idleTimeout = idleTimeoutOf(cli, DEFAULT_IDLE_TIMEOUT);
const tls = tlsContextOf(cli);
const maxBacklog = intOption(cli, 'max-backlog', 256 * 1024);
const maxLine = intOption(cli, 'max-line', 4096);
void serveExample('chat', cli, __filename, (at) => new ChatRoom({ ...at, idleTimeout, tls, maxBacklog, maxLine }).port);
