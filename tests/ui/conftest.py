"""Real-browser fixtures: a throwaway Jupyter server and headless Chromium (Playwright).

Everything waits on a state (HTTP status, DOM attributes), never on a fixed sleep.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest

from .xai_ui_server_ready import READY

REPO = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = pathlib.Path(__file__).resolve().parent / "artifacts"
DOCS_IMAGES = REPO / "docs" / "images"


def widget_shot(locator, name: str, flavour: str) -> pathlib.Path:
    """Screenshot one widget to ``artifacts/<name>_<flavour>.png``; with XAI_UPDATE_ARTIFACTS=1
    (``make screenshots``) JupyterLab's shot also becomes the documentation's ``docs/images/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}_{flavour}.png"
    locator.screenshot(path=str(path))
    if os.environ.get("XAI_UPDATE_ARTIFACTS") == "1" and flavour == "lab":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMAGES / f"{name}.png")
    return path
CHROMIUM = os.environ.get("XAI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
    # a fake camera that needs no permission prompt, for the Camera widget's test
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]

# First kernel start + demo model load can be slow on a 2-core machine.
KERNEL_TIMEOUT_MS = 180_000
STATE_TIMEOUT_MS = 120_000

# Errors the hosts log on every load; they are not ours. Notebook 7 throws a few of its own.
ALLOWED_ERRORS = {
    "lab": [re.compile(r"favicon")],
    "notebook7": [
        re.compile(r"favicon"),
        re.compile(r"reading 'schema'"),
        re.compile(r"Not same Y\.Doc"),
        re.compile(r"Command 'filebrowser:open-path' not registered"),
    ],
}

# The widget's own code (bundle, or a message naming it) must never be allow-listed.
OUR_CODE = re.compile(r"xai|explorer|anywidget", re.IGNORECASE)


# ---------------------------------------------------------------------------------------
# Jupyter server
# ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class JupyterServer:
    url: str
    token: str
    root: pathlib.Path
    process: subprocess.Popen
    log_path: pathlib.Path

    def lab(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?token={self.token}&reset"

    def notebook7(self, notebook: str) -> str:
        return f"{self.url}/notebooks/{notebook}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 10):
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            return response.status, (json.loads(body) if body else None)

    def shutdown_kernels(self) -> None:
        """Stop every kernel (one notebook's kernel must not slow down the next test)."""
        _, sessions = self.api("/api/sessions")
        for session in sessions or []:
            try:
                self.api(f"/api/sessions/{session['id']}", method="DELETE", timeout=30)
            except urllib.error.HTTPError:
                pass
        _, kernels = self.api("/api/kernels")
        for kernel in kernels or []:
            try:
                self.api(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=30)
            except urllib.error.HTTPError:
                pass

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _copy_notebook(source: pathlib.Path, target: pathlib.Path) -> None:
    """A clean copy: a notebook the user ran and saved carries widget outputs whose models no
    longer exist ("widget model not found"), so outputs and execution counts are dropped."""
    notebook = json.loads(source.read_text())
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    notebook.get("metadata", {}).pop("widgets", None)
    notebook.setdefault("metadata", {}).setdefault(
        "kernelspec", {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    )
    target.write_text(json.dumps(notebook, indent=1))


def _write_settings(settings_dir: pathlib.Path) -> None:
    files = {
        # The news / update toast would otherwise cover the page.
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        # Every cell attached to the DOM, so prompts and outputs can all be inspected.
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for name, value in files.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


DEMO_NOTEBOOK = "ui_demo_explorer.ipynb"
DEMO_SOURCE = """\
from xai_widgets import Explorer, demo

model, images, labels, transform = demo.load()
explorer = Explorer(model, images, labels=labels, transform=transform, opacity=0.5, colormap="turbo")
explorer"""


def _write_demo_notebook(path: pathlib.Path) -> None:
    """A notebook with only the demo Explorer (coffee, Grad-CAM, last layer, top-1 class)."""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "demo",
                "metadata": {},
                "outputs": [],
                "source": DEMO_SOURCE.splitlines(keepends=True),
            },
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))


