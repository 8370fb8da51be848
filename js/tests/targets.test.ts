// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createControls, type Controls } from "../src/controls";
import { specForClass, specForKind } from "../src/controls/targetControl";
import { createTargetPicker, photoPoint, regionSpec, type TargetPicker } from "../src/targetPicker";
import { explorerValues, FakeModel } from "./fakeModel";

const top = explorerValues().top_classes as Array<{ index: number; label: string; prob: number }>;

describe("target specs", () => {
  it("a kind picked in the select starts from the spec it needs", () => {
    expect(specForKind("class", 3, top)).toEqual({});
    expect(specForKind("probability", 3, top)).toEqual({ kind: "probability" });
    expect(specForKind("contrast", 3, top)).toEqual({ kind: "contrast", other: 4 });
    expect(specForKind("contrast", 4, top)).toEqual({ kind: "contrast", other: 3 });
  });

  it("a new class keeps the spec, except a clicked region and a contrast with itself", () => {
    const contrast = { kind: "contrast", other: 4 };
    expect(specForClass(contrast, 2, top)).toBe(contrast);
    expect(specForClass(contrast, 4, top)).toEqual({ kind: "contrast", other: 3 });
    expect(specForClass({ kind: "region", x: 3, y: 4 }, 2, top)).toEqual({ kind: "region" });
    const whole = { kind: "region" };
    expect(specForClass(whole, 2, top)).toBe(whole);
  });

  it("maps a point on the canvas to photo pixels, in either panel of side by side", () => {
    const photo = { width: 100, height: 50 };
    expect(photoPoint(0.5, 0.5, photo, photo)).toEqual({ x: 50, y: 25 });
    expect(photoPoint(1, 1, photo, photo)).toEqual({ x: 99.9, y: 49.9 });
    const sideBySide = { width: 208, height: 50 };
    expect(photoPoint(150 / 208, 0.2, sideBySide, photo)).toEqual({ x: 42, y: 10 });
  });

  it("a click is a point, a drag a rectangle", () => {
    expect(regionSpec({ x: 10, y: 10 }, { x: 11, y: 12 })).toEqual({ kind: "region", x: 10, y: 10 });
    expect(regionSpec({ x: 10, y: 10 }, { x: 30, y: 12 })).toEqual({ kind: "region", x: 10, y: 10, x2: 30, y2: 12 });
  });
});

describe("the Explain row", () => {
  let model: FakeModel;
  let controls: Controls;
  const query = <T extends Element>(selector: string) => controls.element.querySelector<T>(selector)!;

  beforeEach(() => {
    model = new FakeModel(explorerValues());
    controls = createControls(document, model, () => undefined);
    document.body.append(controls.element);
  });
  afterEach(() => {
    controls.dispose();
    controls.element.remove();
  });

  it("offers the kinds that fit, disables the others and says why", () => {
    const options = [...query<HTMLSelectElement>("select.xai-target-kind").options];
    expect(options.map((o) => [o.value, o.disabled])).toEqual([
      ["class", false],
      ["probability", false],
      ["contrast", false],
      ["similarity", true],
      ["region", true],
      ["box", true],
    ]);
    const reasons = [...controls.element.querySelectorAll(".xai-target-absent li")].map((li) => li.textContent);
    expect(reasons).toEqual([
      "Similarity to a reference: pass reference=",
      "Segmentation region: needs per-pixel scores",
      "Detected box: needs a detector's boxes",
    ]);
  });

  it("a contrast shows 'rather than' with the other top classes; choosing B saves once", () => {
    const kind = query<HTMLSelectElement>("select.xai-target-kind");
    const otherRow = query<HTMLElement>("select.xai-target-other").parentElement!;
    expect(otherRow.hidden).toBe(true);
    kind.value = "contrast";
    kind.dispatchEvent(new Event("change"));
    expect(model.get("target_spec")).toEqual({ kind: "contrast", other: 4 });
    expect(otherRow.hidden).toBe(false);
    const other = query<HTMLSelectElement>("select.xai-target-other");
    expect([...other.options].map((o) => o.value)).toEqual(["4", "2", "5", "6"]);
    const saves = model.saveCount;
    other.value = "6";
    other.dispatchEvent(new Event("change"));
    expect(model.get("target_spec")).toEqual({ kind: "contrast", other: 6 });
    expect(model.saveCount).toBe(saves + 1);
    // choosing class B as the class moves B to the next listed class, in the same message
    query<HTMLButtonElement>('.xai-top-item[data-index="6"]').click();
    expect(model.get("target")).toBe(6);
    expect(model.get("target_spec")).toEqual({ kind: "contrast", other: 3 });
    expect(model.saveCount).toBe(saves + 2);
  });

  it("says what the map on screen explains once its result is the wanted one", () => {
    const explains = query<HTMLElement>(".xai-explains");
    expect(explains.hidden).toBe(true);
    const key = { image_index: 0, layer: "layer4", method: "gradcam", target: 3, target_spec: {}, params: {} };
    model.kernelSet("result", { seq: 1, key, explains: "tiger cat", error: null });
    expect(explains.textContent).toBe("explains: tiger cat");
    model.kernelSet("result", { seq: 2, key: { ...key, target: 4 }, explains: "tabby cat", error: null });
    expect(explains.hidden).toBe(true);
  });
});

describe("picking on the image", () => {
  let model: FakeModel;
  let picker: TargetPicker;
  beforeEach(() => {
    model = new FakeModel(explorerValues());
    picker = createTargetPicker(document, model);
    document.body.append(picker.element);
    picker.layout({ width: 100, height: 50 }, { width: 100, height: 50 });
  });
  afterEach(() => {
    picker.dispose();
    picker.element.remove();
  });

  it("draws a detector's boxes in percent of the canvas; a click chooses the box", () => {
    model.kernelSet("output_kind", "detection");
    model.kernelSet("boxes", [
      { index: 0, box: [10, 5, 60, 45], label: "dog (box 1)", score: 0.9 },
      { index: 1, box: [50, 0, 100, 25], label: "cat (box 2)", score: 0.5 },
    ]);
    model.kernelSet("target", 0);
    const boxes = [...picker.element.querySelectorAll<HTMLButtonElement>(".xai-box")];
    expect(boxes.map((b) => b.dataset.index)).toEqual(["1", "0"]); // the chosen one on top
    const first = boxes[1];
    expect([first.style.left, first.style.top, first.style.width, first.style.height]).toEqual(["10%", "10%", "50%", "80%"]);
    boxes[0].click();
    expect(model.get("target")).toBe(1);
    expect(picker.element.querySelector(".xai-box.xai-selected")!.getAttribute("data-index")).toBe("1");
  });

  it("is inert for a classifier and draws no boxes", () => {
    expect(picker.element.dataset.kind).toBe("classes");
    expect(picker.element.querySelectorAll(".xai-box")).toHaveLength(0);
  });
});
