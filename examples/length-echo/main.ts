// npm run example:length-echo -- [--port 7007] [--host 127.0.0.1] [--mode attached|blocking] [--threads N]
//                                [--max-frame BYTES]
import { idleTimeoutOf, intOption, parseArgs } from '../common/cli';
import { DEFAULT_IDLE_TIMEOUT } from '../common/listener';
import { serveExample } from '../common/threads';
import { TLS_FLAGS, TLS_USAGE, tlsContextOf } from '../common/tls-options';
import { LengthEchoServer } from './server';

const usage = `usage: npm run example:length-echo -- [options]

An echo of length-prefixed messages: a 4-byte big-endian length, then that many bytes; each
message comes back as it was sent. Try it:
  python3 -c "import socket,struct; s=socket.create_connection(('127.0.0.1',PORT)); m=b'hello'; s.sendall(struct.pack('>I',len(m))+m); print(s.recv(64))"

  --port N        port to listen on (default 0: any free port, printed at start)
  --host ADDR     address to listen on (default 127.0.0.1)
  --mode MODE     attached (loopAsync, default) or blocking (loop)
  --idle-timeout S
                  close a connection silent for S seconds (default 300; 0: never)
  --threads N     threads serving the port (default 1)
  --max-frame N   largest message in bytes, its header included (default 1048576); a longer one
                  closes the connection
${TLS_USAGE}`;

const cli = parseArgs(usage, ['max-frame', ...TLS_FLAGS]);
const idleTimeout = idleTimeoutOf(cli, DEFAULT_IDLE_TIMEOUT);
const tls = tlsContextOf(cli);
const maxFrameLength = intOption(cli, 'max-frame', 1024 * 1024);
void serveExample('length-echo', cli, __filename, (at) => new LengthEchoServer({ ...at, idleTimeout, tls, maxFrameLength }).port);
