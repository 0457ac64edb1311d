"""The scratchpad's alphabet: digits of any base up to 36, BLANK, and EDGE (outside the tape); and
the number of task ids a MultiTask's observation can show.

This module imports nothing of the package, so that every module can import it.
"""

from __future__ import annotations

import numpy as np

MAX_BASE = 36
BLANK = MAX_BASE  # an empty cell on the tape
EDGE = MAX_BASE + 1  # beyond the end of a row; pointers never stand on it
NUM_SYMBOLS = MAX_BASE + 2

#: The values ``obs["task"]`` takes (a MultiTask's member's id, its position in
#: ``tasks.SINGLE_TASKS``): room for the ids of tasks to come, so that adding one keeps the space.
NUM_TASK_IDS = 32

#: One character per symbol, for rendering: 0-9, a-z, then BLANK and EDGE.
SYMBOL_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz" + ".#"

#: Numeric value of each symbol as READ sees it: a digit is itself, BLANK and EDGE read as 0.
SYMBOL_VALUE = np.array([*range(MAX_BASE), 0, 0], dtype=np.int32)


def symbols_to_text(symbols: np.ndarray) -> str:
    """The characters of a row of symbols."""
    return "".join(SYMBOL_CHARS[s] for s in symbols)
