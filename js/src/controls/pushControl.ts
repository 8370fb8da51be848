import { copyBytes } from "../decode";
import { controlRow, createElement, setOptions } from "../dom";
import { formatPercent } from "../format";
import { sameParams } from "../params";
import { byteLength } from "../photo";
import { keyOf, sameKey } from "../state";
import type { ParamValues, WidgetModel } from "../types";
import { setShared, type Subscriptions } from "./subscriptions";

/** The kernel's `push_setup`: the slider's range, one pixel level, the classes to aim at. */
export interface PushSetup {
  max?: number;
  pixel_level?: number | null;
  choices?: Array<{ index: number; label: string }>;
  pgd_steps?: number;
}

/** Slider positions between 0 and the kernel's largest ε. */
export const SLIDER_STEPS = 100;

/** The `push` trait for a slider position, an attack and an aim ("away" or a class index). */
export function pushSpec(position: number, max: number, steps: number, aim: string): ParamValues {
  const epsilon = Math.round((position / SLIDER_STEPS) * max * 1e6) / 1e6;
  if (!(epsilon > 0)) return {};
  return aim === "away" ? { epsilon, steps } : { epsilon, steps, toward: Number(aim) };
}

/** "ε = 0.0156 (2.0 pixel levels)" — the pixel levels only where the transform says their size. */
export function describeEpsilon(epsilon: number, pixelLevel: number | null | undefined): string {
  const levels = pixelLevel ? ` (${(epsilon / pixelLevel).toFixed(1)} pixel levels)` : " (input units)";
  return `ε = ${epsilon.toPrecision(3)}${levels}`;
}

/**
 * The "Adversarial push" section: a strength slider, FGSM or PGD, away from the prediction or
 * toward a class; the prediction before and after, the perturbation amplified, and the smallest
 * push that flips it. Sent on release (and on each arrow key), so the kernel answers each
 * position the user settles on.
 */
