// The README's example command, as CI runs it: `npm run example:resp` on a free port must print
// where it listens and answer a RESP PING with +PONG; Ctrl-C (SIGINT to its process group, as a
// terminal sends it) must then end every process of it within 10 s. (That the example itself
// exits 0 on SIGINT is tested by test/examples/cli.test.ts, without npm in between: npm dies of
// the signal itself.) 60 s at most in all.
import { spawn } from 'node:child_process';
import net from 'node:net';

const child = spawn('npm', ['run', 'example:resp', '--', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
const group = child.pid;
const alive = () => {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
};
const fail = (why) => {
  console.error(`README example: ${why}`);
  if (alive()) process.kill(-group, 'SIGKILL');
  process.exit(1);
};
const timer = setTimeout(() => fail('no answer within 60 s'), 60_000);
let out = '';
let probed = false;
child.stdout.on('data', (d) => {
  out += d;
  const m = /listening on ([\d.]+):(\d+)/.exec(out);
  if (m === null || probed) return;
  probed = true;
  const sock = net.connect(Number(m[2]), m[1], () => sock.write('PING\r\n'));
  sock.on('error', (err) => fail(err.message));
  sock.on('data', (reply) => {
    if (reply.toString() !== '+PONG\r\n') fail(`PING answered ${JSON.stringify(reply.toString())}`);
    sock.destroy();
    process.kill(-group, 'SIGINT');
    const deadline = Date.now() + 10_000;
    const check = setInterval(() => {
      if (alive() && Date.now() < deadline) return;
      clearInterval(check);
      clearTimeout(timer);
      if (alive()) fail('still running 10 s after SIGINT');
      console.log('README example: listened, answered PING with +PONG, ended on SIGINT');
    }, 50);
  });
});
child.on('exit', (code, signal) => {
  if (!probed) fail(`exited (${signal ?? code}) before it listened:\n${out}`);
});
