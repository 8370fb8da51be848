// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createControls, type Controls } from "../src/controls";
import { explorerValues, FakeModel } from "./fakeModel";

let model: FakeModel;
let controls: Controls;
let displayChanges: number;

function query<T extends Element>(selector: string): T {
  const found = controls.element.querySelector<T>(selector);
  if (!found) throw new Error(`no ${selector}`);
  return found;
}

function fire(element: Element, type: string): void {
  element.dispatchEvent(new Event(type, { bubbles: true }));
}

beforeEach(() => {
  model = new FakeModel(explorerValues());
  displayChanges = 0;
  controls = createControls(document, model, () => (displayChanges += 1));
  document.body.append(controls.element);
});

afterEach(() => {
  controls.dispose();
  controls.element.remove();
});

describe("shared controls save", () => {
  it("layer select sets layer, saves and moves the slider", () => {
    const select = query<HTMLSelectElement>(".xai-layer-select");
    expect(Array.from(select.options).map((o) => o.textContent)).toEqual([
      "layer1  64×56×56",
      "layer2  128×28×28",
      "layer4  512×7×7",
    ]);
    select.value = "layer2";
    fire(select, "change");
    expect(model.setCalls).toEqual([["layer", "layer2"]]);
    expect(model.saveCount).toBe(1);
    expect(query<HTMLInputElement>(".xai-layer-slider").value).toBe("1");
  });

  it("layer slider sweeps layers by index and keeps the select in sync", () => {
    const slider = query<HTMLInputElement>(".xai-layer-slider");
    expect(slider.max).toBe("2");
    expect(slider.value).toBe("2");
    slider.value = "0";
    fire(slider, "input");
    expect(model.get("layer")).toBe("layer1");
    expect(model.saveCount).toBe(1);
    expect(query<HTMLSelectElement>(".xai-layer-select").value).toBe("layer1");
  });

  it("method select sets method and disables the layer control for methods without a layer", () => {
    const select = query<HTMLSelectElement>(".xai-method-select");
    expect(Array.from(select.options).map((o) => [o.value, o.textContent])).toEqual([
      ["gradcam", "Grad-CAM"],
      ["saliency", "Saliency"],
      ["ig", "Integrated gradients"],
      ["smoothgrad", "SmoothGrad"],
      ["eigencam", "Eigen-CAM"],
    ]);
    expect(query<HTMLSelectElement>(".xai-layer-select").disabled).toBe(false);
    select.value = "saliency";
    fire(select, "change");
    expect(model.setCalls).toEqual([
      ["method", "saliency"],
      ["method_params", {}],
    ]);
    expect(model.saveCount).toBe(1);
    expect(query<HTMLSelectElement>(".xai-layer-select").disabled).toBe(true);
    expect(query<HTMLInputElement>(".xai-layer-slider").disabled).toBe(true);
  });

  it("clicking a top class sets target and saves; the selected class is highlighted", () => {
    const buttons = controls.element.querySelectorAll<HTMLButtonElement>(".xai-top-item");
    expect(buttons.length).toBe(5);
    expect(buttons[0].classList.contains("xai-selected")).toBe(true);
    expect(buttons[0].textContent).toBe("tiger cat39.0%");
    buttons[1].click();
    expect(model.setCalls).toEqual([["target", 4]]);
    expect(model.saveCount).toBe(1);
    const selected = controls.element.querySelectorAll(".xai-top-item.xai-selected");
    expect(Array.from(selected).map((b) => b.getAttribute("data-index"))).toEqual(["4"]);
  });

  it("labels are shown as text, never parsed as HTML", () => {
    const shark = controls.element.querySelectorAll(".xai-top-label")[2];
    expect(shark.textContent).toBe("<b>shark</b>");
    expect(controls.element.querySelector("b")).toBeNull();
  });

  it("class picker accepts an index or a name on Enter and change", () => {
    const input = query<HTMLInputElement>(".xai-class-input");
    expect(input.value).toBe("3: tiger cat");
    expect(controls.element.querySelectorAll("datalist option").length).toBe(10);
    input.value = "7";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(model.get("target")).toBe(7);
    input.value = "daisy";
    fire(input, "change");
    expect(model.get("target")).toBe(8);
    expect(model.saveCount).toBe(2);
  });

  it("class picker shows a message and sends nothing for an invalid entry", () => {
    const input = query<HTMLInputElement>(".xai-class-input");
    input.value = "unicorn";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(query(".xai-inline-message").textContent).toBe('no class named "unicorn"');
    input.value = "99";
    fire(input, "change");
    expect(query(".xai-inline-message").textContent).toBe("no class 99 (0–9)");
    expect(model.saveCount).toBe(0);
    expect(model.setCalls).toEqual([]);
  });

  it("image picker sets image_index, and hides with a single image", () => {
    const select = query<HTMLSelectElement>(".xai-image-select");
    select.value = "1";
    fire(select, "change");
    expect(model.setCalls).toEqual([["image_index", 1]]);
    expect(model.saveCount).toBe(1);
    expect(select.closest<HTMLElement>(".xai-row")!.hidden).toBe(false);
    model.kernelSet("image_names", ["only"]);
    expect(select.closest<HTMLElement>(".xai-row")!.hidden).toBe(true);
  });
});

