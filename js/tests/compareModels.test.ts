import { describe, expect, it } from "vitest";
import { withLayer } from "../src/compareModels";

describe("CompareModels layer choice", () => {
  it("changes one panel's entry and keeps the others (a copy, the trait's list untouched)", () => {
    const choice = ["_swish", "blocks.1.norm1"];
    expect(withLayer(choice, 1, "blocks.0.norm1")).toEqual(["_swish", "blocks.0.norm1"]);
    expect(choice).toEqual(["_swish", "blocks.1.norm1"]);
  });
});
