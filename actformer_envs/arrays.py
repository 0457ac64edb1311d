"""NumPy idioms of the hot paths, shared by the machine, the episodes and the tasks.

Nothing here knows of tasks or of the interpreter: these are forms NumPy runs fastest, named once.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt


def constant(value: float, dtype: npt.DTypeLike) -> np.ndarray:
    """``value`` as a read-only 0-d array of ``dtype``: as a ufunc operand it skips the conversion
    that a Python or NumPy scalar costs on every call (about half a call's overhead)."""
    array = np.array(value, dtype=dtype)
    array.flags.writeable = False
    return array


def row_items(array: np.ndarray) -> np.ndarray:
    """A C-contiguous array (n, ...) as a 1-D array of n opaque items, one per row (a view).

    ``row_items(state)[envs] = row_items(rows)`` moves whole rows in one 1-D fancy assignment,
    several times faster than ``state[envs] = rows`` on a 2-D array.
    """
    rows = array.reshape(len(array), -1)
    return rows.view(row_dtype(rows.shape[1] * rows.itemsize)).reshape(len(array))


def opaque(items: np.ndarray) -> np.ndarray:
    """A 1-D array of records as opaque items of the same size (a view), moved in one copy each."""
    return items.view(row_dtype(items.itemsize))


@functools.cache
def row_dtype(size: int) -> np.dtype:
    """The opaque item type of ``size`` bytes (at least one)."""
    return np.dtype((np.void, max(size, 1)))
