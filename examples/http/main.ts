// npm run example:http -- [--port 8080] [--host 127.0.0.1] [--mode attached|blocking]
//                         [--root FOLDER] [--max-head BYTES] [--max-body BYTES]
import path from 'node:path';
import { TLS_FLAGS, TLS_USAGE, tlsContextOf } from '../common/tls-options';
import { announce, intOption, parseArgs, say, serve } from '../common/cli';
import { HttpServer } from './server';

const usage = `usage: npm run example:http -- [options]

A static file server (HTTP/1.1, GET and HEAD, keep-alive). Try it: curl -i http://127.0.0.1:8080/

  --port N        port to listen on (default 0: any free port, printed at start)
  --host ADDR     address to listen on (default 127.0.0.1)
  --mode MODE     attached (loopAsync, default) or blocking (loop)
  --root FOLDER   the folder served (default examples/http/public)
  --max-head N    most bytes in a request's line and headers (default 16384)
  --max-body N    largest request body read (default 1048576)
${TLS_USAGE}`;

const cli = parseArgs(usage, [...['root', 'max-head', 'max-body'], ...TLS_FLAGS]);
const server = new HttpServer({
  host: cli.host,
  port: cli.port,
  tls: tlsContextOf(cli),
  root: path.resolve(cli.options.get('root') ?? path.join(__dirname, 'public')),
  maxHead: intOption(cli, 'max-head', 16 * 1024),
  maxBody: intOption(cli, 'max-body', 1024 * 1024),
});
announce('http', cli, server.port);
say(`http: serving ${server.root}`);
void serve(cli.mode);
