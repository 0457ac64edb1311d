"""Verification sets on disk: built once per (env id and version, settings, expert code), then read.

A verification set is a deterministic function of the task's env version, the problems run (lengths,
counts, seed, cap), the observation settings and the expert's code, so it is cached under a key
hashed from all of them (``set_key``). The expert's code is the source of the task's classes
(``expert_fingerprint``); a change to the machine's dynamics bumps the env version, which is in the
key too. A file is plain arrays and one JSON header (``np.load`` with ``allow_pickle=False``): data,
never code. An unreadable or foreign file is rebuilt, not trusted.

The folder is ``$ACTFORMER_CACHE_DIR`` (empty: no disk cache), else ``~/.cache/actformer_gym``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from actformer_envs.tasks import MultiTask, Task
from actformer_envs.tasks.registry import env_id
from actformer_envs.verification import ObservationSet

#: The environment variable naming the cache folder (empty: no disk cache).
CACHE_ENV = "ACTFORMER_CACHE_DIR"
#: The layout of a cached file; a file of another layout is rebuilt.
FORMAT = 1
_ARRAYS = ("rows", "expert_actions", "action_masks", "episode", "step")
_HEADER = ("task", "settings", "keys", "shapes", "dtypes", "sources", "episodes", "visits")
_COUNTS = ("expert_failures", "conflicts")


def cache_dir() -> Path | None:
    """Where verification sets are kept: ``$ACTFORMER_CACHE_DIR``, else ``~/.cache/actformer_gym``;
    None where the variable is set empty (no disk cache)."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return Path(chosen).expanduser() / "verification" if chosen else None
    return Path.home() / ".cache" / "actformer_gym" / "verification"


def expert_fingerprint(task_type: type[Task] | type[MultiTask]) -> str | None:
    """A hash of the source of the task's classes (its expert's rule, what it reads, how it poses
    problems) and, for a MultiTask, of every single task it may mix; None where the source cannot
    be read (then the set is not cached)."""
    classes: list[type] = [task_type]
    if issubclass(task_type, MultiTask):
        classes += list(task_type.catalogue.values())
    sources = []
    for cls in classes:
        for owner in cls.__mro__:
            if owner.__module__.startswith("actformer_envs"):
                try:
                    sources.append(inspect.getsource(owner))
                except (OSError, TypeError):
                    return None
    return hashlib.sha256("\n".join(sources).encode()).hexdigest()[:16]


def set_key(task_type: type[Task] | type[MultiTask], **fields: Any) -> str | None:
    """The cache key of a verification set: its env id (name and version), ``fields`` (lengths,
    counts, seed, cap, settings, projected: anything the set depends on) and the expert's code; None
    where the code cannot be fingerprinted."""
    fingerprint = expert_fingerprint(task_type)
    if fingerprint is None:
        return None
    described = {"env_id": env_id(task_type.name), "expert": fingerprint, "format": FORMAT, **fields}
    text = json.dumps(described, sort_keys=True, default=list)
    return f"{task_type.name}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def save_set(obs_set: ObservationSet, path: Path) -> None:
    """Write ``obs_set`` to ``path`` (.npz) atomically: its arrays and a JSON header."""
    header = {name: getattr(obs_set, name) for name in (*_HEADER, *_COUNTS)}
    header["format"] = FORMAT
    arrays = {name: getattr(obs_set, name) for name in _ARRAYS}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
        np.savez(handle, header=np.array(json.dumps(header)), **arrays)
    os.replace(handle.name, path)


def load_set(path: Path) -> ObservationSet | None:
    """The set saved at ``path``, or None where it is missing, unreadable or of another layout."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            header = json.loads(str(saved["header"]))
            arrays = {name: saved[name] for name in _ARRAYS}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):  # (JSON errors are ValueErrors)
        return None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return None
    try:
        return ObservationSet(
            task=header["task"],
            settings=header["settings"],
            keys=tuple(header["keys"]),
            shapes=tuple(tuple(shape) for shape in header["shapes"]),
            dtypes=tuple(header["dtypes"]),
            sources=header["sources"],
            episodes=header["episodes"],
            visits=header["visits"],
            expert_failures=header["expert_failures"],
            conflicts=header["conflicts"],
            **arrays,
        )
    except (KeyError, TypeError):
        return None
