// npm run example:client -- --port 6380 [--host 127.0.0.1] [--mode attached|blocking] COMMAND [ARGS...] [';' COMMAND ...]
import { readFileSync } from 'node:fs';
import { createTlsContext, loop, loopAsync } from '../../src';
import { idleTimeoutOf, parseArgs } from '../common/cli';
import { RespClient, formatReply, type RespValue } from './resp-client';

const usage = `usage: npm run example:client -- --port N [options] COMMAND [ARGS...] [';' COMMAND [ARGS...] ...]

Sends Redis commands (pipelined, in one connection) and prints the replies as redis-cli does.
Try it against the resp example: npm run example:client -- --port 6380 SET n 41 ';' INCR n

  --port N      the server's port (required)
  --host ADDR   the server's address (default 127.0.0.1)
  --mode MODE   attached (loopAsync, default: the replies are awaited one by one) or blocking
                (everything is sent, then loop() runs until the server closes after QUIT)
  --idle-timeout S
                give up (ETIMEDOUT) when connecting, or waiting for a reply, takes longer than
                S seconds (default 0: never)
  --tls         connect with TLS (the server's certificate is verified against --host)
  --ca FILE     trust these CA certificates (PEM) instead of Node's bundled ones
`;

// --tls takes no value, unlike the shared options: taken out before they are parsed.
const argv = process.argv.slice(2);
const useTls = argv.includes('--tls');
const cli = parseArgs(usage, ['ca'], argv.filter((a) => a !== '--tls'));
const caFile = cli.options.get('ca');
const tls = useTls || caFile !== undefined
  ? createTlsContext(caFile === undefined ? {} : { ca: readFileSync(caFile) })
  : undefined;
if (cli.port === 0) {
  process.stderr.write(`--port is required\n\n${usage}`);
  process.exit(2);
}
const commands: string[][] = [[]];
for (const arg of cli.args) {
  if (arg === ';') commands.push([]);
  else commands[commands.length - 1].push(arg);
}
const todo = commands.filter((c) => c.length > 0);
if (todo.length === 0) todo.push(['PING']);

async function main(): Promise<number> {
  const client = new RespClient(cli.port, cli.host, undefined, { timeout: idleTimeoutOf(cli, null), tls });
  const replies: Array<Promise<RespValue>> = todo.map((c) => client.command(...c));
  const quit = client.quit();
  // Blocking: nothing is sent until loop() runs; it returns once the map is empty (the server
  // closed the connection after QUIT, or the connection failed), and every promise is settled.
  // Attached: loopAsync() serves the map from Node's loop while the replies are awaited; it
  // resolves once the map is empty.
  const serving = cli.mode === 'blocking' ? loop() : loopAsync();
  let status = 0;
  for (const reply of replies) {
    try {
      process.stdout.write(`${formatReply(await reply)}\n`);
    } catch (err) {
      const e = err as Error & { code?: string };
      if (e.name === 'RespError') {
        process.stdout.write(`${formatReply(e)}\n`);
      } else {
        process.stderr.write(`error: ${e.message}\n`);
        status = 1;
        break;
      }
    }
  }
  await quit;
  await serving;
  return status;
}

main().then((status) => {
  process.exitCode = status;
});