SERVER_LISTENING = READY.encode()


def _copy_log(stream, log, started: threading.Event) -> None:
    """Copy the server's output to its log; set ``started`` once it listens (or when it exits)."""
    for line in iter(stream.readline, b""):
        log.write(line)
        log.flush()
        if SERVER_LISTENING in line:
            started.set()
    started.set()  # the server exited: the caller finds out from its exit code


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory) -> JupyterServer:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # screenshots of this run only
    base = tmp_path_factory.mktemp("jupyter")
    root = base / "root"
    root.mkdir()
    for source in sorted(NOTEBOOKS.glob("*.ipynb")):
        _copy_notebook(source, root / source.name)
    _write_demo_notebook(root / DEMO_NOTEBOOK)
    settings = base / "settings"
    _write_settings(settings)
    for name in ("workspaces", "config", "runtime", "ipython"):
        (base / name).mkdir()
    ready_extension = {"ServerApp": {"jpserver_extensions": {"xai_ui_server_ready": True}}}
    (base / "config" / "jupyter_server_config.json").write_text(json.dumps(ready_extension))

    env = dict(os.environ)
    env.update(
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
        XAI_WIDGETS_OFFLINE="1",
        MPLBACKEND="module://matplotlib_inline.backend_inline",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(pathlib.Path(__file__).parent), os.environ.get("PYTHONPATH")])),
    )
    port = _free_port()
    token = secrets.token_hex(16)
    jupyter = pathlib.Path(sys.executable).parent / "jupyter"
    log_path = base / "server.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [
            str(jupyter),
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={root}",
            "--allow-root",
            "--expose-app-in-browser",
            "--JupyterNotebookApp.expose_app_in_browser=True",
        ],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = threading.Event()
    threading.Thread(target=_copy_log, args=(process.stdout, log, started), daemon=True).start()
    server = JupyterServer(url=f"http://127.0.0.1:{port}", token=token, root=root, process=process, log_path=log_path)
    try:
        # The test extension xai_ui_server_ready logs READY once the port is bound.
        if not started.wait(timeout=120) or process.poll() is not None:
            raise RuntimeError(f"jupyter lab did not start (exit code {process.poll()}):\n{server.log_tail()}")
        status, _ = server.api("/api/status", timeout=60)
        if status != 200:
            raise RuntimeError(f"jupyter lab answered /api/status with {status}:\n{server.log_tail()}")
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log.close()


# ---------------------------------------------------------------------------------------
# Browser
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_playwright = sync_api.sync_playwright

    if not pathlib.Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set XAI_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class PageErrors:
    """Uncaught page errors and console errors, minus the host's known noise."""

    allowed: list[re.Pattern]
    errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def _record(self, text: str, where: str = "") -> None:
        if not OUR_CODE.search(text + " " + where) and any(p.search(text) for p in self.allowed):
            self.ignored.append(text)
        else:
            self.errors.append(f"{text} ({where})" if where else text)

    def on_pageerror(self, error) -> None:
        self._record(f"pageerror: {error}", getattr(error, "stack", "") or "")

    def on_console(self, message) -> None:
        if message.type == "error":
            where = (message.location or {}).get("url", "")
            self._record(f"console.error: {message.text}", where)


