// The AsyncChat line echo with 100,000 timers pending (an hour away) in its map: what many
// pending callLater() timers cost the busy path (the same run without them: chat-echo.mjs).
import { callLater } from 'asynchat';
import { LineEcho } from '../lib/line-echo.mjs';
import { option, serve } from '../lib/serve.mjs';

const count = Number(option('timers', 100_000));
const never = () => {
  throw new Error('a bench timer fired');
};
for (let i = 0; i < count; i++) callLater(3600 + i / count, never);
await serve(LineEcho);
