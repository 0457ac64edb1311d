"""Checkpoints of a training run: one file that resumes it exactly, written atomically.

A checkpoint is a dict: ``format_version``, ``algo``, ``config`` (the run's config as a plain
dict), ``policy`` (the policy's ``state_dict``, enough for evaluation without the trainer) and
``trainer`` (the trainer's ``state_dict``: optimizer, RNG states, the pickled vector env, steps,
curriculum; everything an exact resume needs). ``save_checkpoint`` writes a temporary file next to
the target and renames it over the target (``os.replace``), so a crash or an error mid-save never
leaves a half-written checkpoint nor destroys the previous one; it refuses a policy with a
non-finite parameter, so a diverged run cannot overwrite its last good checkpoint.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: Bumped whenever the payload's layout changes; older files are refused with a clear message.
FORMAT_VERSION = 1
#: The file name of a run's checkpoint inside its run directory.
CHECKPOINT_NAME = "checkpoint.pt"
#: Keys every checkpoint holds.
REQUIRED_KEYS = ("format_version", "algo", "config", "policy", "trainer")


def save_checkpoint(path: str | os.PathLike, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` (see the module docstring) to ``path`` atomically; the path written.

    ``ValueError`` (and nothing written) if a key is missing, or if any floating-point tensor or
    array of the policy's state is NaN or infinite (its name is in the message).
    """
    path = Path(path)
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise ValueError(f"checkpoint payload lacks {missing}; it needs {list(REQUIRED_KEYS)}")
    if not isinstance(payload["policy"], Mapping):
        raise ValueError("checkpoint payload's 'policy' must be the policy's state_dict (a mapping)")
    bad = [name for name, value in _leaves(payload["policy"], "policy") if not _finite(value)]
    if bad:
        raise ValueError(f"refusing to save a checkpoint with non-finite values in {', '.join(bad[:5])}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: its files are private (0600); this one gets the umask's permissions.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "xb") as file:
            torch.save(dict(payload), file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """``path`` itself if it is a file, ``path / checkpoint.pt`` if it is a run directory;
    ``FileNotFoundError`` saying which path was looked for otherwise."""
    path = Path(path)
    if path.is_dir():
        candidate = path / CHECKPOINT_NAME
        if not candidate.is_file():
            raise FileNotFoundError(f"no checkpoint in run directory {path} (looked for {candidate})")
        return candidate
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The payload saved at ``path`` (a checkpoint file or a run directory holding one).

    ``FileNotFoundError`` if there is none; ``ValueError`` saying what is wrong if the file is not
    a checkpoint (unreadable, truncated, another format version, keys missing).
    """
    path = resolve_checkpoint(path)
    try:
        # The trainer's state holds the pickled vector env, so this is a full unpickle: load only
        # checkpoints you trust (as with any pickle).
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as error:  # torch and pickle raise many types for a broken file
        raise ValueError(f"{path} is not a readable checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(payload, dict):
        raise ValueError(f"{path} is not an Actformer checkpoint (it holds a {type(payload).__name__})")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path} has checkpoint format version {version!r}; expected {FORMAT_VERSION}")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise ValueError(f"{path} is not a complete checkpoint: it lacks {missing}")
    return payload


def _leaves(value: Any, name: str) -> Iterator[tuple[str, Any]]:
    """(dotted name, tensor or array) of every tensor/array nested in dicts, lists and tuples."""
    if isinstance(value, (torch.Tensor, np.ndarray, float)):
        yield name, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, f"{name}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{name}.{index}")


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, torch.Tensor):
        return not value.is_floating_point() or bool(torch.isfinite(value).all())
    return value.dtype.kind not in "fc" or bool(np.isfinite(value).all())