@dataclass
class KernelTraffic:
    """Messages the page sends on the kernel websockets, decoded to (msg_type, content)."""

    sent: list[tuple[str, dict]] = field(default_factory=list)
    received: list[tuple[str, dict]] = field(default_factory=list)
    sockets: list = field(default_factory=list)

    def attach(self, page) -> None:
        def on_socket(ws):
            if "/channels" in ws.url:
                self.sockets.append(ws)
                ws.on("framesent", self._on_frame)
                ws.on("framereceived", self._on_received)

        page.on("websocket", on_socket)

    def _on_frame(self, payload) -> None:
        try:
            self.sent.append(decode_kernel_frame(payload))
        except Exception as error:  # an undecodable frame is recorded, never dropped
            self.sent.append(("undecodable", {"error": repr(error)}))

    def _on_received(self, payload) -> None:
        try:
            self.received.append(decode_kernel_frame(payload))
        except Exception as error:
            self.received.append(("undecodable", {"error": repr(error)}))

    def state_updates(self, since: int = 0) -> list[dict]:
        """The widget states the kernel sent since ``since`` (an index into ``received``)."""
        return [
            (content.get("data") or {}).get("state") or {}
            for msg_type, content in self.received[since:]
            if msg_type == "comm_msg" and (content.get("data") or {}).get("method") == "update"
        ]

    def comm_msgs(self, since: int = 0) -> list[dict]:
        return [content for msg_type, content in self.sent[since:] if msg_type == "comm_msg"]

    def mark(self) -> int:
        return len(self.sent)

    def expect_update(self, trait: str, action, timeout: float = 30_000) -> None:
        """Run `action` and wait until a comm_msg updating `trait` leaves on a kernel websocket."""

        def is_update(payload) -> bool:
            try:
                msg_type, content = decode_kernel_frame(payload)
            except Exception:
                return False
            return msg_type == "comm_msg" and trait in ((content.get("data") or {}).get("state") or {})

        open_sockets = [ws for ws in self.sockets if not ws.is_closed()]
        assert len(open_sockets) == 1, f"expected one kernel websocket, found {[ws.url for ws in open_sockets]}"
        with open_sockets[0].expect_event("framesent", predicate=is_update, timeout=timeout):
            action()


def decode_kernel_frame(payload) -> tuple[str, dict]:
    """Decode one frame of the kernel websocket (v1.kernel.websocket.jupyter.org or JSON)."""
    if isinstance(payload, str):
        message = json.loads(payload)
        return message["header"]["msg_type"], message.get("content", {})
    data = bytes(payload)
    (count,) = struct.unpack_from("<Q", data, 0)
    offsets = list(struct.unpack_from(f"<{count}Q", data, 8))
    offsets.append(len(data))
    parts = [data[offsets[i] : offsets[i + 1]] for i in range(count)]
    # parts: channel, header, parent_header, metadata, content, buffers...
    header = json.loads(parts[1])
    content = json.loads(parts[4]) if len(parts) > 4 and parts[4] else {}
    return header["msg_type"], content


