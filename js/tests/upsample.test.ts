import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { upsampleBilinear } from "../src/upsample";

interface FixtureCase {
  in_shape: [number, number];
  out_shape: [number, number];
  input: number[];
  output?: number[];
  samples?: Array<[number, number, number]>;
}

const fixture: { cases: FixtureCase[] } = JSON.parse(
  readFileSync(new URL("./fixtures/upsample.json", import.meta.url), "utf-8"),
);

describe("upsampleBilinear", () => {
  it("doubles a 1×2 row with half-pixel centres and clamped borders", () => {
    // out x=0 → src -0.25 → clamped 0; x=1 → 0.25; x=2 → 0.75; x=3 → 1.25 → neighbours clamped.
    expect(Array.from(upsampleBilinear(new Float32Array([0, 4]), 1, 2, 1, 4))).toEqual([0, 1, 3, 4]);
  });

  it("upsamples 2×2 to 4×4 like PyTorch", () => {
    const out = upsampleBilinear(new Float32Array([0, 1, 2, 3]), 2, 2, 4, 4);
    expect(Array.from(out)).toEqual([0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
  });

  it("keeps a constant map constant and the same size unchanged", () => {
    expect(Array.from(upsampleBilinear(new Float32Array(6).fill(2), 2, 3, 5, 7)).every((v) => v === 2)).toBe(true);
    const values = new Float32Array([1, -2, 3, 4, 5, -6]);
    expect(Array.from(upsampleBilinear(values, 2, 3, 2, 3))).toEqual(Array.from(values));
  });

  it("rejects a value count that does not match the shape", () => {
    expect(() => upsampleBilinear(new Float32Array(5), 2, 3, 4, 6)).toThrow(/5 values for 2×3/);
  });

  for (const c of fixture.cases) {
    const [h, w] = c.in_shape;
    const [outH, outW] = c.out_shape;
    it(`matches torch F.interpolate for ${h}×${w} → ${outH}×${outW}`, () => {
      const out = upsampleBilinear(new Float32Array(c.input), h, w, outH, outW);
      expect(out.length).toBe(outH * outW);
      const expected = c.output ?? [];
      for (let i = 0; i < expected.length; i++) expect(out[i]).toBeCloseTo(expected[i], 5);
      for (const [row, col, value] of c.samples ?? []) expect(Math.abs(out[row * outW + col] - value)).toBeLessThan(1e-5);
      expect(expected.length + (c.samples?.length ?? 0)).toBeGreaterThan(0);
    });
  }
});
