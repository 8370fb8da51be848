import { describe, expect, it } from "vitest";

import { renderingFor } from "../src/paint";

describe("renderingFor", () => {
  it("keeps an 8×8 digit crisp when CSS scales it up", () => {
    expect(renderingFor(8, 8)).toBe("pixelated");
    expect(renderingFor(63, 10)).toBe("pixelated");
  });

  it("smooths photos", () => {
    expect(renderingFor(224, 224)).toBe("auto");
    expect(renderingFor(64, 8)).toBe("auto");
  });
});
