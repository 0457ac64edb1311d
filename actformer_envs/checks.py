"""The checks of user-given values, one set for the whole project: each raises a one-line
``ValueError`` naming the parameter, what it allows and what it got.

The env's arguments (``config.py``), the tasks' recipes, the training config, imitation, evaluation
and the token baseline all check their values with these, so a bad value reads the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import numpy as np


def check_int(
    name: str,
    value: object,
    low: int,
    high: int | None = None,
    detail: str = "",
    numpy_ints: bool = False,
) -> None:
    """``value`` must be an int (not a bool) in ``[low, high]`` (no upper bound if ``high`` is None);
    ``numpy_ints`` also accepts NumPy integers. ``detail`` says where a bound comes from
    (``"min_length=3"``)."""
    kinds = (int, np.integer) if numpy_ints else int
    valid = not isinstance(value, (bool, np.bool_)) and isinstance(value, kinds)
    if not valid or value < low or (high is not None and value > high):  # type: ignore[operator]
        allowed = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"
        if detail:
            allowed += f" ({detail})"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def check_number(
    name: str, value: object, low: float, high: float | None = None, strict: bool = False
) -> None:
    """``value`` must be a finite real number (not a bool) > ``low`` (``strict``) or >= ``low``, and
    <= ``high`` unless it is None."""
    valid = isinstance(value, Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    if valid:
        valid = (value > low if strict else value >= low) and (high is None or value <= high)  # type: ignore[operator]
    if not valid:
        allowed = f"{'>' if strict else '>='} {low:g}" if high is None else f"in [{low:g}, {high:g}]"
        raise ValueError(f"{name} must be a finite number {allowed}, got {value!r}")


def check_bool(name: str, value: object) -> None:
    """``value`` must be a bool (not 0, 1 or a string)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool, got {value!r}")


def check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
