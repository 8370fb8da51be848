import { describe, expect, it } from "vitest";
import { parseClassQuery } from "../src/classQuery";
import { formatClass, formatLayer, formatPercent } from "../src/format";

const labels = ["tench", "goldfish", "Tiger Cat"];

describe("parseClassQuery", () => {
  it("accepts an index, the 'index: label' form and a name", () => {
    expect(parseClassQuery("2", labels)).toEqual({ ok: true, index: 2 });
    expect(parseClassQuery(" 1: goldfish ", labels)).toEqual({ ok: true, index: 1 });
    expect(parseClassQuery("tiger cat", labels)).toEqual({ ok: true, index: 2 });
  });

  it("rejects out-of-range indices, unknown names and empty text", () => {
    expect(parseClassQuery("3", labels)).toEqual({ ok: false, message: "no class 3 (0–2)" });
    expect(parseClassQuery("shark", labels)).toEqual({ ok: false, message: 'no class named "shark"' });
    expect(parseClassQuery("  ", labels).ok).toBe(false);
    expect(parseClassQuery("-1", labels).ok).toBe(false);
    expect(parseClassQuery("1", []).ok).toBe(false);
  });
});

describe("formatting", () => {
  it("formats layers, percentages and classes", () => {
    expect(formatLayer({ name: "layer4", shape: [512, 7, 7] })).toBe("layer4  512×7×7");
    expect(formatLayer({ name: "blocks.11.norm1", shape: [768, 14, 14], tokens: "1 prefix + 14×14 patch tokens" })).toBe(
      "blocks.11.norm1  768×14×14 · 1 prefix + 14×14 patch tokens",
    );
    expect(formatPercent(0.3921)).toBe("39.2%");
    expect(formatPercent(1)).toBe("100.0%");
    expect(formatClass(281, "tabby cat")).toBe("281: tabby cat");
  });
});
