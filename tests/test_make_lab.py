"""`make lab` opens JupyterLab as root too (containers, workshop machines) and passes extra flags on."""

import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

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


@pytest.mark.slow
@pytest.mark.skipif(not (REPO / ".venv" / ".installed").exists(), reason="needs `make install` (make test runs it)")
def test_make_lab_serves_jupyterlab(tmp_path):
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path)}
    process = subprocess.Popen(
        ["make", "lab", f"ARGS=--no-browser --ip=127.0.0.1 --port={port} --ServerApp.token=t"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=t", timeout=2) as reply:
                    status = reply.status
                    break
            except OSError:
                time.sleep(0.5)  # polling a server that is starting; not a timing assertion
        assert status == 200, process.stdout.read1().decode(errors="replace") if process.poll() is not None else ""
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
