// The replies every HTTP benchmark server sends, byte for byte the same (the load generator
// checks them): the keep-alive 200, the 400 for a request it cannot parse, the end of a head, and
// the headers that make node:http send the same 200.
export const BODY = 'Hello, World!';
export const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n' +
  `Content-Length: ${Buffer.byteLength(BODY)}\r\nConnection: keep-alive\r\n\r\n${BODY}`,
);
export const BAD = Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
export const END = Buffer.from('\r\n\r\n');
// The headers node:http and node:https are given (with sendDate off) to send exactly RESPONSE.
export const NODE_HEADERS = {
  'Content-Type': 'text/plain',
  'Content-Length': String(Buffer.byteLength(BODY)),
  'Connection': 'keep-alive',
};
