import { describe, expect, it } from "vitest";
import { describeLatency, splitLatency } from "../src/latency";

describe("latency split", () => {
  it("puts what is neither kernel nor paint on the transport, never below zero", () => {
    expect(splitLatency(56.04, 3.2, 2.96)).toEqual({ total: 56, kernel: 3.2, paint: 3, transport: 49.9 });
    expect(splitLatency(4, 3, 2).transport).toBe(0);
    expect(describeLatency(splitLatency(56, 3, 3))).toBe("56 ms: kernel 3 · transport 50 · paint 3");
    expect(describeLatency({ ...splitLatency(4.2, 0, 3.1), cached: true })).toBe("4.2 ms from the maps sent ahead: paint 3.1");
  });
});
