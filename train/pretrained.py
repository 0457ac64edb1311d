"""Pretrained policies shipped with the package, loaded by name: ``pretrained:Addition``.

Each is its task's certified recipe (``actformer train --task T``: a projected policy fit on the
verification set of the recipe's training lengths), seed 0, certified, saved as a policy-only
checkpoint (``train/checkpoint.py``: data only, checksummed, under 1 MB). ``pretrained.json`` beside
them records how each was made (command, commit, pinned kernels) and its greedy exact match at the
recipe's lengths, which a test reproduces. ``python -m scripts.pretrained`` regenerates them all; it
must run whenever an env version they fit changes (loading one into another env version is refused).

    actformer eval --checkpoint pretrained:Addition --lengths 3 30 300
    actformer trace --checkpoint pretrained:Addition --problem 123+989
"""

from __future__ import annotations

import os
from pathlib import Path

#: What names a shipped policy instead of a path.
PREFIX = "pretrained:"
#: Where the shipped checkpoints and their record live (package data).
DIRECTORY = Path(__file__).resolve().with_name("pretrained")
#: A shipped checkpoint's file name: the task, then this.
SUFFIX = ".safetensors"
#: The record of how each was made and what it scores.
RECORD = DIRECTORY / "pretrained.json"


def available() -> list[str]:
    """The names of the shipped policies (their tasks), sorted."""
    return sorted(path.name.removesuffix(SUFFIX) for path in DIRECTORY.glob(f"*{SUFFIX}"))


def is_pretrained(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a shipped policy (``pretrained:NAME``)."""
    return str(path).startswith(PREFIX)


def pretrained_path(name: str | os.PathLike) -> Path:
    """The file of the shipped policy ``pretrained:NAME`` (or just ``NAME``); ``FileNotFoundError``
    naming the available ones if there is none of that name."""
    task = str(name).removeprefix(PREFIX)
    path = DIRECTORY / f"{task}{SUFFIX}"
    if not task or "/" in task or os.sep in task or not path.is_file():
        shown = ", ".join(f"{PREFIX}{n}" for n in available()) or "none"
        raise FileNotFoundError(f"no pretrained policy {task!r}; available: {shown}")
    return path
