// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { createCodePanel } from "../src/codePanel";
import { FakeModel } from "./fakeModel";

describe("Copy code", () => {
  it("shows the kernel's code, copies it, and is disabled without one", async () => {
    const model = new FakeModel({ code: "" });
    const panel = createCodePanel(document, model);
    document.body.append(panel.element);
    const button = panel.element.querySelector<HTMLButtonElement>("button.xai-copy-code")!;
    panel.show();
    expect(button.disabled).toBe(true);
    model.kernelSet("code", "attribution = explain(model, image)\n");
    panel.show();
    expect(button.disabled).toBe(false);
    expect(panel.element.querySelector("pre.xai-code")!.textContent).toBe("attribution = explain(model, image)\n");
    let copied = "";
    Object.defineProperty(window.navigator, "clipboard", {
      configurable: true,
      value: { writeText: (text: string) => ((copied = text), Promise.resolve()) },
    });
    button.click();
    await Promise.resolve();
    await Promise.resolve();
    expect(copied).toBe("attribution = explain(model, image)\n");
    expect(panel.element.querySelector(".xai-copy-status")!.textContent).toBe("copied");
    expect(panel.element.querySelector<HTMLDetailsElement>("details")!.open).toBe(true);
    panel.element.remove();
  });
});
