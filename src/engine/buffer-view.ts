// Making the Buffer for a record is on the hot path: one per record received. Buffer#subarray
// costs more than twice as much (TypedArray#subarray looks up the species constructor and
// re-reads the parent's ArrayBuffer each time) as constructing Node's own Buffer class
// (FastBuffer, which Buffer names as its species) from an ArrayBuffer the caller already holds
// (bench/record-path.mjs shows it); the result is a genuine Buffer: its prototype is
// Buffer.prototype.

/** `new BufferView(arrayBuffer, byteOffset, length)`: a Buffer over that memory, no copy. */
export type BufferViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Buffer;

/**
 * Outside Node (a runtime whose Buffer names no species of its own): a Uint8Array subclass
 * that inherits Buffer's methods and answers to Buffer.isBuffer.
 */
export function inheritingBufferView(): BufferViewConstructor {
  class BufferView extends Uint8Array {}
  Object.setPrototypeOf(BufferView.prototype, Buffer.prototype);
  Object.defineProperty(BufferView.prototype, 'constructor', { value: Buffer, writable: true, configurable: true });
  return BufferView as unknown as BufferViewConstructor;
}

function nodeBufferClass(): BufferViewConstructor {
  const species = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species];
  if (typeof species === 'function' && species.prototype === Buffer.prototype) {
    return species as BufferViewConstructor;
  }
  return inheritingBufferView();
}

export const BufferView: BufferViewConstructor = nodeBufferClass();
