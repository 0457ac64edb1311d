"""What an episode needs from a problem, computed once, when the problem is generated.

Resetting an environment is then a handful of copies: the problem's layout, its target, its
initial scores and one record of per-episode constants (step limit, time cost, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actformer_envs.symbols import BLANK
from actformer_envs.tasks import Problems, Task

#: Shaped mode: the time penalty of a whole expert-length episode, spread evenly over its steps.
TIME_PENALTY = 0.1
#: Episodes are truncated after this many times the expert's program length.
STEP_LIMIT_FACTOR = 2

# Columns of ``Posed.record``.
STEP_LIMIT, STEP_COST, INVERSE_TARGET_DIGITS, START_POTENTIAL = range(4)


@dataclass
class Posed:
    """A batch of problems ready to load: layout, target, initial scores, per-episode record."""

    scratchpad: np.ndarray  # (n, rows, width) int8
    target: np.ndarray  # (n, width) int8
    wrong: np.ndarray  # (n,) int32: output cells that differ from the target at the start
    correct: np.ndarray  # (n,) int32: target digits already in place at the start
    record: np.ndarray  # (n, 4) float64: STEP_LIMIT, STEP_COST, INVERSE_TARGET_DIGITS, START_POTENTIAL
    answers: np.ndarray  # (n,) object: the decoded target, reported in info

    def __getitem__(self, index: np.ndarray) -> Posed:
        return Posed(*(getattr(self, f)[index] for f in _FIELDS))

    def __setitem__(self, index: np.ndarray, value: Posed) -> None:
        for f in _FIELDS:
            getattr(self, f)[index] = getattr(value, f)


_FIELDS = ("scratchpad", "target", "wrong", "correct", "record", "answers")


def pose(task: Task, problems: Problems) -> Posed:
    """Everything a reset needs from ``problems``."""
    written = problems.scratchpad[:, task.output_row]
    target = problems.target
    is_digit = target < BLANK
    correct = ((written == target) & is_digit).sum(axis=1).astype(np.int32)
    inverse_digits = 1.0 / np.maximum(is_digit.sum(axis=1), 1)
    program = problems.program_length
    record = np.stack(
        [STEP_LIMIT_FACTOR * program, TIME_PENALTY / program, inverse_digits, correct * inverse_digits],
        axis=1,
    )
    return Posed(
        scratchpad=problems.scratchpad,
        target=target,
        wrong=(written != target).sum(axis=1).astype(np.int32),
        correct=correct,
        record=record,
        answers=np.fromiter(task.decode_batch(target), dtype=object, count=len(program)),
    )


def empty_posed(slots: int, rows: int, width: int) -> Posed:
    """Room for ``slots`` posed problems."""
    return Posed(
        scratchpad=np.zeros((slots, rows, width), dtype=np.int8),
        target=np.zeros((slots, width), dtype=np.int8),
        wrong=np.zeros(slots, dtype=np.int32),
        correct=np.zeros(slots, dtype=np.int32),
        record=np.zeros((slots, 4)),
        answers=np.empty(slots, dtype=object),
    )
