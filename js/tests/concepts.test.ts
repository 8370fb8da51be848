import { describe, expect, it } from "vitest";
import { conceptFrame, hexColor } from "../src/concepts";

const map = (values: number[]) => ({ values: Float32Array.from(values), signed: false, normalized: {} });

describe("concept frame", () => {
  it("reads colours", () => {
    expect(hexColor("#e6194b")).toEqual([230, 25, 75]);
  });

  it("colours each pixel by the concept that dominates it, as opaque as its strength", () => {
    const photo = { width: 3, height: 1, data: new Uint8ClampedArray([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]) };
    // concept 0 peaks on pixel 0, concept 1 on pixel 2; pixel 1 is concept 1 at half its peak
    const frame = conceptFrame(photo, [map([2, 0.4, 0]), map([0, 1, 2])], ["#ff0000", "#0000ff"], 1);
    expect(Array.from(frame.data)).toEqual([255, 0, 0, 255, 0, 0, 128, 255, 0, 0, 255, 255]);
  });
});