class NotebookPage:
    """One notebook open in JupyterLab or Notebook 7, with its error and traffic recorders."""

    def __init__(self, page, server: JupyterServer, name: str, flavour: str):
        self.page = page
        self.server = server
        self.name = name
        self.flavour = flavour
        self.errors = PageErrors(ALLOWED_ERRORS[flavour])
        self.traffic = KernelTraffic()
        page.on("pageerror", self.errors.on_pageerror)
        page.on("console", self.errors.on_console)
        self.traffic.attach(page)

    # -- waiting on states ----------------------------------------------------------------

    def wait_state(self, script: str, arg=None, timeout: float = STATE_TIMEOUT_MS, what: str = "a state"):
        """`page.wait_for_function`, but failing at once (with the errors) when the page throws.

        A widget whose code throws never reaches its state; without this a broken front end
        would only show up as a timeout.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        deadline = time.monotonic() + timeout / 1000
        while True:
            if self.errors.errors:
                raise AssertionError(f"page errors while waiting for {what}:\n" + "\n".join(self.errors.errors))
            remaining_ms = (deadline - time.monotonic()) * 1000
            if remaining_ms <= 0:
                raise AssertionError(f"timed out after {timeout / 1000:.0f} s waiting for {what}\n{self.diagnose()}")
            try:
                return self.page.wait_for_function(script, arg=arg, timeout=min(1000, remaining_ms))
            except PlaywrightTimeoutError:
                continue

    def diagnose(self) -> str:
        """What the page shows now: widget states and output problems (for failure messages)."""
        try:
            states = self.page.evaluate(
                """() => [...document.querySelectorAll('.xai-explorer, .xai-compare')].map((r) => {
                  const c = r.querySelector('canvas');
                  const err = r.querySelector('.xai-error, .xai-compare-error');
                  return { state: r.dataset.state, draws: c && c.dataset.drawCount, key: c && c.dataset.drawnKey,
                           error: err ? err.textContent : '' };
                })"""
            )
            problems = self.output_problems()
        except Exception as error:  # the page may be gone
            return f"(could not inspect the page: {error})"
        return f"widgets: {states}\noutput problems: {problems}\nignored host errors: {self.errors.ignored}"

    # -- opening and running -------------------------------------------------------------

    def open(self) -> None:
        url = self.server.lab(self.name) if self.flavour == "lab" else self.server.notebook7(self.name)
        self.page.goto(url)
        self.page.wait_for_function("() => window.jupyterapp !== undefined", timeout=STATE_TIMEOUT_MS)
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=STATE_TIMEOUT_MS)
        # The notebook panel is attached and its kernel session is starting.
        # The notebook's kernel is started, connected and idle: running cells now cannot pop
        # up the "Select Kernel" dialog (it does when run-all races the kernel start).
        self.page.wait_for_function(
            """() => {
              const a = window.jupyterapp; const w = a && a.shell && a.shell.currentWidget;
              const s = w && w.sessionContext;
              const k = s && s.session && s.session.kernel;
              return !!(w.context && w.context.isReady && s.isReady && k
                && k.connectionStatus === 'connected' && k.status === 'idle');
            }""",
            timeout=KERNEL_TIMEOUT_MS,
        )

    def run_all(self) -> None:
        # Not awaited in the page: the command's promise settles only when every cell ran.
        self.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        self.wait_idle()

    def wait_idle(self, timeout: float = KERNEL_TIMEOUT_MS) -> None:
        """Kernel idle AND kernel name shown AND every code cell's prompt reads [n]."""
        handle = self.wait_state(
            """() => {
              const dialog = document.querySelector('.jp-Dialog');
              if (dialog) return 'unexpected dialog: ' + dialog.textContent.trim().slice(0, 200);
              const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
              if (!indicator || indicator.getAttribute('data-status') !== 'idle') return false;
              const names = [...document.querySelectorAll('.jp-Toolbar-kernelName, .jp-KernelName')]
                .map((e) => e.textContent.trim()).filter((t) => t !== '');
              if (names.length === 0 || names.some((t) => /no kernel/i.test(t))) return false;
              const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')];
              return prompts.length > 0 && prompts.every((p) => /^\\[\\d+\\]:?$/.test(p.textContent.trim()));
            }""",
            timeout=timeout,
            what="the kernel to finish every cell",
        )
        outcome = handle.json_value()
        assert outcome is True, outcome

    # -- checks --------------------------------------------------------------------------

    def run_cell(self, index: int) -> None:
        """Start running code cell ``index`` (not awaited: see :meth:`wait_idle`)."""
        self.page.evaluate(
            """(i) => { const w = window.jupyterapp.shell.currentWidget;
                        w.content.activeCellIndex = i;
                        window.jupyterapp.commands.execute('notebook:run-cell'); }""",
            index,
        )

    def cell_text(self, index: int) -> str:
        """The text/plain and stream outputs of cell ``index``, joined."""
        return self.page.evaluate(
            """(i) => { const w = window.jupyterapp.shell.currentWidget;
              return w.content.model.cells.get(i).outputs.toJSON().map((o) =>
                [].concat(o.text || (o.data && o.data['text/plain']) || []).join('')).join(''); }""",
            index,
        )

    def model_outputs(self) -> list[dict]:
        """Every output of the notebook's model (the kernel's view), as nbformat JSON."""
        return self.page.evaluate(
            """() => {
              const w = window.jupyterapp.shell.currentWidget;
              const outputs = [];
              for (const cell of w.content.model.cells) {
                if (cell.type === 'code') outputs.push(...cell.outputs.toJSON());
              }
              return outputs;
            }"""
        )

    def widget_output_count(self) -> int:
        mime = "application/vnd.jupyter.widget-view+json"
        return sum(1 for out in self.model_outputs() if mime in (out.get("data") or {}))

    def output_problems(self) -> list[str]:
        """Tracebacks, error outputs and widgets that never rendered."""
        problems = []
        for out in self.model_outputs():
            if out.get("output_type") == "error":
                problems.append(f"error output: {out.get('ename')}: {out.get('evalue')}")
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if out.get("name") == "stderr" and "Traceback" in text:
                problems.append(f"stderr traceback: {text[:800]}")
        problems += self.page.evaluate(
            """() => {
              const problems = [];
              const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
              for (const out of document.querySelectorAll(stderr)) {
                const text = out.textContent;
                if (/Traceback/.test(text)) problems.push('stderr on screen: ' + text.slice(0, 800));
              }
              for (const out of document.querySelectorAll('.jp-OutputArea-output')) {
                const text = out.textContent;
                if (text.includes('Error displaying widget')) {
                  problems.push('Error displaying widget: ' + text.slice(0, 300));
                }
                if (text.includes('Loading widget...')) problems.push('widget left at "Loading widget..."');
              }
              return problems;
            }"""
        )
        return problems

    def assert_clean(self) -> None:
        problems = self.output_problems() + self.errors.errors
        assert not problems, "\n".join(problems)

    def wait_explorers_ready(self, expected: int, timeout: float = STATE_TIMEOUT_MS) -> None:
        """`expected` Explorers on the page, each ready with at least one draw."""
        self.wait_state(
            """(expected) => {
              const roots = [...document.querySelectorAll('.xai-explorer')];
              return roots.length === expected && roots.every((r) => {
                const c = r.querySelector('.xai-canvas');
                return r.dataset.state === 'ready' && c && Number(c.dataset.drawCount) >= 1;
              });
            }""",
            arg=expected,
            timeout=timeout,
            what=f"{expected} Explorer(s) ready with a drawn map",
        )

    def screenshot(self, name: str) -> pathlib.Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def open_notebook(chromium, jupyter_server, request):
    """Factory: open a notebook in 'lab' or 'notebook7'; closes pages and stops kernels after the test."""
    contexts = []

    def _open(name: str, flavour: str = "lab") -> NotebookPage:
        if (NOTEBOOKS / name).exists():  # a fresh clean copy: an earlier test's autosave kept outputs
            _copy_notebook(NOTEBOOKS / name, jupyter_server.root / name)
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        notebook = NotebookPage(context.new_page(), jupyter_server, name, flavour)
        notebook.open()
        return notebook

    yield _open
    for context in contexts:
        context.close()
    jupyter_server.shutdown_kernels()


