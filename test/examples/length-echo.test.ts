// examples/length-echo: a Python client (struct.pack headers) in both run modes: messages of every
// size pipelined and cut into one-byte segments come back as sent; a header over --max-frame
// closes the connection at once, after the messages before it were echoed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LengthEchoServer } from '../../examples/length-echo/server';
import { MODES, fdBaseline, hasCommand, python, startCli, startInProcess, type Mode, type Running } from './helpers';

const MAX_FRAME = 200_000;
const havePython = hasCommand('python3', ['--version']);

function start(mode: Mode): Promise<Running> {
  if (mode === 'blocking') return startCli('length-echo', ['--mode', 'blocking', '--max-frame', String(MAX_FRAME)]);
  return Promise.resolve(startInProcess((map) => new LengthEchoServer({ map, maxFrameLength: MAX_FRAME })));
}

// The client: frame(payload) is struct.pack('>I', len) + payload; read_exactly(n) reads n bytes
// or what came before the end of the stream.
const CLIENT = `
import os, socket, struct, sys
port = int(sys.argv[1])
def connect():
  s = socket.create_connection(('127.0.0.1', port))
  s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
  s.settimeout(10)
  return s
def frame(p): return struct.pack('>I', len(p)) + p
def read_exactly(s, n):
  got = b''
  while len(got) < n:
    d = s.recv(n - len(got))
    if not d: break
    got += d
  return got
`;

describe.skipIf(!havePython).each(MODES)('length-echo example, %s mode, with a Python client', (mode) => {
  let server: Running;
  let settle: () => Promise<void>;

  beforeAll(async () => {
    settle = fdBaseline();
    server = await start(mode);
  });

  afterAll(async () => {
    await server?.stop();
    await settle();
  });

  it('echoes messages of every size, pipelined, and cut into one-byte segments', async () => {
    const out = await python(`${CLIENT}
s = connect()
payloads = [b'', b'x', os.urandom(100), os.urandom(70000), b'\\x00\\x00\\x00\\x05', os.urandom(MAX := 200000 - 4)]
stream = b''.join(frame(p) for p in payloads)
s.sendall(stream)
print('pipelined', read_exactly(s, len(stream)) == stream)
small = b''.join(frame(p) for p in payloads[:5])
for i in range(0, 200): s.sendall(small[i:i + 1])
s.sendall(small[200:])
print('segments', read_exactly(s, len(small)) == small)
`, [server.port]);
    expect(out).toBe('pipelined True\nsegments True\n');
  });

  it('closes a connection whose header announces more than --max-frame, without waiting for the body', async () => {
    const out = await python(`${CLIENT}
s = connect()
s.sendall(frame(b'before') + struct.pack('>I', 200000 - 3) + b'some of it')
print(read_exactly(s, 10) == frame(b'before'), read_exactly(s, 1) == b'')
t = connect()
t.sendall(frame(b'still serving'))
print(read_exactly(t, 17) == frame(b'still serving'))
`, [server.port]);
    expect(out).toBe('True True\nTrue\n');
  });
});
