// Echo on a plain Dispatcher: what each read brings is sent straight back (README.md's echo).
import { Dispatcher } from 'asynchat';
import { serve } from '../lib/serve.mjs';

class Echo extends Dispatcher {
  handleRead() {
    const data = this.recv(8192);
    if (data.length) this.send(data);
  }

  handleClose() {
    this.close();
  }
}

await serve(Echo);
