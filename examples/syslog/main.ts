// npm run example:syslog -- [--port 5514] [--host 127.0.0.1] [--mode attached|blocking]
//                           [--file PATH] [--format text|json] [--unix PATH] [--max-size BYTES]
import { announce, intOption, parseArgs, say, serve } from '../common/cli';
import { SyslogServer, fileSink, type Format } from './server';

const usage = `usage: npm run example:syslog -- [options]

A syslog receiver: RFC 5424 and RFC 3164 messages over UDP, one line per message on stdout
or appended to a file. Try it: logger -n 127.0.0.1 -P 5514 -d "hello"

  --port N           UDP port to receive on (default 0: any free port, printed at start)
  --host ADDR        address to receive on (default 127.0.0.1; ::1 for IPv6)
  --mode MODE        attached (loopAsync, default) or blocking (loop)
  --file PATH        append the lines to PATH instead of writing them to stdout
  --format FORMAT    text (default) or json (one JSON object per line)
  --unix PATH        also receive on a Unix datagram socket (logger -u PATH)
  --max-size N       longest datagram kept whole, in bytes (default 8192); longer ones are
                     cut, and the line says [truncated]
`;

const cli = parseArgs(usage, ['file', 'format', 'unix', 'max-size']);
const format = cli.options.get('format') ?? 'text';
if (format !== 'text' && format !== 'json') {
  process.stderr.write(`--format is text or json, not ${format}\n`);
  process.exit(2);
}
const file = cli.options.get('file');
const sink = file === undefined ? undefined : fileSink(file);
const server = new SyslogServer({
  host: cli.host,
  port: cli.port,
  unixPath: cli.options.get('unix'),
  maxSize: Math.max(1, intOption(cli, 'max-size', 8192)),
  format: format as Format,
  write: sink?.write,
});
announce('syslog', cli, server.port);
if (server.unix !== null) say(`syslog: also on unix ${cli.options.get('unix')}`);
if (file !== undefined) say(`syslog: writing to ${file}`);
void serve(cli.mode).finally(() => {
  server.close();
  sink?.close();
});
