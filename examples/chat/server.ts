// The classic asynchat chat room.
//
// A line protocol (lines end in "\n"; a "\r" before it is ignored, so telnet and nc -C work):
//   - the first line a client sends is its nick;
//   - every other line goes to everyone else as "<nick>: <line>";
//   - /who lists who is here, /quit leaves.
// Lines from the server are CRLF-terminated; notices start with "* ".
//
// A slow reader must not slow the room down, nor make it hold unbounded memory for it: a push()
// never waits, it queues. Each member's queue may hold `maxBacklog` bytes (its outputHighWater)
// beyond what its socket takes; past that, the member is dropped and the room is told.
import { AsyncChat, socketMap, type Address, type Socket, type SocketMap } from '../../src';
import { Listener, type ListenOptions } from '../common/listener';

export interface ChatOptions extends ListenOptions {
  /** Bytes that may wait to be sent to one member before it is dropped. Default 256 KiB. */
  maxBacklog?: number;
  /** The longest line a member may send (bytes); a longer one ends its session. Default 4 KiB. */
  maxLine?: number;
}

const NICK = /^[A-Za-z0-9_-]{1,20}$/;

export class ChatRoom {
  readonly map: SocketMap;
  readonly listener: Listener;
  readonly maxBacklog: number;
  readonly maxLine: number;
  /** Members that have picked a nick, by nick. */
  readonly members = new Map<string, ChatMember>();
  /** Every open connection, with or without a nick. */
  readonly connections = new Set<ChatMember>();

  constructor(options: ChatOptions = {}) {
    this.map = options.map ?? socketMap;
    this.maxBacklog = options.maxBacklog ?? 256 * 1024;
    this.maxLine = options.maxLine ?? 4096;
    this.listener = new Listener(options, (sock, addr) => new ChatMember(this, sock, addr));
  }

  get port(): number {
    return this.listener.port;
  }

  /** Sends a line to every member but `except`. */
  broadcast(line: string, except?: ChatMember): void {
    const bytes = Buffer.from(`${line}\r\n`);
    // A member may be dropped on the way (and that is announced, recursively): a snapshot.
    for (const member of [...this.members.values()]) {
      if (member !== except && !member.closed) member.deliver(bytes);
    }
  }

  join(member: ChatMember, nick: string): void {
    const others = [...this.members.keys()];
    this.members.set(nick, member);
    member.push(`* welcome, ${nick}! ${others.length ? `here: ${others.join(', ')}` : 'nobody else is here yet'}\r\n`);
    this.broadcast(`* ${nick} joined`, member);
  }

  /** A member is gone (it quit, closed, or was dropped): tell the others why. */
  leave(member: ChatMember, why: string): void {
    if (member.nick === null || this.members.get(member.nick) !== member) return;
    this.members.delete(member.nick);
    this.broadcast(`* ${member.nick} ${why}`);
  }

  /** Closes the listener and every connection. */
  close(): void {
    this.listener.close();
    for (const member of [...this.connections]) member.close();
    this.members.clear();
  }
}

export class ChatMember extends AsyncChat {
  nick: string | null = null;

  constructor(private readonly room: ChatRoom, sock: Socket, readonly peer: Address) {
    super(sock, room.map);
    room.connections.add(this);
    this.setTerminator('\n');
    // Past this many bytes without a "\n", handleError gets ERR_ASYNCHAT_INPUT_TOO_LARGE.
    this.maxInputBuffered = room.maxLine;
    // Past this many bytes queued for output, AsyncChat stops reading from this member (and
    // readable() turns false): the room takes that as "too far behind" and drops it.
    this.outputHighWater = room.maxBacklog;
    this.push('* welcome to the chat room; pick a nick:\r\n');
  }

  override collectIncomingData(data: Buffer): void {
    this.keepIncomingData(data);
  }

  override foundTerminator(): void {
    let line = this.getData().toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (this.nick === null) this.pickNick(line.trim());
    else if (line.startsWith('/')) this.command(line.trim());
    else if (line.length > 0) this.room.broadcast(`${this.nick}: ${line}`, this);
  }

  /** A line for this member, from the room. */
  deliver(line: Buffer): void {
    this.push(line);
    if (this.readable()) return;
    // Over the mark. Pushes wait (corked) for the end of the batch, so this may be one busy
    // batch rather than a slow reader: send what the socket takes now, and look again.
    this.initiateSend();
    if (!this.readable()) this.drop();
  }

  private pickNick(nick: string): void {
    if (!NICK.test(nick)) {
      this.push('* a nick is 1 to 20 letters, digits, _ or -; pick another:\r\n');
    } else if (this.room.members.has(nick)) {
      this.push(`* ${nick} is taken; pick another:\r\n`);
    } else {
      this.nick = nick;
      this.room.join(this, nick);
    }
  }

  private command(line: string): void {
    const name = line.split(/\s+/, 1)[0].toLowerCase();
    if (name === '/who') {
      this.push(`* here: ${[...this.room.members.keys()].join(', ')}\r\n`);
    } else if (name === '/quit') {
      this.push('* bye\r\n');
      this.closeWhenDone();
      this.room.leave(this, 'left');
    } else {
      this.push(`* unknown command ${name} (try /who or /quit)\r\n`);
    }
  }

  /**
   * More than maxBacklog bytes wait for this member: it reads too slowly to keep up. What it
   * has not been sent is dropped, it gets a last notice (sent only if its socket has room),
   * and the others are told.
   */
  private drop(): void {
    this.discardBuffers();
    this.push('* you were dropped: too far behind\r\n');
    this.close();
    this.room.leave(this, 'was dropped (too far behind)');
  }

  override handleClose(): void {
    this.close();
    this.room.leave(this, 'left');
  }

  override close(): void {
    super.close();
    this.room.connections.delete(this);
  }

  override handleError(err: unknown): void {
    if ((err as { code?: string }).code === 'ERR_ASYNCHAT_INPUT_TOO_LARGE') {
      this.discardBuffers();
      this.push(`* line too long (more than ${this.room.maxLine} bytes), bye\r\n`);
      this.close();
      this.room.leave(this, 'left (line too long)');
      return;
    }
    super.handleError(err);  // logs it and calls handleClose
  }
}
