"""Checkpoints of a training run: data only, checksummed, written atomically.

A checkpoint is one `safetensors <https://huggingface.co/docs/safetensors>`_ file: every tensor and
array of the run (the policy's weights, once; the trainer's optimizer, RNG states, the vector env's
state as plain arrays) as a named tensor, and everything else (format version, algo, config, the env
it fits, the structure the tensors belong to) as JSON in the file's metadata. Loading it parses a
JSON header and reads raw numbers: it never unpickles anything, so a checkpoint cannot run code.

The payload ``save_checkpoint`` takes and ``load_checkpoint`` returns is a dict:
``format_version``, ``algo``, ``config`` (the run's config, ``TrainConfig.to_dict``), ``env``
(``env_signature``: the env id with its version and digests of the instruction table and of the
observation space),
``policy`` (the policy's ``state_dict``), ``trainer`` (the trainer's state without the policy;
empty for a policy-only checkpoint) and optionally ``run`` (run management: TensorBoard offsets).

A SHA-256 of the content is stored with it and checked on load: it detects a corrupted or edited
file (it is not a security boundary; the data-only format is). A policy with a NaN or infinite
weight is refused on save and on load. ``save_checkpoint`` writes a temporary file next to the
target and renames it over the target (``os.replace``), so a crash mid-save never leaves a
half-written checkpoint nor destroys the previous one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from actformer_envs import INSTRUCTIONS
from actformer_gym.train.pretrained import is_pretrained, pretrained_path

#: Bumped whenever the payload's layout changes; other versions are refused with a clear message.
#: Version 1 was a pickle (``torch.save``); it is refused unread, as unpickling can run code.
#: Version 2 held a flat config, version 3 ``TrainConfig.to_dict``'s sections and torch's and
#: NumPy's global RNG states; version 4 the trainer's own generators instead.
FORMAT_VERSION = 4
#: The file name of a run's checkpoint inside its run directory.
CHECKPOINT_NAME = "checkpoint.pt"
#: Keys every checkpoint holds.
REQUIRED_KEYS = ("format_version", "algo", "config", "env", "policy", "trainer")
#: The metadata keys of the safetensors file.
_CONTENT, _CHECKSUM = "actformer", "sha256"
#: The parts of the payload whose floating-point values must be finite (policy weights).
_WEIGHTS = ("policy", "trainer.warm_policy")


# ------------------------------------------------------------------------------------- the env


def env_signature(env_id: str, observation_space: spaces.Space) -> dict[str, str]:
    """What a policy fits: the env id (with its version) and digests of the instruction table and
    of the observation space. A checkpoint records it; loading into an env whose signature differs
    is refused."""
    table = [[i.name, i.op.name, i.a, i.b, i.k] for i in INSTRUCTIONS]
    return {
        "id": env_id,
        "instruction_table": _digest(table),
        "observation_space": _digest(_describe(observation_space)),
    }


def check_env_signature(payload: Mapping[str, Any], env_id: str, observation_space: spaces.Space) -> None:
    """``ValueError`` (one line) if the checkpoint's policy was not trained on this env as installed."""
    saved, here = payload["env"], env_signature(env_id, observation_space)
    if not isinstance(saved, Mapping):
        raise ValueError("the checkpoint's env signature is malformed")
    differing = [key for key in here if saved.get(key) != here[key]]
    if differing:
        shown = ", ".join(f"{key} {str(saved.get(key))[:12]} vs {here[key][:12]}" for key in differing)
        raise ValueError(
            f"the checkpoint fits another env than {env_id} as installed here ({shown}); "
            "a policy only runs on the env version, instruction table and observation space it was trained on"
        )


def _describe(space: spaces.Space) -> Any:
    """A space as plain JSON data: kind, shape, dtype and bounds, recursively for a ``Dict``."""
    if isinstance(space, spaces.Dict):
        return {key: _describe(sub) for key, sub in space.spaces.items()}
    bounds: dict[str, Any] = {}
    if isinstance(space, spaces.Box):
        bounds = {"low": space.low.tolist(), "high": space.high.tolist()}
    elif isinstance(space, spaces.MultiDiscrete):
        bounds = {"nvec": space.nvec.tolist(), "start": space.start.tolist()}
    elif isinstance(space, spaces.Discrete):
        bounds = {"n": int(space.n), "start": int(space.start)}
    return {"kind": type(space).__name__, "shape": space.shape, "dtype": str(space.dtype), **bounds}


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------------------------ save, load


