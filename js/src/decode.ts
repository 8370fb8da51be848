import type { Binary } from "./types";

/** A fresh copy of the bytes of any binary value (the copy is always 4-byte aligned). */
export function copyBytes(data: Binary): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  throw new Error("map data is not binary (expected DataView, ArrayBuffer or typed array)");
}

/** Whether this machine stores numbers little endian (every browser in practice). */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decode an h×w map of little-endian float32 values (row-major) into a Float32Array.
 * Throws a readable Error when the shape is malformed or the byte count does not match it.
 */
export function decodeMap(data: Binary | null | undefined, shape: readonly number[] | undefined): Float32Array {
  if (!shape || shape.length !== 2 || !shape.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`map shape must be [h, w] with positive integers, got ${JSON.stringify(shape)}`);
  }
  if (data == null) throw new Error("map data is missing");
  const [h, w] = shape;
  const bytes = copyBytes(data);
  const expected = h * w * 4;
  if (bytes.byteLength !== expected) {
    throw new Error(`map data has ${bytes.byteLength} bytes, expected ${expected} for float32 ${h}×${w}`);
  }
  if (HOST_LITTLE_ENDIAN) return new Float32Array(bytes.buffer, 0, h * w);
  const view = new DataView(bytes.buffer);
  const values = new Float32Array(h * w);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  return values;
}
