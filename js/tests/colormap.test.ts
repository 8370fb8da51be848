import { describe, expect, it } from "vitest";
import {
  ALL_COLORMAPS,
  chooseColormap,
  colorize,
  colormapIndex,
  colormapTable,
  isDiverging,
  lookupColor,
} from "../src/colormap";

// Expected values from matplotlib 3.11: matplotlib.colormaps[name](v, bytes=True)[:3].
describe("colormap tables", () => {
  it("viridis endpoints and midpoint equal matplotlib", () => {
    expect(lookupColor("viridis", 0)).toEqual([68, 1, 84]);
    expect(lookupColor("viridis", 0.5)).toEqual([32, 144, 140]);
    expect(lookupColor("viridis", 1)).toEqual([253, 231, 36]);
  });

  it("coolwarm, turbo and gray endpoints equal matplotlib", () => {
    expect(lookupColor("coolwarm", 0)).toEqual([58, 76, 192]);
    expect(lookupColor("coolwarm", 0.5)).toEqual([221, 220, 219]);
    expect(lookupColor("coolwarm", 1)).toEqual([179, 3, 38]);
    expect(lookupColor("turbo", 0)).toEqual([48, 18, 59]);
    expect(lookupColor("turbo", 1)).toEqual([122, 4, 2]);
    expect(lookupColor("gray", 0)).toEqual([0, 0, 0]);
    expect(lookupColor("gray", 1)).toEqual([255, 255, 255]);
  });

  it("has 256 RGB entries for every colormap", () => {
    expect(ALL_COLORMAPS).toEqual(["turbo", "jet", "viridis", "inferno", "magma", "gray", "coolwarm", "RdBu_r", "bwr"]);
    for (const name of ALL_COLORMAPS) expect(colormapTable(name).length).toBe(768);
  });

  it("throws for an unknown colormap", () => {
    expect(() => colormapTable("plasma")).toThrow("unknown colormap: plasma");
  });
});

describe("colormapIndex", () => {
  it("rounds v × 255 and clamps to 0..255", () => {
    expect(colormapIndex(0)).toBe(0);
    expect(colormapIndex(0.5)).toBe(128);
    expect(colormapIndex(1)).toBe(255);
    expect(colormapIndex(1 / 255)).toBe(1);
    expect(colormapIndex(-3)).toBe(0);
    expect(colormapIndex(7)).toBe(255);
    expect(colormapIndex(NaN)).toBe(0);
  });
});

describe("colorize", () => {
  it("writes RGBA with alpha 255", () => {
    expect(Array.from(colorize(new Float32Array([0, 1]), "viridis"))).toEqual([68, 1, 84, 255, 253, 231, 36, 255]);
  });
});

describe("chooseColormap", () => {
  it("keeps the choice for unsigned maps", () => {
    expect(chooseColormap("jet", false)).toEqual({ name: "jet", note: "" });
    expect(chooseColormap("coolwarm", false)).toEqual({ name: "coolwarm", note: "" });
  });

  it("uses coolwarm for signed maps unless a diverging map is chosen", () => {
    expect(chooseColormap("bwr", true)).toEqual({ name: "bwr", note: "" });
    const choice = chooseColormap("viridis", true);
    expect(choice.name).toBe("coolwarm");
    expect(choice.note).toContain("coolwarm");
  });

  it("falls back to turbo for an unknown name", () => {
    expect(chooseColormap("plasma", false).name).toBe("turbo");
    expect(isDiverging("RdBu_r")).toBe(true);
    expect(isDiverging("viridis")).toBe(false);
  });
});
