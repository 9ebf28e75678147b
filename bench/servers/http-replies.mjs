// The replies every HTTP benchmark server sends, byte for byte the same (the load generator
// checks them): the keep-alive 200, the 400 for a request it cannot parse, and the end of a head.
export const BODY = 'Hello, World!';
export const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n' +
  `Content-Length: ${Buffer.byteLength(BODY)}\r\nConnection: keep-alive\r\n\r\n${BODY}`,
);
export const BAD = Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
export const END = Buffer.from('\r\n\r\n');
