"""Explicit state as plain arrays: what a checkpoint stores of an env instead of a pickle.

Each stateful part of an env (``Machine``, ``ProblemQueue``, ``Episodes``, the env faces) names the
arrays that make up its state. ``state_dict()`` copies them out; ``load_state_dict()`` copies them
back *into* the existing arrays, after checking every name, shape and dtype, so the views the hot
paths keep of those arrays stay valid and a state from another configuration is refused whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def array_state(owner: Any, names: Iterable[str]) -> dict[str, np.ndarray]:
    """Copies of ``owner``'s arrays ``names``, keyed by name."""
    return {name: np.array(getattr(owner, name)) for name in names}


def load_array_state(owner: Any, state: Mapping[str, Any], names: Iterable[str], what: str) -> None:
    """Copy ``state[name]`` into ``owner``'s array ``name`` for every name; ``ValueError`` naming
    ``what`` and the first bad entry (nothing is changed then) if one is missing or has another
    shape or dtype."""
    names = tuple(names)
    missing = [name for name in names if name not in state]
    if missing:
        raise ValueError(f"{what} state lacks {missing}")
    for name in names:
        current, value = getattr(owner, name), state[name]
        if not isinstance(value, np.ndarray) or value.shape != current.shape or value.dtype != current.dtype:
            got = f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
            raise ValueError(
                f"{what} state {name!r} must be a {current.dtype} array of shape {current.shape}, got {got}"
            )
    for name in names:
        np.copyto(getattr(owner, name), state[name])


def generator_state(generator: np.random.Generator | None) -> dict[str, Any] | None:
    """A NumPy generator's state as plain numbers and strings (None for no generator)."""
    return None if generator is None else dict(generator.bit_generator.state)


def generator_from_state(state: Mapping[str, Any] | None, what: str) -> np.random.Generator | None:
    """The generator of a ``generator_state``; ``ValueError`` naming ``what`` if it is malformed."""
    if state is None:
        return None
    name = state.get("bit_generator") if isinstance(state, Mapping) else None
    if name not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
        raise ValueError(f"{what} must be the state of a NumPy bit generator, got {state!r:.80}")
    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = dict(state)
    except (TypeError, ValueError, KeyError) as error:
        raise ValueError(f"{what} is not a valid {name} state: {error}") from None
    return np.random.Generator(bit_generator)
