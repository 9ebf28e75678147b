// Many connections, each with an idle timeout: all are held until their timeout, and all
// expire on time. The clients are a child process (test/fixtures/idle-clients.mjs), so that
// both ends fit RLIMIT_NOFILE. The suite runs 2,000 (ASYNCHAT_MANY_CONNECTIONS=10000 for the
// issue's full count); where the fd limit is lower, as many as it allows, said in the title.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { stateOf, type SocketMap } from '../../src/engine/map-state';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import { closeAll, loop, loopAsync } from '../../src/asyncore/loop';
import { callLater, now } from '../../src/asyncore/timers';
import { ExitNow } from '../../src/errors';
import { Socket } from '../../src/binding/socket';
import { fdLimit } from '../helpers/fds';
import { LoopbackListener } from '../helpers/asyncore';

const WANTED = Number(process.env.ASYNCHAT_MANY_CONNECTIONS ?? 2000);
const limit = fdLimit();
const COUNT = Math.max(0, Math.min(WANTED, limit - 300));
const scale = COUNT === WANTED ? `${COUNT} connections` : `${COUNT} connections (only: ulimit -n is ${limit})`;
const IDLE = 2;
// A timeout fires within this much of its deadline, on a loaded machine.
const LATE = 1.5;

let map: SocketMap;
beforeEach(() => {
  map = new Map();
});
afterEach(() => {
  closeAll(map, true);
});

interface Record {
  lastRead: number;
  timedOut: number;
  closedByPeer: boolean;
}

class Held extends Dispatcher {
  readonly record: Record = { lastRead: 0, timedOut: 0, closedByPeer: false };
  override handleRead(): void {
    // The idle clock reads the time once per batch, at its start (the data had arrived by
    // then): that is the time this event counts from, not handleRead's own now(), which a
    // loaded machine can make later by the time the batch took to get here.
    if (this.recv(16).length > 0) this.record.lastRead = stateOf(map).stamp;
  }
  override handleTimeout(): void {
    this.record.timedOut = now();
    this.close();
  }
  override handleClose(): void {
    this.record.closedByPeer = true;
    this.close();
  }
}

class Server extends LoopbackListener {
  readonly records: Record[] = [];
  constructor() {
    super(map, 1024);
  }
  override handleAccepted(sock: Socket): void {
    const h = new Held(sock, map);
    h.idleTimeout = IDLE;
    this.records.push(h.record);
    if (this.records.length === COUNT) this.close();
  }
}

describe.each(['blocking', 'attached'] as const)('%s mode', (mode) => {
  it.skipIf(COUNT === 0)(`${scale} with idleTimeout ${IDLE} s: all held, all expired on time`, async () => {
    const server = new Server();
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'fixtures', 'idle-clients.mjs'),
      String(server.port), String(COUNT), '60'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    // The map empties once every connection timed out (the listener closes after the last
    // accept); the guard ends a run that would not.
    const guard = callLater({ seconds: 60, map }, () => {
      throw new ExitNow('not all expired within 60 s');
    });
    guard.unref();
    const t0 = now();
    if (mode === 'blocking') loop({ timeout: 30, map });
    else await loopAsync({ map });
    guard.cancel();
    const elapsed = now() - t0;
    const code = await exited;
    const records = server.records;
    expect(records).toHaveLength(COUNT);
    expect(records.filter((r) => r.closedByPeer)).toHaveLength(0);
    expect(records.filter((r) => r.timedOut === 0)).toHaveLength(0);
    const early = records.filter((r) => r.timedOut - r.lastRead < IDLE);
    const late = records.filter((r) => r.timedOut - r.lastRead > IDLE + LATE);
    expect(early.map((r) => r.timedOut - r.lastRead), "closed before their idle timeout").toHaveLength(0);
    expect(late, `closed more than ${LATE} s after their idle timeout`).toHaveLength(0);
    expect(code, out).toBe(0);
    expect(out).toMatch(new RegExp(`^connected ${COUNT}\\nclosed ${COUNT} failed 0`));
    expect(elapsed).toBeLessThan(45);
  }, 90_000);
});
