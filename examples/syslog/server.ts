// A syslog receiver (RFC 5424 and RFC 3164 over UDP, and optionally over a Unix datagram socket
// such as /dev/log) that writes one line per message to a sink: stdout or a file.
//
// Each receiver is a Dispatcher over a datagram socket, written as a Python asyncore UDP
// server is: createSocket(family, SOCK_DGRAM), bind, and in handleRead one recvmsg (recvfrom,
// plus the MSG_TRUNC flag that says a message was cut); writable() is false. The dispatcher
// calls handleRead once per waiting datagram, up to 32 per readiness event.
import fs from 'node:fs';
import {
  AF_INET, AF_INET6, AF_UNIX, Dispatcher, MSG_TRUNC, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF, socketMap, type Address,
  type Socket, type SocketMap,
} from '../../src';
import { formatJson, formatText, parseSyslog, type Received } from './message';

export type Format = 'text' | 'json';

export interface SyslogOptions {
  /** UDP address (default 127.0.0.1; an IPv6 address such as ::1 makes an AF_INET6 socket). */
  host?: string;
  /** UDP port (default 0: any free port, read it back from `port`). */
  port?: number;
  /** Also receive on this Unix datagram socket path (what `logger -u PATH` writes to). */
  unixPath?: string;
  /** Largest datagram kept whole (default 8192, RFC 5424's recommended maximum). */
  maxSize?: number;
  format?: Format;
  /** Where each line goes (default: stdout). */
  write?: (line: string) => void;
  map?: SocketMap;
}

/** A sink that appends lines to a file, synchronously (blocking mode never flushes async writes). */
export function fileSink(path: string): { write: (line: string) => void; close: () => void } {
  const fd = fs.openSync(path, 'a');
  return { write: (line) => fs.writeSync(fd, `${line}\n`), close: () => fs.closeSync(fd) };
}

const stdoutSink = (line: string): void => {
  fs.writeSync(1, `${line}\n`);
};

function describeSender(addr: Address | null): string | null {
  if (addr === null) return null;
  if (typeof addr === 'string') return addr || null;
  return addr[0].includes(':') ? `[${addr[0]}]:${addr[1]}` : `${addr[0]}:${addr[1]}`;
}

export class SyslogReceiver extends Dispatcher {
  constructor(
    family: number, addr: Address, private readonly maxSize: number, private readonly deliver: (r: Received) => void,
    map: SocketMap,
  ) {
    super(null, map);
    this.createSocket(family, SOCK_DGRAM);
    if (family !== AF_UNIX) this.setReuseAddr();
    // Room for bursts: datagrams that do not fit in the receive buffer are dropped by the kernel.
    this.socket!.setsockopt(SOL_SOCKET, SO_RCVBUF, 1 << 20);
    this.bind(addr);
  }

  override writable(): boolean {
    return false;
  }

  override handleRead(): void {
    const [data, , flags, from] = this.socket!.recvmsg(this.maxSize);
    if (data.length === 0) return;  // an empty datagram carries no message
    this.deliver({
      message: parseSyslog(data), receivedAt: new Date().toISOString(), from: describeSender(from),
      truncated: (flags & MSG_TRUNC) !== 0,
    });
  }

  // One bad datagram must not end the server (the default would close the socket).
  override handleError(err: unknown): void {
    this.logInfo(`receiving failed: ${err instanceof Error ? err.message : String(err)}`, 'error');
  }

  override handleClose(): void {
    this.close();
  }
}

export class SyslogServer {
  readonly udp: SyslogReceiver;
  readonly unix: SyslogReceiver | null = null;
  /** Messages written so far. */
  received = 0;
  private readonly unixPath: string | undefined;

  constructor(options: SyslogOptions = {}) {
    const map = options.map ?? socketMap;
    const maxSize = options.maxSize ?? 8192;
    const write = options.write ?? stdoutSink;
    const format = options.format === 'json' ? formatJson : formatText;
    const deliver = (r: Received): void => {
      this.received++;
      write(format(r));
    };
    const host = options.host ?? '127.0.0.1';
    this.udp = new SyslogReceiver(host.includes(':') ? AF_INET6 : AF_INET, [host, options.port ?? 0], maxSize, deliver, map);
    if (options.unixPath !== undefined) {
      try {
        fs.unlinkSync(options.unixPath);  // a stale socket file from an earlier run
      } catch {
        // none there
      }
      this.unixPath = options.unixPath;
      this.unix = new SyslogReceiver(AF_UNIX, options.unixPath, maxSize, deliver, map);
    }
  }

  get port(): number {
    return (this.udp.socket!.getsockname() as [string, number])[1];
  }

  close(): void {
    this.udp.close();
    if (this.unix !== null) {
      this.unix.close();
      try {
        fs.unlinkSync(this.unixPath!);
      } catch {
        // removed already
      }
    }
  }
}
