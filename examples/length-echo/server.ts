// An echo of length-prefixed messages: each message is a 4-byte big-endian length and that many
// bytes, and comes back as it was sent. The framer (framers.lengthPrefixed()) does the framing
// in C++: collectIncomingData gets each message's payload, a view of the read (or, for a message
// that spanned reads, of the one buffer it was joined in), and foundTerminator() ends it; a
// length over maxFrameLength closes the connection from the header, before its bytes are buffered.
import { AsyncChat, framers, socketMap, type Framer, type LengthPrefixedOptions, type Socket, type SocketMap } from '../../src';
import { Listener, type ListenOptions } from '../common/listener';

export interface LengthEchoOptions extends ListenOptions {
  /** The largest message, its 4-byte header included (default 1 MiB). */
  maxFrameLength?: number;
}

export class LengthEchoServer {
  readonly listener: Listener;
  readonly map: SocketMap;
  readonly framer: Framer<Required<LengthPrefixedOptions>>;

  constructor(options: LengthEchoOptions = {}) {
    this.map = options.map ?? socketMap;
    this.framer = framers.lengthPrefixed({ lengthFieldLength: 4, maxFrameLength: options.maxFrameLength ?? 1024 * 1024 });
    this.listener = new Listener(options, (sock) => new LengthEchoSession(this, sock));
  }

  get port(): number {
    return this.listener.port;
  }
}

// push() copies what it is given, so one header buffer serves every reply.
const header = Buffer.alloc(4);

export class LengthEchoSession extends AsyncChat {
  private payload: Buffer | null = null;

  constructor(server: LengthEchoServer, sock: Socket) {
    super(sock, server.map);
    this.setTerminator(server.framer);
  }

  override collectIncomingData(data: Buffer): void {
    this.payload = data;  // a message has one field: its payload
  }

  override foundTerminator(): void {
    const payload = this.payload!;
    this.payload = null;
    header.writeUInt32BE(payload.length);
    this.push(header);
    this.push(payload);
  }

  override handleError(err: unknown): void {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_ASYNCHAT_FRAME_TOO_LARGE' || code === 'ERR_ASYNCHAT_BAD_FRAME') {
      this.logInfo(`closing ${String(this.addr)}: ${(err as Error).message}`, 'info');
      this.close();
      return;
    }
    super.handleError(err);
  }
}
