// Type-checked in a consumer project (node16 resolution): the ESM entry's types resolve.
import { AsyncChat, loopAsync, type Socket } from 'asynchat';
import asynchat from 'asynchat';

class Echo extends AsyncChat {
  constructor(sock: Socket) { super(sock); this.setTerminator('\n'); }
  override foundTerminator(): void { this.push(this.getData()); }
}
export const started: Promise<void> = loopAsync();
export const echo: typeof Echo = Echo;
export const sameClass: boolean = asynchat.AsyncChat === AsyncChat;
