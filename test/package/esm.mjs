// ES module consumer: import asynchat (named and default), check that it is the same library
// as require('asynchat') (one socket map, one set of classes), serve a line, then do the same
// inside a worker_thread; prints the results as JSON.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import * as asynchat from 'asynchat';
import asynchatDefault from 'asynchat';
import lines from './serve-line.cjs';

const fromRequire = createRequire(import.meta.url)('asynchat');
if (asynchat.AsyncChat !== fromRequire.AsyncChat || asynchatDefault.socketMap !== fromRequire.socketMap) {
  throw new Error('the ESM and CommonJS entries gave two different copies of asynchat');
}
const main = await lines.serveOneLine(asynchat, 'hello from import');

const worker = new Worker(new URL('./worker.mjs', import.meta.url));
const inWorker = await new Promise((resolve, reject) => {
  worker.once('message', resolve);
  worker.once('error', reject);
  worker.once('exit', (code) => reject(new Error(`the worker exited (${code}) without an answer`)));
});
console.log(JSON.stringify({ main, worker: inWorker }));
