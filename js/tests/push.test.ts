// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createControls, type Controls } from "../src/controls";
import { describeEpsilon, pushSpec, SLIDER_STEPS } from "../src/controls/pushControl";
import { explorerValues, FakeModel } from "./fakeModel";

describe("push specs", () => {
  it("slider position, attack and aim make the push trait; position 0 is no push", () => {
    expect(pushSpec(0, 0.2, 1, "away")).toEqual({});
    expect(pushSpec(SLIDER_STEPS / 2, 0.2, 1, "away")).toEqual({ epsilon: 0.1, steps: 1 });
    expect(pushSpec(10, 0.2, 10, "504")).toEqual({ epsilon: 0.02, steps: 10, toward: 504 });
  });

  it("says ε in pixel levels where the transform gives their size", () => {
    expect(describeEpsilon(0.015625, 0.0078125)).toBe("ε = 0.0156 (2.0 pixel levels)");
    expect(describeEpsilon(0.05, null)).toBe("ε = 0.0500 (input units)");
  });
});

describe("the push section", () => {
  let model: FakeModel;
  let controls: Controls;
  const query = <T extends Element>(selector: string) => controls.element.querySelector<T>(selector)!;

  beforeEach(() => {
    model = new FakeModel({
      ...explorerValues(),
      push: {},
      push_setup: { max: 0.2, pixel_level: 0.0078125, pgd_steps: 10, choices: [
        { index: 3, label: "tiger cat" }, { index: 4, label: "tabby cat" }] },
      push_info: {},
      flip: {},
      flip_request: 0,
    });
    controls = createControls(document, model, () => undefined);
    document.body.append(controls.element);
  });
  afterEach(() => {
    controls.dispose();
    controls.element.remove();
  });

  it("sends one push on release with the chosen attack and aim", () => {
    const aim = query<HTMLSelectElement>("select.xai-push-aim");
    expect([...aim.options].map((o) => o.textContent)).toEqual(["away from tiger cat", "toward tabby cat"]);
    aim.value = "4";
    aim.dispatchEvent(new Event("change"));
    expect(model.get("push")).toEqual({}); // no strength yet: still no push
    const attack = query<HTMLSelectElement>("select.xai-push-attack");
    attack.value = "10";
    attack.dispatchEvent(new Event("change"));
    const slider = query<HTMLInputElement>("input.xai-push-strength");
    slider.value = "25";
    slider.dispatchEvent(new Event("input"));
    expect(query(".xai-push-epsilon").textContent).toBe("ε = 0.0500 (6.4 pixel levels)");
    const saves = model.saveCount;
    slider.dispatchEvent(new Event("change"));
    expect(model.get("push")).toEqual({ epsilon: 0.05, steps: 10, toward: 4 });
    expect(model.saveCount).toBe(saves + 1);
  });

  it("shows what the push did for the push asked for, and the smallest flip", () => {
    model.kernelSet("push", { epsilon: 0.05, steps: 1 });
    model.kernelSet("push_info", { key: { image_index: 0, push: { epsilon: 0.05, steps: 1 } }, label: "tabby cat",
      confidence: 0.6, original_label: "tiger cat", flipped: true, max_change: 0.05, perturbation: new Uint8Array(0) });
    expect(query(".xai-push-outcome").textContent).toBe("now tabby cat (60.0%), was tiger cat: flipped");
    model.kernelSet("push_info", { key: { image_index: 0, push: { epsilon: 0.04, steps: 1 } }, label: "x" });
    expect(query(".xai-push-outcome").textContent).toBe(""); // an older push's answer is not shown
    query<HTMLButtonElement>("button.xai-push-flip").click();
    expect(model.get("flip_request")).toBe(1);
    const key = { image_index: 0, layer: "layer4", method: "gradcam", target: 3, target_spec: {},
      push: { epsilon: 0.05, steps: 1 }, params: {} };
    model.kernelSet("flip", { key, found: true, epsilon: 0.0078125, label: "tabby cat", confidence: 0.5 });
    expect(query(".xai-push-flip-result").textContent).toBe("ε = 0.00781 (1.0 pixel levels) → tabby cat (50.0%)");
  });
});
