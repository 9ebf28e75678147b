// The AsyncChat line echo with an idle timeout armed on every connection (busy and idle ones):
// what idleTimeout costs the busy path (the same run without it: chat-echo.mjs).
import { LineEcho } from '../lib/line-echo.mjs';
import { option, serve } from '../lib/serve.mjs';

const seconds = Number(option('idle-timeout', 300));

class TimedLineEcho extends LineEcho {
  constructor(sock) {
    super(sock);
    this.idleTimeout = seconds;
  }
}

await serve(TimedLineEcho);
