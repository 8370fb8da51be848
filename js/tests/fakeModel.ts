import type { WidgetModel } from "../src/types";

type Handler = (...args: any[]) => void;

/**
 * A stand-in for the anywidget model: `set` fires "change:<name>" like Backbone,
 * `save_changes` calls are recorded, `kernelSet` plays a change made by Python.
 */
export class FakeModel implements WidgetModel {
  readonly values: Record<string, unknown>;
  readonly handlers = new Map<string, Set<Handler>>();
  readonly setCalls: Array<[string, unknown]> = [];
  saveCount = 0;
  sent: unknown[] = [];

  constructor(values: Record<string, unknown>) {
    this.values = { ...values };
  }

  get(name: string): any {
    return this.values[name];
  }

  set(name: string, value: unknown): void {
    this.setCalls.push([name, value]);
    this.assign(name, value);
  }

  save_changes(): void {
    this.saveCount += 1;
  }

  send(message: unknown): void {
    this.sent.push(message);
  }

  on(event: string, callback: Handler): void {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(callback);
  }

  off(event?: string | null, callback?: Handler | null): void {
    if (!event) return this.handlers.clear();
    if (!callback) return void this.handlers.delete(event);
    this.handlers.get(event)?.delete(callback);
  }

  /** A value written by the kernel: changes the model and fires the change event, no save. */
  kernelSet(name: string, value: unknown): void {
    this.assign(name, value);
  }

  /** A custom message from the kernel (`msg:custom` with its buffers). */
  kernelSend(content: unknown, buffers: unknown[] = []): void {
    for (const handler of [...(this.handlers.get("msg:custom") ?? [])]) handler(content, buffers);
  }

  /** Number of listeners still attached. */
  listenerCount(): number {
    let count = 0;
    for (const set of this.handlers.values()) count += set.size;
    return count;
  }

  private assign(name: string, value: unknown): void {
    if (this.values[name] === value) return;
    this.values[name] = value;
    for (const handler of [...(this.handlers.get(`change:${name}`) ?? [])]) handler(this, value);
  }
}

/** Bytes of a float32 map, little endian, as a DataView like the browser receives. */
export function mapBytes(values: number[]): DataView {
  return new DataView(new Float32Array(values).buffer);
}

/** Model values of a small Explorer: 3 layers, 5 methods (one with parameters, one class-free), 10 classes, 2 images. */
export function explorerValues(): Record<string, unknown> {
  return {
    photo: new DataView(new Uint8Array([137, 80, 78, 71]).buffer),
    image_names: ["cat", "cup"],
    image_index: 0,
    layers: [
      { name: "layer1", shape: [64, 56, 56] },
      { name: "layer2", shape: [128, 28, 28] },
      { name: "layer4", shape: [512, 7, 7] },
    ],
    layer: "layer4",
    methods: [
      { name: "gradcam", label: "Grad-CAM", signed: false, uses_layer: true },
      { name: "saliency", label: "Saliency", signed: false, uses_layer: false },
      { name: "ig", label: "Integrated gradients", signed: true, uses_layer: false },
      {
        name: "smoothgrad",
        label: "SmoothGrad",
        signed: false,
        uses_layer: false,
        uses_target: true,
        slow: true,
        params: [
          { name: "samples", label: "samples", default: 25, min: 1, max: 200, step: 1, choices: [] },
          { name: "noise", label: "noise (fraction of range)", default: 0.15, min: 0, max: 0.5, step: 0.01, choices: [] },
          { name: "variant", label: "variant", default: "mean", min: null, max: null, step: null, choices: ["mean", "squared", "var"] },
        ],
      },
      { name: "eigencam", label: "Eigen-CAM", signed: false, uses_layer: true, uses_target: false, slow: false, params: [] },
    ],
    method: "gradcam",
    method_params: {},
    progress: {},
    labels: ["tench", "goldfish", "<b>shark</b>", "tiger cat", "tabby cat", "moped", "cup", "espresso", "daisy", "palace"],
    top_classes: [
      { index: 3, label: "tiger cat", prob: 0.39 },
      { index: 4, label: "tabby cat", prob: 0.3 },
      { index: 2, label: "<b>shark</b>", prob: 0.1 },
      { index: 5, label: "moped", prob: 0.05 },
      { index: 6, label: "cup", prob: 0.01 },
    ],
    target: 3,
    target_spec: {},
    output_kind: "classes",
    boxes: [],
    target_kinds: [
      { kind: "class", label: "Class score (logit)", available: true, reason: "" },
      { kind: "probability", label: "Class probability", available: true, reason: "" },
      { kind: "contrast", label: "Class A rather than B", available: true, reason: "" },
      { kind: "similarity", label: "Similarity to a reference", available: false, reason: "pass reference=" },
      { kind: "region", label: "Segmentation region", available: false, reason: "needs per-pixel scores" },
      { kind: "box", label: "Detected box", available: false, reason: "needs a detector's boxes" },
    ],
    opacity: 0.5,
    colormap: "viridis",
    normalization: "auto",
    result: null,
  };
}
