"""Camera mode in the real browser, in JupyterLab and Notebook 7, with Chromium's fake camera:
frames go to the kernel one at a time, maps come back and are drawn over them, the frame rate is
measured and reported (tests/ui/artifacts/camera_fps.json); Stop and Start again."""

from __future__ import annotations

import json

import pytest

from .conftest import ARTIFACTS, widget_shot, write_code_notebook

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_camera.ipynb"
CELL = """\
from xai_widgets import Camera, demo
camera = Camera(demo.model(), transform=demo.transform(), labels=demo.imagenet_labels(), frame_size=224)
camera"""

FRAMES = "(root) => Number(root.querySelector('canvas.xai-camera-canvas').dataset.frames)"


@pytest.mark.parametrize("flavour", ["lab", "notebook7"])
def test_the_fake_camera_is_explained_live(jupyter_server, open_notebook, flavour):
    write_code_notebook(jupyter_server.root / NOTEBOOK, [("camera", CELL)])
    notebook = open_notebook(NOTEBOOK, flavour)
    notebook.run_all()
    notebook.wait_state(
        "() => { const r = document.querySelector('.xai-camera');"
        " return !!r && Number(r.querySelector('canvas.xai-camera-canvas').dataset.frames) >= 8; }",
        what="eight camera frames explained and drawn",
    )
    root = notebook.page.locator(".xai-camera")
    fps = float(root.get_attribute("data-fps"))
    assert fps > 0 and root.locator(".xai-camera-fps").text_content().endswith(" fps")
    assert " · kernel " in root.locator(".xai-camera-status").text_content()
    assert root.locator(".xai-compare-error").is_hidden()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget_shot(root, "camera", flavour)
    report = ARTIFACTS / "camera_fps.json"
    measured = json.loads(report.read_text()) if report.exists() else {}
    measured[flavour] = {"fps": fps, "model": "EfficientNet-Lite0", "frame": "224 px", "device": "cpu"}
    report.write_text(json.dumps(measured, indent=1))
    print(f"{flavour}: camera {fps:.1f} fps")

    root.locator("button.xai-camera-toggle").click()  # Stop
    notebook.wait_state(
        "(root) => root.querySelector('button.xai-camera-toggle').textContent === 'Start'", arg=root.element_handle(),
        what="the camera stopped",
    )
    stopped_at = root.evaluate(FRAMES)
    root.locator("button.xai-camera-toggle").click()  # Start again: frames flow once more
    notebook.wait_state(f"(root) => ({FRAMES})(root) >= {stopped_at + 3}", arg=root.element_handle(), what="restarted")
    notebook.assert_clean()