# ---------------------------------------------------------------------------------------
# Explorer helpers
# ---------------------------------------------------------------------------------------


class ExplorerHandle:
    """One Explorer on a page: its controls, canvas and state attributes."""

    def __init__(self, notebook: NotebookPage, index: int = 0):
        self.notebook = notebook
        self.page = notebook.page
        self.root = self.page.locator(".xai-explorer").nth(index)
        self.canvas = self.root.locator("canvas.xai-canvas")
        self.opacity = self.root.locator("input.xai-opacity")
        self.colormap = self.root.locator("select.xai-colormap")
        self.layer_select = self.root.locator("select.xai-layer-select")
        self.layer_slider = self.root.locator("input.xai-layer-slider")
        self.method = self.root.locator("select.xai-method-select")
        self.top_items = self.root.locator("button.xai-top-item")
        self.index = index

    # -- state ---------------------------------------------------------------------------

    def state(self) -> str:
        return self.root.get_attribute("data-state")

    def draw_count(self) -> int:
        return int(self.canvas.get_attribute("data-draw-count"))

    def drawn_key(self) -> dict | None:
        text = self.canvas.get_attribute("data-drawn-key")
        return json.loads(text) if text else None

    def selected_target(self) -> int | None:
        selected = self.root.locator("button.xai-top-item.xai-selected")
        return int(selected.get_attribute("data-index")) if selected.count() == 1 else None

    def controls_key(self, image_index: int = 0) -> dict:
        """The key the controls show now (what the canvas must end up drawing)."""
        return {
            "image_index": image_index,
            "layer": self.layer_select.input_value(),
            "method": self.method.input_value(),
            "target": self.selected_target(),
        }

    def wait_drawn(self, key: dict | None = None, after: int | None = None, timeout: float = STATE_TIMEOUT_MS) -> int:
        """Wait until ready, with more than `after` draws and (if given) `key` on screen. Returns the count."""
        handle = self.root.element_handle()
        self.notebook.wait_state(
            """([root, key, after]) => {
              const c = root.querySelector('.xai-canvas');
              if (root.dataset.state !== 'ready' || !c) return false;
              if (after !== null && Number(c.dataset.drawCount) <= after) return false;
              if (key !== null) {
                const k = c.dataset.drawnKey ? JSON.parse(c.dataset.drawnKey) : null;
                if (!k || k.image_index !== key.image_index || k.layer !== key.layer
                    || k.method !== key.method || k.target !== key.target) return false;
              }
              return true;
            }""",
            arg=[handle, key, after],
            timeout=timeout,
            what=f"the Explorer ready with draw count > {after} and drawn key {key}",
        )
        return self.draw_count()

    # -- pixels --------------------------------------------------------------------------

    def pixels(self):
        """The canvas as an H×W×4 uint8 numpy array."""
        import numpy as np

        result = self.canvas.evaluate(
            """(c) => {
              const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let s = '';
              for (let i = 0; i < data.length; i += 0x8000) {
                s += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
              }
              return {w: c.width, h: c.height, b64: btoa(s)};
            }"""
        )
        import base64

        raw = np.frombuffer(base64.b64decode(result["b64"]), dtype=np.uint8)
        return raw.reshape(result["h"], result["w"], 4).copy()

    # -- user actions ----------------------------------------------------------------------

    def press_on(self, locator, *keys: str) -> None:
        locator.focus()
        for key in keys:
            locator.press(key)

    def set_opacity_keys(self, *keys: str) -> None:
        self.press_on(self.opacity, *keys)

    def opacity_value(self) -> float:
        return float(self.opacity.input_value())


