// The tuned line echo of the node:net and node:tls baselines (servers/net-echo-tuned.mjs,
// servers/tls-echo-tuned.mjs): every complete line a 'data' event brings goes back in one write;
// a partial line waits for the rest.
export function tunedEcho(socket) {
  socket.setNoDelay(true);
  let pending = null;
  socket.on('data', (chunk) => {
    const data = pending === null ? chunk : Buffer.concat([pending, chunk]);
    const end = data.lastIndexOf(10) + 1;  // just past the last '\n'
    if (end > 0) socket.write(end === data.length ? data : data.subarray(0, end));
    pending = end === data.length ? null : data.subarray(end);
  });
  socket.on('error', () => socket.destroy());
}
