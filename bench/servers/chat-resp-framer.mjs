// A Redis-protocol server (PING, SET, GET on an in-memory map) on the RESP framer: one native
// parse per read splits it into commands and arguments (resp-framer-session.mjs).
import { serve } from '../lib/serve.mjs';
import { RespFramerSession } from './resp-framer-session.mjs';

await serve(RespFramerSession);
