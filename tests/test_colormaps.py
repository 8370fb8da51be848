"""The front end's colormap tables are matplotlib's, regenerated and compared byte for byte."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_generated_colormaps_match_matplotlib():
    script = ROOT / "js" / "scripts" / "generate_colormaps.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
