import { describe, expect, it } from "vitest";
import { blendPixels, opaquePhoto } from "../src/blend";

const photo = new Uint8ClampedArray([10, 20, 30, 255, 0, 255, 101, 128]);
const heat = new Uint8ClampedArray([250, 0, 31, 255, 255, 0, 100, 255]);

describe("blendPixels", () => {
  it("opacity 0 gives the photo exactly (alpha 255)", () => {
    expect(Array.from(blendPixels(photo, heat, 0))).toEqual([10, 20, 30, 255, 0, 255, 101, 255]);
  });

  it("opacity 1 gives the heat colours exactly", () => {
    expect(Array.from(blendPixels(photo, heat, 1))).toEqual([250, 0, 31, 255, 255, 0, 100, 255]);
  });

  it("opacity 0.5 gives the mean, halves rounded up", () => {
    expect(Array.from(blendPixels(photo, heat, 0.5))).toEqual([130, 10, 31, 255, 128, 128, 101, 255]);
  });

  it("clamps opacity to 0..1", () => {
    expect(Array.from(blendPixels(photo, heat, 2))).toEqual(Array.from(blendPixels(photo, heat, 1)));
    expect(Array.from(blendPixels(photo, heat, -1))).toEqual(Array.from(blendPixels(photo, heat, 0)));
  });

  it("rejects pixel buffers of different sizes", () => {
    expect(() => blendPixels(photo, new Uint8ClampedArray(4), 0.5)).toThrow(/blend/);
  });
});

describe("opaquePhoto", () => {
  it("sets alpha to 255 and keeps colours", () => {
    expect(Array.from(opaquePhoto(photo))).toEqual([10, 20, 30, 255, 0, 255, 101, 255]);
  });
});
