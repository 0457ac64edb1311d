"""What an episode needs from a problem, computed once, when the problem is generated.

Resetting an environment is then a handful of copies: the problem's layout, its target, its
initial scores and one record of per-episode constants (step limit, time cost, ...). The decoded
answer (a Python object) is not among them: it is decoded from the target row when the episode
ends, with the output, so problems that never finish cost nothing to decode.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from actformer_envs.arrays import opaque
from actformer_envs.machine import memory_images
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Problems, Task, count_per_row

#: Shaped mode: the time penalty of a whole expert-length episode, spread evenly over its steps.
TIME_PENALTY = 0.1
#: Shaped mode: penalty for a masked-out or faulting instruction.
INVALID_PENALTY = 0.05
#: Episodes are truncated after this many times the expert's program length.
STEP_LIMIT_FACTOR = 2

#: The constants of an episode, computed with its problem (``Episodes`` keeps each in an array).
EPISODE = np.dtype(
    [
        ("step_limit", np.int64),  # truncated at this many steps
        ("step_cost", np.float64),  # shaped mode: the time penalty of one step
        ("inverse_target_digits", np.float64),  # shaped mode: the potential of one correct digit
        ("start_potential", np.float64),  # shaped mode: the potential of the posed scratchpad
    ]
)


class Posed:
    """A batch of problems ready to load.

    Everything lives in one structured record per problem, so that taking a few problems out of a
    large queue costs one gather of rows of bytes (a cache line or two per problem), not six.
    """

    def __init__(self, records: np.ndarray, items: np.ndarray | None = None) -> None:
        self.records = records  # (n,) structured: see ``posed_dtype``
        # The same records as opaque items, which ``take`` moves in one copy each (fancy indexing a
        # structured array copies field by field). Kept: viewing a structured array costs a check
        # of its fields in Python.
        self.items = opaque(records) if items is None else items

    @property
    def scratchpad(self) -> np.ndarray:  # (n,) the machine's scratchpad, one item each (memory_images)
        return self.records["scratchpad"]

    @property
    def target(self) -> np.ndarray:  # (n,) the machine's target (an exact answer's output row), likewise
        return self.records["target"]

    @property
    def wrong(self) -> np.ndarray:  # (n,) int32: output cells that differ from the target at first
        return self.records["wrong"]

    @property
    def correct(self) -> np.ndarray:  # (n,) int32: target digits already in place at first
        return self.records["correct"]

    @property
    def layout(self) -> np.ndarray:  # (n,) int16: the member task (and so the layout) of each problem
        return self.records["layout"]

    @property
    def episode(self) -> np.ndarray:  # (n,) ``EPISODE``: the step limit, costs and potential
        return self.records["episode"]

    def __len__(self) -> int:
        return len(self.records)

    def __getstate__(self) -> dict:
        return {"records": self.records}  # (pickling the view would make it a copy)

    def __setstate__(self, state: dict) -> None:
        self.records = state["records"]
        self.items = opaque(self.records)

    def __getitem__(self, index: np.ndarray) -> Posed:
        items = self.items.take(index)
        return Posed(np.frombuffer(items, self.records.dtype), items)  # (a view, without the check)

    def __setitem__(self, index: np.ndarray, value: Posed) -> None:
        self.items[index] = value.items


#: The largest item NumPy makes (its item sizes are C ints; a larger structured record wraps around
#: to a negative size): the bound on a posed problem's record, so on ``max_length``.
MAX_POSED_BYTES = 2**31 - 1


def posed_bytes(rows: int, width: int) -> int:
    """The size of :func:`posed_dtype`'s record, computed without making it (so also beyond
    ``MAX_POSED_BYTES``)."""
    return 2 * (rows + 1) * (width + 2) + 2 * 4 + 2 + EPISODE.itemsize


def posed_dtype(rows: int, width: int) -> np.dtype:
    """The structured record of one posed problem."""
    return np.dtype(
        [
            ("scratchpad", np.void, (rows + 1) * (width + 2)),  # see ``memory_images``
            ("target", np.void, (rows + 1) * (width + 2)),
            ("wrong", np.int32),
            ("correct", np.int32),
            ("layout", np.int16),
            ("episode", EPISODE),
        ]
    )


def pose(members: Sequence[Task], problems: Problems, member: np.ndarray) -> Posed:
    """Everything a reset needs from ``problems``, each of the member task ``member`` (n,) of
    ``members`` (the members of a mixture; a plain task is the one member of its own)."""
    n = len(problems)
    output_rows = np.array([task.output_row for task in members]).take(member)
    if n and output_rows.min() == output_rows.max():  # one output row: slicing, not fancy indexing
        written = problems.scratchpad[:, output_rows[0]]
    else:
        written = problems.scratchpad[np.arange(n), output_rows]
    target = problems.target
    # Counted column by column, (width, n): see ``tasks.base.count_per_row``.
    written_columns, target_columns = np.ascontiguousarray(written.T), np.ascontiguousarray(target.T)
    is_digit = target_columns < BLANK
    correct = count_per_row((written_columns == target_columns) & is_digit)
    inverse_digits = 1.0 / np.maximum(count_per_row(is_digit), 1)
    program = problems.program_length
    _, rows, width = problems.scratchpad.shape
    records = np.empty(n, dtype=posed_dtype(rows, width))
    records["scratchpad"], records["target"] = memory_images(problems.scratchpad, target, output_rows)
    records["wrong"] = count_per_row(written_columns != target_columns)
    records["correct"] = correct
    records["layout"] = member
    episode = records["episode"]
    episode["step_limit"] = STEP_LIMIT_FACTOR * program
    episode["step_cost"] = TIME_PENALTY / program
    episode["inverse_target_digits"] = inverse_digits
    episode["start_potential"] = correct * inverse_digits
    return Posed(records)


def empty_posed(slots: int, rows: int, width: int) -> Posed:
    """Room for ``slots`` posed problems."""
    return Posed(np.zeros(slots, dtype=posed_dtype(rows, width)))
