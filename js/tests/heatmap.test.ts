import { describe, expect, it } from "vitest";
import { composeFrame, prepareMap } from "../src/heatmap";
import type { Pixels } from "../src/types";

const photo: Pixels = { width: 2, height: 1, data: new Uint8ClampedArray([10, 20, 30, 255, 40, 50, 60, 255]) };
const bytes = (values: number[]) => new DataView(new Float32Array(values).buffer);
const key = { image_index: 0, layer: "l", method: "m", target: 0 };

describe("prepareMap", () => {
  it("upsamples to the photo size and normalises", () => {
    const map = prepareMap({ seq: 1, key, shape: [1, 1], data: bytes([3]), signed: false }, 2, 1);
    expect(Array.from(map.normalized)).toEqual([0, 0]);
    const signed = prepareMap({ seq: 1, key, shape: [1, 2], data: bytes([-2, 1]), signed: true }, 2, 1);
    expect(signed.signed).toBe(true);
    expect(Array.from(signed.normalized)).toEqual([0, 0.75]);
  });
});

describe("composeFrame", () => {
  it("blends the coloured map over the photo", () => {
    const map = { normalized: new Float32Array([0, 1]), signed: false };
    const frame = composeFrame(photo, map, 1, "viridis");
    expect(Array.from(frame.pixels.data)).toEqual([68, 1, 84, 255, 253, 231, 36, 255]);
    expect(frame.note).toBe("");
    expect(Array.from(composeFrame(photo, map, 0, "viridis").pixels.data)).toEqual(Array.from(photo.data));
  });

  it("shows the photo alone without a map", () => {
    expect(Array.from(composeFrame(photo, null, 0.7, "jet").pixels.data)).toEqual(Array.from(photo.data));
  });

  it("draws signed maps with coolwarm when a sequential colormap is chosen", () => {
    const frame = composeFrame(photo, { normalized: new Float32Array([0, 1]), signed: true }, 1, "viridis");
    expect(Array.from(frame.pixels.data)).toEqual([58, 76, 192, 255, 179, 3, 38, 255]);
    expect(frame.note).toContain("coolwarm");
  });
});