@pytest.fixture
def explorer_factory():
    return ExplorerHandle


# ---------------------------------------------------------------------------------------
# Test notebooks and main-thread measurements
# ---------------------------------------------------------------------------------------


def write_code_notebook(path: pathlib.Path, cells: list[tuple[str, str]]) -> None:
    """Write a notebook of code cells ``(id, source)`` with the python3 kernel and no outputs."""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": name,
                "metadata": {},
                "outputs": [],
                "source": source.splitlines(keepends=True),
            }
            for name, source in cells
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))


LONG_TASKS = """() => {
  window.__xaiLongTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__xaiLongTasks.push(entry.duration);
  }).observe({ type: "longtask", buffered: true });
}"""


def watch_long_tasks(notebook: NotebookPage) -> None:
    """Start recording the page's long main-thread tasks (call before running the cells)."""
    notebook.page.evaluate(LONG_TASKS)


def report_longest_task(notebook: NotebookPage, report: str, **context) -> float:
    """The longest main-thread task since :func:`watch_long_tasks`, written to ``artifacts/report``
    under the notebook's flavour with ``context`` (what was on the page), and printed."""
    longest = max(notebook.page.evaluate("() => window.__xaiLongTasks"), default=0.0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / report
    measured = json.loads(path.read_text()) if path.exists() else {}
    measured[notebook.flavour] = {"longest_main_thread_task_ms": round(longest, 1), **context}
    path.write_text(json.dumps(measured, indent=1))
    print(f"{notebook.flavour}: longest main-thread task {longest:.0f} ms ({context})")
    return longest
