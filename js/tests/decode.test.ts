import { describe, expect, it } from "vitest";
import { copyBytes, decodeMap } from "../src/decode";

const VALUES = [0, 1.5, -2.25, 3.4028234663852886e38, 1e-7, -0.5];

/** The values as float32 little endian, placed at byte offset 1 of a larger buffer. */
function unalignedView(values: number[]): DataView {
  const buffer = new ArrayBuffer(values.length * 4 + 3);
  const view = new DataView(buffer, 1, values.length * 4);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return view;
}

describe("decodeMap", () => {
  it("decodes a DataView at an odd byte offset", () => {
    const decoded = decodeMap(unalignedView(VALUES), [2, 3]);
    expect(Array.from(decoded)).toEqual(Array.from(new Float32Array(VALUES)));
  });

  it("decodes an ArrayBuffer and a Uint8Array", () => {
    const buffer = new Float32Array([1, 2, 3, 4]).buffer;
    expect(Array.from(decodeMap(buffer, [2, 2]))).toEqual([1, 2, 3, 4]);
    expect(Array.from(decodeMap(new Uint8Array(buffer), [1, 4]))).toEqual([1, 2, 3, 4]);
  });

  it("copies: later writes to the source do not change the result", () => {
    const bytes = new Uint8Array(new Float32Array([7]).buffer);
    const decoded = decodeMap(bytes, [1, 1]);
    bytes.fill(0);
    expect(decoded[0]).toBe(7);
  });

  it("throws a clear error when the byte count does not match the shape", () => {
    expect(() => decodeMap(unalignedView(VALUES), [2, 2])).toThrow("map data has 24 bytes, expected 16 for float32 2×2");
    expect(() => decodeMap(new Uint8Array(7), [1, 2])).toThrow(/expected 8/);
  });

  it("rejects malformed shapes and missing data", () => {
    expect(() => decodeMap(new Uint8Array(4), [1])).toThrow(/shape must be \[h, w\]/);
    expect(() => decodeMap(new Uint8Array(4), [0, 1])).toThrow(/shape/);
    expect(() => decodeMap(new Uint8Array(4), undefined)).toThrow(/shape/);
    expect(() => decodeMap(null, [1, 1])).toThrow("map data is missing");
  });
});

describe("copyBytes", () => {
  it("copies only the viewed range", () => {
    const view = new DataView(new Uint8Array([9, 1, 2, 3, 9]).buffer, 1, 3);
    expect(Array.from(copyBytes(view))).toEqual([1, 2, 3]);
  });
});
