// The listening socket every example server starts with: a Dispatcher that binds, listens, and
// hands each accepted connection to the protocol's AsyncChat subclass.
import {
  AF_INET, AF_INET6, Dispatcher, setReusePort, socketMap, type Address, type Socket, type SocketMap, type TlsContext,
} from '../../src';

/** What the servers' command lines default --idle-timeout to (seconds). */
export const DEFAULT_IDLE_TIMEOUT = 300;

export interface ListenOptions {
  /** Default 127.0.0.1 (an IPv6 address such as ::1 makes an AF_INET6 socket). */
  host?: string;
  /** Default 0: the kernel picks a free port (read it back from `port`). */
  port?: number;
  /** The socket map to serve from (default: the global socketMap). */
  map?: SocketMap;
  backlog?: number;
  /**
   * Seconds a connection may stay silent (no byte in, none taken out) before it is closed;
   * null or 0: never (the default here; the command lines default to DEFAULT_IDLE_TIMEOUT).
   */
  idleTimeout?: number | null;
  /** Connections held at once; the others wait in the backlog (default: no limit). */
  maxConnections?: number | null;
  /** Share the port with the listeners of other threads (SO_REUSEPORT; see serveThreads). */
  reusePort?: boolean;
  /** Serve TLS: each accepted connection starts it (server side) before anything is read. */
  tls?: TlsContext;
}

export class Listener extends Dispatcher {
  private readonly connectionTimeout: number | null;
  private readonly tls: TlsContext | undefined;

  constructor(options: ListenOptions, private readonly onAccept: (sock: Socket, addr: Address) => Dispatcher | void) {
    super(null, options.map ?? socketMap);
    this.connectionTimeout = options.idleTimeout || null;
    this.maxConnections = options.maxConnections ?? null;
    this.tls = options.tls;
    const host = options.host ?? '127.0.0.1';
    this.createSocket(host.includes(':') ? AF_INET6 : AF_INET);
    this.setReuseAddr();
    if (options.reusePort) setReusePort(this.socket!);
    this.bind([host, options.port ?? 0]);
    this.listen(options.backlog ?? 128);
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return (this.socket!.getsockname() as [string, number])[1];
  }

  override handleAccepted(sock: Socket, addr: Address): void {
    const channel = this.onAccept(sock, addr);
    if (this.tls !== undefined && channel instanceof Dispatcher && !channel.closed) {
      channel.startTls(this.tls, { serverSide: true, cleartextFirst: false });
    }
    if (channel instanceof Dispatcher && this.connectionTimeout !== null && !channel.closed) {
      channel.idleTimeout = this.connectionTimeout;
    }
  }

  // The default handleError closes the channel: for a listener, that would end the server
  // because of one connection that went wrong. Log it and keep listening.
  override handleError(err: unknown): void {
    this.logInfo(`accepting a connection failed: ${err instanceof Error ? err.message : String(err)}`, 'error');
  }

  override handleClose(): void {
    this.close();
  }
}
