// Records are handed out as BufferView instances: they must be Buffers in every way a user can
// tell, and views (not copies) of the memory they were made from.
import { describe, expect, it } from 'vitest';
import { BufferView, inheritingBufferView, type BufferViewConstructor } from '../../src/engine/buffer-view';

function checkBufferView(View: BufferViewConstructor, exactPrototype: boolean): void {
  const memory = Buffer.allocUnsafeSlow(64);
  memory.write('....hello, world\r\n', 0, 'latin1');
  const view = new View(memory.buffer, 4, 12);
  expect(Buffer.isBuffer(view)).toBe(true);
  expect(view).toBeInstanceOf(Buffer);
  expect(view.constructor).toBe(Buffer);
  if (exactPrototype) expect(Object.getPrototypeOf(view)).toBe(Buffer.prototype);
  expect(view.toString('latin1')).toBe('hello, world');
  expect(view.length).toBe(12);
  expect(view.equals(Buffer.from('hello, world'))).toBe(true);
  expect(view.indexOf(',')).toBe(5);
  // subarray/slice give Buffers too.
  expect(Buffer.isBuffer(view.subarray(7))).toBe(true);
  expect(view.subarray(7).toString()).toBe('world');
  // A view: the memory it was made from shows through, both ways.
  memory[4] = 0x48;
  expect(view.toString('latin1', 0, 1)).toBe('H');
  view[1] = 0x45;
  expect(memory.toString('latin1', 4, 6)).toBe('HE');
  expect(Buffer.concat([view, Buffer.from('!')]).toString('latin1')).toBe('HEllo, world!');
}

describe('BufferView', () => {
  it('is Node\'s own Buffer class on Node: genuine Buffers over the given memory', () => {
    checkBufferView(BufferView, true);
  });

  it('the fallback for other runtimes gives Buffers as far as Buffer.isBuffer and methods go', () => {
    checkBufferView(inheritingBufferView(), false);
  });
});
