"""Find the class scores in whatever a model's forward returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Optional, Union

import torch

from .errors import ModelOutputError

OutputChoice = Union[None, int, str, Callable[[Any], Any]]
"""Which part of a model's output holds the class scores: an index, a key, or a function of the output."""


SINGLE_LOGIT = (
    "The model returns one score per image; it is read as a binary classifier's logit: class 1 is the "
    "positive class (its score is the logit, its probability the sigmoid), class 0 the negative class "
    "(score 0, probability 1 − sigmoid), so class 1's maps show evidence for and against."
)


class Scores:
    """An output choice that already gives one score per image (an (N,) tensor): the score
    of a :class:`~xai_widgets.engine.targets.Target`. The engine explains it as class 0 of a
    one-column output, with no binary-logit reading."""

    def __call__(self, output: Any) -> torch.Tensor:  # pragma: no cover - subclasses score
        raise NotImplementedError


def select_logits(output: Any, choice: OutputChoice = None, batch: Optional[int] = None) -> torch.Tensor:
    """Return the N×K class scores of ``output`` (see :func:`find_logits`)."""
    return find_logits(output, choice, batch)[0]


def find_logits(
    output: Any, choice: OutputChoice = None, batch: Optional[int] = None
) -> tuple[torch.Tensor, Optional[str]]:
    """The N×K class scores and a note saying how they were found (``None`` when obvious).

    One score per image (shape (N,) for a batch of ``batch`` = N images, or (N, 1)) is a binary
    classifier's logit z: it becomes the two class scores [0, z], whose softmax is exactly
    [1 − sigmoid(z), sigmoid(z)], so class 1 is explained through z itself.

    ``choice`` picks them: an int index (tuple/list), a key (dict, or an attribute name), or
    a callable on the output. Without it: the tensor itself, ``.logits`` / ``["logits"]``, or
    else the first tensor inside (with a note naming it and how to choose another).
    """
    if isinstance(choice, Scores):
        scores = choice(output)
        return scores.reshape(-1, 1), None
    candidates = list(_tensors(output))
    if choice is not None:
        found, where, note = _chosen(output, choice), f"output={_describe(choice)}", None
    elif isinstance(output, torch.Tensor):
        found, where, note = output, "output", None
    elif candidates:
        where, found = candidates[0]
        note = None
        if not where.endswith("logits") and not where.endswith("'logits']"):
            note = (
                f"The model returned a {type(output).__name__}; its first tensor, out{where} "
                f"(shape {tuple(found.shape)}), was used as the class scores. "
                "Pass output=<index, key or function> to choose another."
            )
    else:
        raise ModelOutputError(
            f"The model returned {type(output).__name__} with no tensor of class scores; "
            "wrap it so that forward returns an N×K tensor of logits."
        )
    if found.dim() == 1 and batch is not None and found.shape[0] == batch:
        found = found.unsqueeze(1)  # one logit per image
    if found.dim() == 1:
        found = found.unsqueeze(0)
    if found.dim() != 2:
        raise ModelOutputError(_shape_message(where, found, candidates))
    if found.shape[1] == 1:
        found = torch.cat([torch.zeros_like(found), found], dim=1)
        note = SINGLE_LOGIT if note is None else f"{note} {SINGLE_LOGIT}"
    return found, note


def chosen_part(output: Any, choice: OutputChoice) -> torch.Tensor:
    """The tensor ``choice`` (an index, key, attribute name or function) selects in ``output``."""
    return _chosen(output, choice)


def _chosen(output: Any, choice: OutputChoice) -> torch.Tensor:
    try:
        if callable(choice):
            found = choice(output)
        elif isinstance(choice, str) and not isinstance(output, Mapping):
            found = getattr(output, choice)
        else:
            found = output[choice]
    except (IndexError, KeyError, TypeError, AttributeError) as err:
        options = ", ".join(f"out{where} (shape {tuple(t.shape)})" for where, t in _tensors(output)) or "none"
        raise ModelOutputError(
            f"output={_describe(choice)} selects nothing in the model's {type(output).__name__} ({err!r}); "
            f"its tensors are: {options}. Pass output= one of those indices or keys, or a function."
        ) from None
    if not isinstance(found, torch.Tensor):
        raise ModelOutputError(
            f"output={_describe(choice)} gave a {type(found).__name__}, not a tensor; "
            "choose an index, key or function that gives the N×K class scores."
        )
    return found


def _shape_message(where: str, found: torch.Tensor, candidates: list[tuple[str, torch.Tensor]]) -> str:
    name = where if where.startswith("output") else f"out{where}"
    others = [(w, t) for w, t in candidates if t.dim() in (1, 2) and t is not found]
    if others:
        hint = f"pass output={_as_choice(others[0][0])} to use out{others[0][0]} (shape {tuple(others[0][1].shape)})"
    else:
        hint = "wrap the model so that forward returns logits (for example, pool spatial outputs)"
    return f"The model's {name} has shape {tuple(found.shape)}, not N×K class scores; {hint}."


def _tensors(output: Any, where: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor inside ``output`` with its path (``[0]``, ``['key']``, ``.logits``), logits first."""
    if isinstance(output, torch.Tensor):
        yield where, output
        return
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor) and not isinstance(output, Mapping):
        yield f"{where}.logits", logits
    if isinstance(output, Mapping):
        keys = sorted(output, key=lambda k: k != "logits")
        for key in keys:
            yield from _tensors(output[key], f"{where}[{key!r}]")
    elif isinstance(output, Sequence) and not isinstance(output, (str, bytes)):
        for index, value in enumerate(output):
            yield from _tensors(value, f"{where}[{index}]")


def _as_choice(where: str) -> str:
    """The ``output=`` argument that selects the tensor at path ``where``."""
    if where.count("[") == 1 and where.startswith("[") and where.endswith("]"):
        return where[1:-1]
    return f"lambda out: out{where}"


def _describe(choice: OutputChoice) -> str:
    return getattr(choice, "__name__", None) or repr(choice) if callable(choice) else repr(choice)
