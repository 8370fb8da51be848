// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mountGallery, pageText, progressText } from "../src/gallery";
import type { GalleryTile, Pixels } from "../src/types";
import { FakeModel, mapBytes } from "./fakeModel";

const PHOTO: Pixels = { width: 2, height: 1, data: new Uint8ClampedArray([10, 20, 30, 255, 40, 50, 60, 255]) };

function tile(index: number, correct: boolean | null): GalleryTile {
  return {
    index,
    name: `#${index}`,
    title: `cat 0.9${index}`,
    photo: new DataView(new Uint8Array([137, 80, 78, 71, index]).buffer),
    predicted: 3,
    true: correct === false ? 5 : 3,
    confidence: 0.9,
    correct,
    shape: [1, 2],
    data: mapBytes([0, 1]),
    signed: false,
    error: null,
  };
}

let model: FakeModel;
let host: HTMLElement;
let cleanup: () => void;
let decodes: number;

const tiles = () => Array.from(host.querySelectorAll<HTMLElement>(".xai-cell"));
const root = () => host.querySelector<HTMLElement>(".xai-gallery")!;
const flush = async () => {
  for (let i = 0; i < 4; i++) await Promise.resolve();
};

beforeEach(() => {
  model = new FakeModel({
    tiles: [tile(7, true), tile(9, false)],
    title: "Grad-CAM of 2 images",
    summary: "2 of 2 images explained",
    filters: [{ value: "all", label: "all images" }, { value: "misclassified", label: "misclassified" }],
    filter: "all",
    sorts: ["index", "confidence"],
    methods: [{ name: "gradcam", label: "Grad-CAM" }, { name: "saliency", label: "Saliency" }],
    method: "gradcam",
    sort: "index",
    page: 0,
    pages: 3,
    columns: 4,
    running: true,
    progress: { done: 412, total: 1797 },
    stop: 0,
    selected: -1,
    error: "",
    opacity: 0.5,
    colormap: "turbo",
    normalization: "auto",
  });
  host = document.createElement("div");
  document.body.append(host);
  decodes = 0;
  cleanup = mountGallery(model, host, {
    decodePhoto: async () => {
      decodes += 1;
      return PHOTO;
    },
  });
});

afterEach(() => {
  cleanup();
  host.remove();
});

describe("Gallery", () => {
  it("draws every tile with its own photo, marks mistakes, and is ready once decoded", async () => {
    await flush();
    expect(tiles().map((t) => t.dataset.index)).toEqual(["7", "9"]);
    expect(tiles().map((t) => t.dataset.correct)).toEqual(["true", "false"]);
    expect(tiles()[1].classList.contains("xai-wrong")).toBe(true);
    expect(decodes).toBe(2);
    expect(root().getAttribute("data-state")).toBe("ready");
    expect(host.querySelector(".xai-cell-title")!.textContent).toBe("cat 0.97");
  });

  it("sends the clicked tile's image index, the filter, the sort, the page and a stop", async () => {
    tiles()[1].click();
    expect(model.get("selected")).toBe(9);
    const filter = host.querySelector<HTMLSelectElement>(".xai-gallery-filter")!;
    filter.value = "misclassified";
    filter.dispatchEvent(new Event("change"));
    expect(model.get("filter")).toBe("misclassified");
    host.querySelector<HTMLButtonElement>(".xai-gallery-next")!.click();
    expect(model.get("page")).toBe(1);
    host.querySelector<HTMLButtonElement>(".xai-gallery-stop")!.click();
    expect(model.get("stop")).toBe(1);
    const method = host.querySelector<HTMLSelectElement>(".xai-gallery-method")!;
    expect([...method.options].map((o) => o.textContent)).toEqual(["Grad-CAM", "Saliency"]);
    method.value = "saliency";
    method.dispatchEvent(new Event("change"));
    expect(model.get("method")).toBe("saliency");
  });

  it("shows progress while running and hides it after", () => {
    expect(host.querySelector(".xai-gallery-progress-text")!.textContent).toBe("412 / 1,797 images");
    model.set("running", false);
    expect(host.querySelector<HTMLElement>(".xai-gallery-progress")!.hidden).toBe(true);
  });

  it("keeps decoded photos of tiles still on the page", async () => {
    await flush();
    model.set("tiles", [tile(9, false), tile(11, null)]);
    await flush();
    expect(decodes).toBe(3); // only #11 is new
    expect(tiles().map((t) => t.dataset.correct)).toEqual(["false", ""]);
  });

  it("words pages and progress", () => {
    expect(pageText(0, 3)).toBe("page 1 of 3");
    expect(pageText(9, 3)).toBe("page 3 of 3");
    expect(progressText({})).toBe("");
  });
});
