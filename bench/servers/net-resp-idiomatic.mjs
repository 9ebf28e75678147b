// The same Redis-protocol server on node:net, as it is usually written: each 'data' event is
// parsed for every complete command in it (the integers with parseInt of a string, the command
// name upper-cased), and their replies go out in one write. net-resp-tuned.mjs is the one written
// for speed.
import net from 'node:net';
import { serveNode } from '../lib/serve.mjs';

const store = new Map();
const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NIL = Buffer.from('$-1\r\n');
const CRLF = Buffer.from('\r\n');

/** One command at buf[pos..]: { args, end }, null if incomplete, or a string on a protocol error. */
function parseCommand(buf, pos) {
  let eol = buf.indexOf(CRLF, pos);
  if (eol < 0) return null;
  if (buf[pos] !== 0x2a) return 'expected *<count>';
  const argc = parseInt(buf.toString('latin1', pos + 1, eol), 10);
  if (!(argc > 0)) return 'bad argument count';
  let p = eol + 2;
  const args = [];
  for (let i = 0; i < argc; i++) {
    eol = buf.indexOf(CRLF, p);
    if (eol < 0) return null;
    if (buf[p] !== 0x24) return 'expected $<length>';
    const len = parseInt(buf.toString('latin1', p + 1, eol), 10);
    if (!(len >= 0)) return 'bad bulk length';
    p = eol + 2;
    if (buf.length < p + len + 2) return null;
    args.push(buf.subarray(p, p + len));
    p += len + 2;
  }
  return { args, end: p };
}

function execute([name, key, value], out) {
  const command = name.toString('latin1').toUpperCase();
  if (command === 'PING') {
    out.push(PONG);
  } else if (command === 'SET' && value !== undefined) {
    store.set(key.toString('latin1'), value);
    out.push(OK);
  } else if (command === 'GET' && key !== undefined) {
    const found = store.get(key.toString('latin1'));
    if (found === undefined) out.push(NIL);
    else out.push(Buffer.from(`$${found.length}\r\n`), found, CRLF);
  } else {
    out.push(Buffer.from(`-ERR unknown command '${command}'\r\n`));
  }
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending = null;
  socket.on('data', (chunk) => {
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    const out = [];
    let pos = 0;
    for (;;) {
      const command = parseCommand(buf, pos);
      if (command === null) break;
      if (typeof command === 'string') {
        socket.end(`-ERR Protocol error: ${command}\r\n`);
        return;
      }
      execute(command.args, out);
      pos = command.end;
    }
    pending = pos === buf.length ? null : buf.subarray(pos);
    if (out.length > 0) socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
  });
  socket.on('error', () => socket.destroy());
});

serveNode(server);
