import { controlRow, createElement, setOptions } from "../dom";
import { keyOf, sameKey } from "../state";
import type { ParamValues, TopClass, WidgetModel } from "../types";
import { setShared, type Subscriptions } from "./subscriptions";

/** One kind of target as the kernel offers it (`target_kinds`). */
export interface TargetKind {
  kind: string;
  label: string;
  available: boolean;
  reason: string;
}

/** The `target_spec` trait as a plain dict (`{}` for a class's logit). */
export function specOf(model: Pick<WidgetModel, "get">): ParamValues {
  const spec: unknown = model.get("target_spec");
  return spec && typeof spec === "object" && !Array.isArray(spec) ? { ...(spec as ParamValues) } : {};
}

/** The kind a spec names (`class` when none). */
export function kindOf(spec: ParamValues): string {
  return typeof spec.kind === "string" && spec.kind !== "" ? spec.kind : "class";
}

/** The first listed class other than `index` (the default "rather than" class). */
export function otherClass(classes: readonly TopClass[], index: number): number | null {
  return classes.find((entry) => entry.index !== index)?.index ?? null;
}

/**
 * The spec for a newly chosen class or box `index`: a clicked region gives way to the whole
 * class, a contrast keeps its class B unless B is the new class (then the next listed one).
 */
export function specForClass(spec: ParamValues, index: number, classes: readonly TopClass[]): ParamValues {
  const kind = kindOf(spec);
  if (kind === "region" && "x" in spec) return { kind: "region" };
  if (kind === "contrast" && spec.other === index) {
    const other = otherClass(classes, index);
    return other === null ? {} : { kind: "contrast", other };
  }
  return spec;
}

/** Choose class (or box) `index` from a list or the picker: one message with the spec it needs. */
export function chooseClass(model: WidgetModel, index: number): void {
  const spec = specOf(model);
  const next = specForClass(spec, index, model.get("top_classes") ?? []);
  if (model.get("target") === index && next === spec) return;
  model.set("target", index);
  if (next !== spec) model.set("target_spec", next);
  model.save_changes();
}

/** The spec a kind starts from when picked in the select. */
export function specForKind(kind: string, target: number, classes: readonly TopClass[]): ParamValues {
  if (kind === "class") return {};
  if (kind === "contrast") {
    const other = otherClass(classes, target);
    return other === null ? { kind } : { kind, other };
  }
  return { kind };
}

/**
 * The "Explain" row: the kinds of target that fit the model (the others disabled, each with the
 * reason, listed under "Why not the others?"), the "rather than" class of a contrast, and what the
 * map on screen explains.
 */
export function createTargetControl(doc: Document, model: WidgetModel, subs: Subscriptions): HTMLElement {
  const select = createElement(doc, "select", { className: "xai-target-kind", attrs: { "aria-label": "target" } });
  const other = createElement(doc, "select", { className: "xai-target-other", attrs: { "aria-label": "rather than" } });
  const otherRow = controlRow(doc, "rather than", other);
  const absent = createElement(doc, "ul", { className: "xai-target-absent" });
  const why = createElement(doc, "details", { className: "xai-target-why" }, [
    createElement(doc, "summary", { text: "Why not the other targets?" }),
    absent,
  ]);
  const explains = createElement(doc, "div", { className: "xai-explains", attrs: { "aria-live": "polite" } });

  function kinds(): TargetKind[] {
    const value: unknown = model.get("target_kinds");
    return Array.isArray(value) ? (value as TargetKind[]) : [];
  }

  function render(): void {
    const spec = specOf(model);
    const kind = kindOf(spec);
    const offered = kinds();
    select.replaceChildren(
      ...offered.map((entry) => {
        const option = createElement(doc, "option", { text: entry.label });
        option.value = entry.kind;
        option.disabled = !entry.available;
        if (!entry.available) option.title = entry.reason;
        return option;
      }),
    );
    select.value = kind;
    const missing = offered.filter((entry) => !entry.available);
    absent.replaceChildren(
      ...missing.map((entry) => createElement(doc, "li", { text: `${entry.label}: ${entry.reason}` })),
    );
    why.hidden = missing.length === 0;
    const target = Number(model.get("target"));
    const classes: TopClass[] = (model.get("top_classes") ?? []).filter((entry: TopClass) => entry.index !== target);
    const labels: string[] = model.get("labels") ?? [];
    const chosen = typeof spec.other === "number" ? spec.other : null;
    const choices: Array<[string, string]> = classes.map((entry) => [String(entry.index), entry.label]);
    if (chosen !== null && !classes.some((entry) => entry.index === chosen)) {
      choices.push([String(chosen), labels[chosen] ?? `class ${chosen}`]);
    }
    setOptions(other, choices, chosen === null ? "" : String(chosen));
    otherRow.hidden = kind !== "contrast";
    showExplains();
  }

  /** What the map on screen explains (the kernel's words), once it is the wanted map. */
  function showExplains(): void {
    const result = model.get("result");
    const current = result && sameKey(result.key, keyOf(model)) && typeof result.explains === "string";
    explains.textContent = current ? `explains: ${result.explains}` : "";
    explains.hidden = !current;
  }

  subs.dom(select, "change", () => {
    const classes: TopClass[] = model.get("top_classes") ?? [];
    setShared(model, "target_spec", specForKind(select.value, Number(model.get("target")), classes));
  });
  subs.dom(other, "change", () => setShared(model, "target_spec", { kind: "contrast", other: Number(other.value) }));
  for (const name of ["target_kinds", "target_spec", "target", "top_classes", "labels"]) {
    subs.model(model, `change:${name}`, render);
  }
  subs.model(model, "change:result", showExplains);
  render();
  return createElement(doc, "div", { className: "xai-target-control" }, [
    controlRow(doc, "Explain", select),
    otherRow,
    explains,
    why,
  ]);
}
