"""`make lab` opens JupyterLab as root too (containers, workshop machines) and passes extra flags on."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import threading
import urllib.request

import pytest

from tests.ui.xai_ui_server_ready import READY

REPO = pathlib.Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_lab_command_line_has_the_root_flag_and_the_extra_arguments():
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "lab", "ARGS=--port 8890 --no-browser"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    plan = next(line for line in printed.splitlines() if "jupyter lab" in line)
    assert plan.endswith(
        "jupyter lab"
        + (" --allow-root" if os.getuid() == 0 else "")
        + " --port 8890 --no-browser notebooks/01_quickstart.ipynb"
    )


def _watch(stream, output: list[bytes], listening: threading.Event) -> None:
    """Keep the server's output; set ``listening`` once it accepts connections (or when it exits)."""
    for line in iter(stream.readline, b""):
        output.append(line)
        if READY.encode() in line:
            listening.set()
    listening.set()


@pytest.mark.slow
@pytest.mark.skipif(not (REPO / ".venv" / ".installed").exists(), reason="needs `make install` (make test runs it)")
def test_make_lab_serves_jupyterlab(tmp_path):
    port = _free_port()
    config = tmp_path / "config"
    config.mkdir()
    # the test-only extension of tests/ui logs READY once the server listens: wait on that line
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"xai_ui_server_ready": True}}})
    )
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path),
        "JUPYTER_CONFIG_DIR": str(config),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "tests" / "ui"), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.Popen(
        ["make", "lab", f"ARGS=--no-browser --ip=127.0.0.1 --port={port} --ServerApp.token=t"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output: list[bytes] = []
    listening = threading.Event()
    threading.Thread(target=_watch, args=(process.stdout, output, listening), daemon=True).start()
    try:
        assert listening.wait(timeout=120) and process.poll() is None, b"".join(output).decode(errors="replace")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=t", timeout=10) as reply:
            assert reply.status == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
