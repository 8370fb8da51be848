"""Write js/tests/fixtures/upsample.json: reference bilinear upsamplings from PyTorch.

Uses ``F.interpolate(mode="bilinear", align_corners=False)``, the behaviour js/src/upsample.ts
reproduces. Small cases store the whole output; the 7x7 -> 224x224 case stores a fixed set of
sampled pixels to keep the file small.

    python js/scripts/make_upsample_fixture.py
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "upsample.json"
# (in_h, in_w, out_h, out_w, sample count or None for the full output)
CASES = [
    (3, 4, 7, 9, None),
    (2, 2, 5, 3, None),
    (4, 4, 4, 4, None),
    (5, 3, 2, 2, None),
    (7, 7, 224, 224, 64),
]


def upsample(values: torch.Tensor, out_h: int, out_w: int) -> torch.Tensor:
    return F.interpolate(values[None, None], size=(out_h, out_w), mode="bilinear", align_corners=False)[0, 0]


def main() -> None:
    generator = torch.Generator().manual_seed(1234)
    cases = []
    for in_h, in_w, out_h, out_w, samples in CASES:
        values = torch.randn(in_h, in_w, generator=generator, dtype=torch.float32)
        output = upsample(values, out_h, out_w)
        case = {
            "in_shape": [in_h, in_w],
            "out_shape": [out_h, out_w],
            "input": [float(v) for v in values.flatten()],
        }
        if samples is None:
            case["output"] = [float(v) for v in output.flatten()]
        else:
            # Borders and corners plus random interior points.
            rows = torch.randint(0, out_h, (samples,), generator=generator).tolist() + [0, 0, out_h - 1, out_h - 1]
            cols = torch.randint(0, out_w, (samples,), generator=generator).tolist() + [0, out_w - 1, 0, out_w - 1]
            case["samples"] = [[r, c, float(output[r, c])] for r, c in zip(rows, cols)]
        cases.append(case)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps({"source": f"torch {torch.__version__} F.interpolate bilinear align_corners=False", "cases": cases}, indent=1) + "\n")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