def save_checkpoint(path: str | os.PathLike, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` (see the module docstring) to ``path`` atomically; the path written.

    ``ValueError`` (and nothing written) if a key is missing, or if a weight of the policy (or of
    the trainer's warm-start policy) is NaN or infinite (its name is in the message); ``TypeError``
    naming the entry if a value is not data (tensors, arrays, numbers, strings, lists, dicts).
    """
    path = Path(path)
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise ValueError(f"checkpoint payload lacks {missing}; it needs {list(REQUIRED_KEYS)}")
    if not isinstance(payload["policy"], Mapping):
        raise ValueError("checkpoint payload's 'policy' must be the policy's state_dict (a mapping)")
    bad = _non_finite_weights(payload)
    if bad:
        raise ValueError(f"refusing to save a checkpoint with non-finite values in {', '.join(bad[:5])}")
    tensors: dict[str, torch.Tensor] = {}
    content = json.dumps(_encode(dict(payload), "", tensors), sort_keys=True, allow_nan=False)
    data = safetensors_bytes(tensors, metadata={_CONTENT: content, _CHECKSUM: _checksum(content, tensors)})
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: its files are private (0600); this one gets the umask's permissions.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """``path`` itself if it is a file, ``path / checkpoint.pt`` if it is a run directory, the
    shipped file of ``pretrained:NAME`` (``train/pretrained.py``); ``FileNotFoundError`` saying
    which path was looked for (or which names exist) otherwise."""
    if is_pretrained(path):
        return pretrained_path(path)
    path = Path(path)
    if path.is_dir():
        candidate = path / CHECKPOINT_NAME
        if not candidate.is_file():
            raise FileNotFoundError(f"no checkpoint in run directory {path} (looked for {candidate})")
        return candidate
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The payload saved at ``path`` (a checkpoint file or a run directory holding one), on the CPU.

    ``FileNotFoundError`` if there is none; ``ValueError`` saying what is wrong (in one line) if
    the file is not a checkpoint of this format, is corrupted, lacks a key or holds non-finite
    weights. Only data is read: nothing in the file is executed or unpickled.
    """
    path = resolve_checkpoint(path)
    with open(path, "rb") as file:
        head = file.read(9)  # safetensors: the JSON header's size (8 bytes), then the header
    if head[8:] != b"{" and head.startswith((b"PK\x03\x04", b"\x80")):  # torch.save's zip, a pickle
        raise ValueError(
            f"{path} is in the old pickle-based checkpoint format, which is refused unread because "
            f"loading a pickle can run code; this version reads format {FORMAT_VERSION}: train again"
        )
    try:
        with safe_open(path, framework="pt") as file:
            metadata = file.metadata() or {}
            tensors = {name: file.get_tensor(name) for name in file.keys()}  # noqa: SIM118 (not a dict)
    except Exception as error:  # safetensors raises its own error types for a broken file
        detail = " ".join(str(error).split())[:200]
        raise ValueError(f"{path} is not a readable checkpoint ({type(error).__name__}: {detail})") from None
    if _CONTENT not in metadata:
        raise ValueError(f"{path} is not an Actformer checkpoint (a safetensors file without its metadata)")
    content = metadata[_CONTENT]
    if metadata.get(_CHECKSUM) != _checksum(content, tensors):
        raise ValueError(f"{path} is corrupted: its content does not match the checksum it was saved with")
    try:
        payload = _decode(json.loads(content), tensors)
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise ValueError(f"{path} is not a readable checkpoint ({type(error).__name__})") from None
    if not isinstance(payload, dict):
        raise ValueError(f"{path} is not an Actformer checkpoint (it holds a {type(payload).__name__})")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path} has checkpoint format version {version!r}; expected {FORMAT_VERSION}")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise ValueError(f"{path} is not a complete checkpoint: it lacks {missing}")
    policy = payload["policy"]
    if not isinstance(policy, dict) or not all(isinstance(v, torch.Tensor) for v in policy.values()):
        raise ValueError(f"{path} is not a complete checkpoint: its policy is not a state_dict of tensors")
    for key, kind in (("algo", str), ("config", dict), ("env", dict), ("trainer", dict)):
        if not isinstance(payload[key], kind):
            raise ValueError(f"{path} is not a complete checkpoint: its {key!r} is not a {kind.__name__}")
    bad = _non_finite_weights(payload)
    if bad:
        raise ValueError(f"{path} holds non-finite weights (in {', '.join(bad[:3])}); refusing to load it")
    return payload


# -------------------------------------------------------------------------- data as JSON + tensors
#
# The payload's structure becomes JSON; each tensor or array is replaced by a marker naming the
# tensor that holds it. Markers are dicts with one reserved key, so they cannot be confused with
# the payload's own dicts (whose keys are plain strings; other keys go through "__items__").

_TENSOR, _ARRAY, _TUPLE, _ITEMS, _FLOAT = "__tensor__", "__ndarray__", "__tuple__", "__items__", "__float__"
_MARKERS = (_TENSOR, _ARRAY, _TUPLE, _ITEMS, _FLOAT)


def _encode(value: Any, name: str, tensors: dict[str, torch.Tensor]) -> Any:
    """``value`` as JSON data, its tensors and arrays moved into ``tensors`` (on the CPU)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else {_FLOAT: repr(float(value))}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, torch.Tensor):
        return {_TENSOR: _add(tensors, name, value.detach().cpu())}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"cannot store {name or 'the payload'} ({value.dtype} array) in a checkpoint")
        return {_ARRAY: _add(tensors, name, torch.from_numpy(np.array(value)))}
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(item, f"{name}.{i}", tensors) for i, item in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(item, f"{name}.{i}", tensors) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        child = (lambda key: f"{name}.{key}") if name else str
        if all(isinstance(key, str) and key not in _MARKERS for key in value):
            return {key: _encode(item, child(key), tensors) for key, item in value.items()}
        return {_ITEMS: [[_encode(k, "", {}), _encode(v, child(k), tensors)] for k, v in value.items()]}
    raise TypeError(
        f"cannot store {name or 'the payload'} ({type(value).__name__}) in a checkpoint: only tensors, "
        "arrays, numbers, strings, None, lists, tuples and dicts"
    )


def _add(tensors: dict[str, torch.Tensor], name: str, tensor: torch.Tensor) -> str:
    """Store ``tensor`` under ``name`` (made unique); the name used."""
    unique, count = name, 1
    while unique in tensors:
        count += 1
        unique = f"{name}#{count}"
    tensors[unique] = tensor.contiguous().clone()  # (its own storage: safetensors refuses shared ones)
    return unique


def _decode(value: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """The inverse of ``_encode``."""
    if isinstance(value, list):
        return [_decode(item, tensors) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, item),) = value.items()
        if key == _TENSOR:
            return tensors[item]
        if key == _ARRAY:
            return tensors[item].numpy()
        if key == _TUPLE:
            return tuple(_decode(x, tensors) for x in item)
        if key == _ITEMS:
            return {_decode(k, tensors): _decode(v, tensors) for k, v in item}
        if key == _FLOAT:
            return float(item)
    return {key: _decode(item, tensors) for key, item in value.items()}


def _checksum(content: str, tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of the JSON content and of every tensor's name, dtype, shape and bytes."""
    digest = hashlib.sha256(content.encode())
    for name in sorted(tensors):
        tensor = tensors[name]
        digest.update(f"\0{name}\0{tensor.dtype}\0{list(tensor.shape)}\0".encode())
        digest.update(tensor.numpy().tobytes())  # (C order, whatever the strides)
    return digest.hexdigest()


def _non_finite_weights(payload: Mapping[str, Any]) -> list[str]:
    """Dotted names of the policy weights (``_WEIGHTS``) that hold a NaN or an infinity."""
    bad = []
    for part in _WEIGHTS:
        value: Any = payload
        for key in part.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        bad += [name for name, leaf in _leaves(value, part) if not _finite(leaf)]
    return bad


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