describe("display controls never save", () => {
  it("opacity slider repaints without set or save_changes", () => {
    const slider = query<HTMLInputElement>(".xai-opacity");
    expect(slider.value).toBe("0.5");
    slider.value = "0.8";
    fire(slider, "input");
    expect(controls.display().opacity).toBeCloseTo(0.8);
    expect(displayChanges).toBe(1);
    expect(model.setCalls).toEqual([]);
    expect(model.saveCount).toBe(0);
  });

  it("colormap select repaints without set or save_changes", () => {
    const select = query<HTMLSelectElement>(".xai-colormap");
    expect(select.value).toBe("viridis");
    select.value = "jet";
    fire(select, "change");
    expect(controls.display().colormap).toBe("jet");
    expect(displayChanges).toBe(1);
    expect(model.setCalls).toEqual([]);
    expect(model.saveCount).toBe(0);
  });

  it("follows opacity and colormap changes made in Python", () => {
    model.kernelSet("opacity", 0.25);
    model.kernelSet("colormap", "magma");
    expect(query<HTMLInputElement>(".xai-opacity").value).toBe("0.25");
    expect(query<HTMLSelectElement>(".xai-colormap").value).toBe("magma");
    model.kernelSet("normalization", "absmax");
    expect(query<HTMLSelectElement>(".xai-normalization").value).toBe("absmax");
    expect(controls.display()).toEqual({ opacity: 0.25, colormap: "magma", normalization: "absmax", view: "overlay" });
    expect(displayChanges).toBe(3);
    expect(model.saveCount).toBe(0);
  });

  it("normalisation select repaints without set or save_changes", () => {
    const select = query<HTMLSelectElement>(".xai-normalization");
    expect(Array.from(select.options).map((o) => [o.value, o.textContent])).toEqual([
      ["auto", "auto"],
      ["minmax", "min-max"],
      ["absmax", "abs-max"],
      ["percentile", "99th percentile"],
    ]);
    expect(select.value).toBe("auto");
    select.value = "percentile";
    fire(select, "change");
    expect(controls.display().normalization).toBe("percentile");
    expect(displayChanges).toBe(1);
    expect(model.setCalls).toEqual([]);
    expect(model.saveCount).toBe(0);
  });

  it("every range input suppresses notebook shortcuts (parameter sliders too)", () => {
    model.kernelSet("method", "smoothgrad");
    const ranges = controls.element.querySelectorAll('input[type="range"]');
    expect(ranges.length).toBe(5); // layer, opacity, two SmoothGrad parameters, push strength
    for (const range of Array.from(ranges)) expect(range.getAttribute("data-lm-suppress-shortcuts")).toBe("true");
  });
});

