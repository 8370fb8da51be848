// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { aucText, checkFor, createFaithPanel, curvePath, metricsText } from "../src/faithPlot";
import { FakeModel } from "./fakeModel";

const KEY = { image_index: 0, layer: "features", method: "gradcam", target: 3, params: {} };

describe("faithfulness panel", () => {
  it("draws a curve as a path across the box, clamped to 0–1", () => {
    expect(curvePath([0, 0.5, 1], [1, 0.5, 2])).toBe("M4.0,4.0L110.0,55.0L216.0,4.0");
    expect(curvePath([], [])).toBe("");
  });

  it("words the areas with their random baselines", () => {
    expect(aucText({ deletion: 0.1384, random_deletion: 0.28, insertion: 0.653, random_insertion: 0.397 })).toBe(
      "deletion AUC 0.138 (random 0.280, lower is better) · insertion AUC 0.653 (random 0.397, higher is better)",
    );
  });

  it("words ROAD, sensitivity and the random-logit test, naming the other class", () => {
    const metrics = {
      road_most: 0.1234,
      road_least: 0.9,
      random_road_most: 0.3,
      random_road_least: 0.6,
      max_sensitivity: 0.08,
      average_sensitivity: 0.07,
      random_logit_ssim: 0.45,
      other_class: 1,
    };
    expect(metricsText(metrics, ["cat", "doormat"])).toEqual([
      "ROAD, most relevant removed first 0.123 (random 0.300, lower is better) · least relevant first 0.900 (random 0.600, higher is better)",
      "sensitivity to 2 % noise: max 0.080, mean 0.070 (lower is steadier)",
      "map for “doormat” instead: SSIM 0.450 with this one (lower: the map depends on the class)",
    ]);
    expect(metricsText({ random_logit_ssim: 0.9, other_class: 7 })).toEqual([
      "map for class 7 instead: SSIM 0.900 with this one (lower: the map depends on the class)",
    ]);
    expect(metricsText(undefined)).toEqual([]);
  });

  it("shows a check only for the map on screen", () => {
    expect(checkFor({ key: KEY, running: true }, KEY)?.running).toBe(true);
    expect(checkFor({ key: { ...KEY, target: 4 }, running: true }, KEY)).toBeNull();
    expect(checkFor({ key: KEY }, null)).toBeNull();
  });

  it("asks the kernel with a counter and draws four curves when the answer comes", () => {
    const model = new FakeModel({ check_request: 0 });
    const panel = createFaithPanel(document, model);
    panel.element.querySelector<HTMLButtonElement>(".xai-faith-run")!.click();
    expect(model.get("check_request")).toBe(1);
    panel.show({ key: KEY, running: true });
    expect(panel.element.querySelector(".xai-faith-status")!.textContent).toBe("checking…");
    expect(panel.element.querySelector<HTMLButtonElement>(".xai-faith-run")!.disabled).toBe(true);
    const curve = [1, 0.5, 0];
    panel.show({
      key: KEY,
      fractions: [0, 0.5, 1],
      curves: { deletion: curve, insertion: curve, random_deletion: curve, random_insertion: curve },
      auc: { deletion: 0.5, insertion: 0.5, random_deletion: 0.5, random_insertion: 0.5 },
    });
    expect(panel.element.querySelectorAll("path[data-curve]").length).toBe(4);
    expect(panel.element.querySelector(".xai-faith-auc")!.textContent).toContain("deletion AUC 0.500");
  });
});