export function createPushControl(doc: Document, model: WidgetModel, subs: Subscriptions): HTMLElement {
  const slider = createElement(doc, "input", {
    className: "xai-push-strength",
    attrs: { type: "range", min: "0", max: String(SLIDER_STEPS), step: "1", value: "0", "aria-label": "push strength",
      "data-lm-suppress-shortcuts": "true" },
  });
  const strength = createElement(doc, "span", { className: "xai-push-epsilon", text: "no push" });
  const attack = createElement(doc, "select", { className: "xai-push-attack", attrs: { "aria-label": "attack" } });
  const aim = createElement(doc, "select", { className: "xai-push-aim", attrs: { "aria-label": "push aim" } });
  const outcome = createElement(doc, "div", { className: "xai-push-outcome", attrs: { "aria-live": "polite" } });
  const perturbation = createElement(doc, "img", { className: "xai-push-perturbation", attrs: { alt: "the perturbation, amplified" } });
  perturbation.hidden = true;
  const flipButton = createElement(doc, "button", { className: "xai-push-flip", text: "Smallest push that flips it", attrs: { type: "button" } });
  const flipText = createElement(doc, "span", { className: "xai-push-flip-result", attrs: { "aria-live": "polite" } });
  const section = createElement(doc, "details", { className: "xai-push" }, [
    createElement(doc, "summary", { text: "Adversarial push" }),
    controlRow(doc, "Strength", slider, strength),
    controlRow(doc, "Attack", attack),
    controlRow(doc, "Aim", aim),
    outcome,
    perturbation,
    createElement(doc, "div", { className: "xai-row" }, [flipButton, flipText]),
  ]);
  let imageUrl = "";

  const setup = (): PushSetup => model.get("push_setup") ?? {};
  const current = (): ParamValues => model.get("push") ?? {};

  function send(): void {
    const max = Number(setup().max ?? 0);
    const next = pushSpec(Number(slider.value), max, Number(attack.value), aim.value);
    if (!sameParams(next, current())) setShared(model, "push", next);
  }

  function render(): void {
    const found = setup();
    section.hidden = !found.max;
    const push = current();
    const epsilon = typeof push.epsilon === "number" ? push.epsilon : 0;
    const max = Number(found.max ?? 0);
    if (doc.activeElement !== slider) slider.value = String(max > 0 ? Math.round((epsilon / max) * SLIDER_STEPS) : 0);
    strength.textContent = epsilon > 0 ? describeEpsilon(epsilon, found.pixel_level) : "no push";
    // without a push the selects keep what the user picked; a push sets them to what it does
    const steps = epsilon > 0 ? String(push.steps ?? 1) : attack.value || "1";
    setOptions(attack, [["1", "FGSM (one step)"], [String(found.pgd_steps ?? 10), `PGD (${found.pgd_steps ?? 10} steps)`]], steps);
    if (attack.value === "") attack.value = "1";
    const choices = found.choices ?? [];
    const target = epsilon > 0 ? (push.toward === undefined ? "away" : String(push.toward)) : aim.value || "away";
    setOptions(aim, [["away", choices.length ? `away from ${choices[0].label}` : "away from the prediction"],
      ...choices.slice(1).map((c): [string, string] => [String(c.index), `toward ${c.label}`])], target);
    if (aim.value === "") aim.value = "away";
    showOutcome();
    showFlip();
  }

  function showOutcome(): void {
    const info = model.get("push_info") ?? {};
    const wanted = keyOf(model);
    const matches = !!info.key && info.key.image_index === wanted.image_index && sameParams(info.key.push, wanted.push);
    if (!matches || !info.label) {
      outcome.textContent = "";
      perturbation.hidden = true;
      return;
    }
    const verdict = info.flipped ? "flipped" : "not flipped";
    outcome.textContent = `now ${info.label} (${formatPercent(info.confidence)}), was ${info.original_label}: ${verdict}`;
    outcome.dataset.flipped = String(info.flipped);
    if (byteLength(info.perturbation) > 0) {
      if (imageUrl) URL.revokeObjectURL(imageUrl);
      imageUrl = URL.createObjectURL(new Blob([copyBytes(info.perturbation).buffer as ArrayBuffer], { type: "image/png" }));
      perturbation.src = imageUrl;
      perturbation.title = `the change, amplified: largest ${Number(info.max_change).toPrecision(3)} (input units)`;
      perturbation.hidden = false;
    }
  }

  function showFlip(): void {
    const flip = model.get("flip") ?? {};
    const mine = flip.key && sameKey(flip.key, keyOf(model));
    flipButton.disabled = !!(mine && flip.running);
    if (!mine) flipText.textContent = "";
    else if (flip.running) flipText.textContent = "searching…";
    else if (flip.error) flipText.textContent = String(flip.error);
    else if (flip.found) {
      flipText.textContent = `${describeEpsilon(flip.epsilon, setup().pixel_level)} → ${flip.label} (${formatPercent(flip.confidence)})`;
    } else flipText.textContent = `no flip up to ε = ${Number(flip.largest).toPrecision(3)}`;
  }

  subs.dom(slider, "input", () => {
    const max = Number(setup().max ?? 0);
    const epsilon = (Number(slider.value) / SLIDER_STEPS) * max;
    strength.textContent = epsilon > 0 ? describeEpsilon(epsilon, setup().pixel_level) : "no push";
  });
  subs.dom(slider, "change", send);
  subs.dom(attack, "change", send);
  subs.dom(aim, "change", send);
  subs.dom(flipButton, "click", () => setShared(model, "flip_request", Number(model.get("flip_request") ?? 0) + 1));
  for (const name of ["push_setup", "push"]) subs.model(model, `change:${name}`, render);
  subs.model(model, "change:push_info", showOutcome);
  subs.model(model, "change:flip", showFlip);
  subs.model(model, "change:result", showFlip);
  subs.add(() => {
    if (imageUrl) URL.revokeObjectURL(imageUrl);
  });
  render();
  return section;
}