describe("method parameters", () => {
  const params = () => query<HTMLElement>(".xai-params");
  const paramRow = (name: string) => query<HTMLElement>(`.xai-param[data-param="${name}"]`);

  function pickSmoothGrad(): void {
    const select = query<HTMLSelectElement>(".xai-method-select");
    select.value = "smoothgrad";
    fire(select, "change");
  }

  it("no parameter controls for a method without params", () => {
    expect(params().hidden).toBe(true);
    expect(params().children.length).toBe(0);
  });

  it("picking a method sets method and its default params in one save", () => {
    pickSmoothGrad();
    expect(model.setCalls).toEqual([
      ["method", "smoothgrad"],
      ["method_params", { samples: 25, noise: 0.15, variant: "mean" }],
    ]);
    expect(model.saveCount).toBe(1);
    expect(params().hidden).toBe(false);
    expect(Array.from(params().querySelectorAll(".xai-param")).map((row) => row.getAttribute("data-param"))).toEqual([
      "samples",
      "noise",
      "variant",
    ]);
    const noise = paramRow("noise").querySelector<HTMLInputElement>("input.xai-param-slider")!;
    expect([noise.min, noise.max, noise.step, noise.value]).toEqual(["0", "0.5", "0.01", "0.15"]);
    expect(paramRow("noise").querySelector(".xai-value")!.textContent).toBe("0.15");
    expect(paramRow("noise").querySelector(".xai-caption")!.textContent).toBe("noise (fraction of range)");
    const variant = paramRow("variant").querySelector<HTMLSelectElement>("select.xai-param-select")!;
    expect(Array.from(variant.options).map((o) => o.value)).toEqual(["mean", "squared", "var"]);
    expect(variant.value).toBe("mean");
  });

  it("moving a slider sets a new method_params dict with every value and saves once", () => {
    pickSmoothGrad();
    const before = model.get("method_params");
    const noise = paramRow("noise").querySelector<HTMLInputElement>("input.xai-param-slider")!;
    noise.value = "0.3";
    fire(noise, "input");
    expect(paramRow("noise").querySelector(".xai-value")!.textContent).toBe("0.30");
    expect(model.saveCount).toBe(1); // dragging shows the value; releasing sends it
    fire(noise, "change");
    expect(model.get("method_params")).toEqual({ samples: 25, noise: 0.3, variant: "mean" });
    expect(model.get("method_params")).not.toBe(before);
    expect(before).toEqual({ samples: 25, noise: 0.15, variant: "mean" });
    expect(model.saveCount).toBe(2);
    expect(model.setCalls[model.setCalls.length - 1][0]).toBe("method_params");
  });

  it("a choice select sets method_params and saves", () => {
    pickSmoothGrad();
    const variant = paramRow("variant").querySelector<HTMLSelectElement>("select.xai-param-select")!;
    variant.value = "squared";
    fire(variant, "change");
    expect(model.get("method_params")).toEqual({ samples: 25, noise: 0.15, variant: "squared" });
    expect(model.saveCount).toBe(2);
  });

  it("follows method_params from the kernel in place, without saving", () => {
    model.kernelSet("method", "smoothgrad");
    const slider = paramRow("samples").querySelector<HTMLInputElement>("input.xai-param-slider")!;
    expect(slider.value).toBe("25"); // method_params {} → defaults shown
    model.kernelSet("method_params", { samples: 50, noise: 0.2, variant: "var" });
    expect(paramRow("samples").querySelector("input.xai-param-slider")).toBe(slider);
    expect(slider.value).toBe("50");
    expect(paramRow("samples").querySelector(".xai-value")!.textContent).toBe("50");
    expect(paramRow("variant").querySelector<HTMLSelectElement>("select")!.value).toBe("var");
    expect(model.saveCount).toBe(0);
  });

  it("a class-free method dims the class controls with a note; they stay usable", () => {
    const section = query<HTMLElement>(".xai-class-controls");
    expect(query<HTMLElement>(".xai-class-note").hidden).toBe(true);
    model.kernelSet("method", "eigencam");
    expect(section.classList.contains("xai-class-free")).toBe(true);
    expect(query<HTMLElement>(".xai-class-note").hidden).toBe(false);
    expect(query(".xai-class-note").textContent).toBe("class-free method");
    controls.element.querySelectorAll<HTMLButtonElement>(".xai-top-item")[1].click();
    expect(model.get("target")).toBe(4);
    model.kernelSet("method", "gradcam");
    expect(section.classList.contains("xai-class-free")).toBe(false);
    expect(query<HTMLElement>(".xai-class-note").hidden).toBe(true);
  });
});

describe("Python-side changes and cleanup", () => {
  it("follows layer, method and target changes from the kernel", () => {
    model.kernelSet("layer", "layer1");
    model.kernelSet("method", "ig");
    model.kernelSet("target", 6);
    expect(query<HTMLSelectElement>(".xai-layer-select").value).toBe("layer1");
    expect(query<HTMLInputElement>(".xai-layer-slider").value).toBe("0");
    expect(query<HTMLSelectElement>(".xai-method-select").value).toBe("ig");
    expect(query<HTMLSelectElement>(".xai-layer-select").disabled).toBe(true);
    expect(query<HTMLInputElement>(".xai-class-input").value).toBe("6: cup");
    expect(model.saveCount).toBe(0);
  });

  it("dispose removes every model listener", () => {
    expect(model.listenerCount()).toBeGreaterThan(0);
    controls.dispose();
    expect(model.listenerCount()).toBe(0);
  });
});
