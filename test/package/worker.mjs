// worker_thread consumer: the addon loads into the worker's own environment and serves there.
import { parentPort } from 'node:worker_threads';
import * as asynchat from 'asynchat';
import lines from './serve-line.cjs';

parentPort.postMessage(await lines.serveOneLine(asynchat, 'hello from a worker'));
