"""Find the class scores in whatever a model's forward returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

import torch

from .errors import ModelOutputError


def select_logits(output: Any) -> torch.Tensor:
    """Return the N×K class scores: the tensor itself, ``.logits``, or the first tensor inside."""
    found = _first_tensor(output)
    if found is None:
        raise ModelOutputError(
            f"The model returned {type(output).__name__} with no tensor of class scores; "
            "wrap it so that forward returns an N×K tensor of logits."
        )
    if found.dim() == 1:
        found = found.unsqueeze(0)
    if found.dim() != 2:
        raise ModelOutputError(
            f"The model's output has shape {tuple(found.shape)}, not N×K class scores; "
            "wrap it so that forward returns logits (for example, pool spatial outputs)."
        )
    return found


def _first_tensor(output: Any) -> Optional[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, Mapping):
        if isinstance(output.get("logits"), torch.Tensor):
            return output["logits"]
        values = list(output.values())
    elif isinstance(output, Sequence) and not isinstance(output, (str, bytes)):
        values = list(output)
    else:
        return None
    for value in values:
        found = _first_tensor(value)
        if found is not None:
            return found
    return None
