// npm run example:http -- [--port 8080] [--host 127.0.0.1] [--mode attached|blocking] [--threads N]
//                         [--root FOLDER] [--max-head BYTES] [--max-body BYTES]
import path from 'node:path';
import { idleTimeoutOf, intOption, parseArgs, secondsOption } from '../common/cli';
import { DEFAULT_IDLE_TIMEOUT } from '../common/listener';
import { serveExample } from '../common/threads';
import { TLS_FLAGS, TLS_USAGE, tlsContextOf } from '../common/tls-options';
import { HttpServer } from './server';

const usage = `usage: npm run example:http -- [options]

A static file server (HTTP/1.1, GET and HEAD, keep-alive). Try it: curl -i http://127.0.0.1:8080/

  --port N        port to listen on (default 0: any free port, printed at start)
  --host ADDR     address to listen on (default 127.0.0.1)
  --mode MODE     attached (loopAsync, default) or blocking (loop)
  --idle-timeout S
                  close a connection silent for S seconds (default 300; 0: never)
  --threads N     threads serving the port (default 1)
  --root FOLDER   the folder served (default examples/http/public)
  --max-head N    most bytes in a request's line and headers (default 16384)
  --max-body N    largest request body read (default 1048576)
  --header-timeout S
                  most seconds from a request's first byte to the end of its head, then 408
                  (default 60; 0: never)
${TLS_USAGE}`;

const cli = parseArgs(usage, [...['root', 'max-head', 'max-body', 'header-timeout'], ...TLS_FLAGS]);
const settings = {
  idleTimeout: idleTimeoutOf(cli, DEFAULT_IDLE_TIMEOUT),
  tls: tlsContextOf(cli),
  root: path.resolve(cli.options.get('root') ?? path.join(__dirname, 'public')),
  maxHead: intOption(cli, 'max-head', 16 * 1024),
  maxBody: intOption(cli, 'max-body', 1024 * 1024),
  headerTimeout: secondsOption(cli, 'header-timeout', 60),
};
void serveExample('http', cli, __filename, (at) => new HttpServer({ ...at, ...settings }).port, [`http: serving ${settings.root}`]);
