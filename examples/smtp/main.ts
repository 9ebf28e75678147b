// npm run example:smtp -- [--port 2525] [--host 127.0.0.1] [--mode attached|blocking] [--threads N]
//                         [--dir FOLDER] [--max-line N] [--max-size BYTES] [--hostname NAME]
import os from 'node:os';
import path from 'node:path';
import { idleTimeoutOf, intOption, parseArgs, secondsOption } from '../common/cli';
import { DEFAULT_IDLE_TIMEOUT } from '../common/listener';
import { serveExample } from '../common/threads';
import { TLS_FLAGS, TLS_USAGE, tlsContextOf } from '../common/tls-options';
import { SmtpServer, saveTo } from './server';

const usage = `usage: npm run example:smtp -- [options]

Receives mail over SMTP and writes each message to a folder as an .eml file. Try it:
  python3 -c "import smtplib; smtplib.SMTP('127.0.0.1', 2525).sendmail('me@here', ['you@there'], 'Subject: hi\\r\\n\\r\\nhello\\r\\n')"

  --port N         port to listen on (default 0: any free port, printed at start)
  --host ADDR      address to listen on (default 127.0.0.1)
  --mode MODE      attached (loopAsync, default) or blocking (loop)
  --idle-timeout S close a connection silent for S seconds (default 300; 0: never)
  --threads N      threads serving the port (default 1)
  --dir FOLDER     where messages are written (default: asynchat-mail in the temp folder)
  --max-line N     longest command line in bytes (default 512)
  --max-size N     largest message in bytes (default 33554432)
  --data-timeout S most seconds from DATA to the message's final ".", then 421 (default 600;
                   0: never)
  --hostname NAME  the name the server gives itself (default: this host's name)
${TLS_USAGE}  (smtp offers them as STARTTLS, RFC 3207)
`;

const cli = parseArgs(usage, ['dir', 'max-line', 'max-size', 'hostname', 'data-timeout', ...TLS_FLAGS]);
const dir = path.resolve(cli.options.get('dir') ?? path.join(os.tmpdir(), 'asynchat-mail'));
const limits = {
  idleTimeout: idleTimeoutOf(cli, DEFAULT_IDLE_TIMEOUT),
  hostname: cli.options.get('hostname'),
  maxLine: intOption(cli, 'max-line', 512),
  maxMessageSize: intOption(cli, 'max-size', 32 * 1024 * 1024),
  dataTimeout: secondsOption(cli, 'data-timeout', 600),
  starttls: tlsContextOf(cli),
};
void serveExample(
  'smtp', cli, __filename, (at) => new SmtpServer({ ...at, ...limits, onMessage: saveTo(dir) }).port,
  [`smtp: messages go to ${dir}`],
);
