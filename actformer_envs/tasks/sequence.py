"""The layout shared by the sequence tasks: an input row ``IN`` and an output row ``OUT``."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import Problems, Task, answer_lengths, check_sequence, fill_from, pad_rows


class SequenceTask(Task):
    """``IN`` holds n symbols then a BLANK (n + 1 columns); ``P0`` stands on ``IN``, ``P1`` on ``OUT``.

    Subclasses say what the answer is (:meth:`answer`) and how long the expert takes.
    """

    rows = ("IN", "OUT")
    output_row = 1
    pointer_rows = (0, 1, None, None)

    @abstractmethod
    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The target output rows (n, width) for input rows (n, width) of the given lengths."""

    def program_length(self, lengths: np.ndarray) -> np.ndarray:
        """Steps the expert takes on inputs of the given lengths (a task that poses its problems
        with its own ``_pose``, as Sort, need not say)."""
        raise NotImplementedError

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        symbols = random.integers(self.base, width).astype(np.int8)
        return self._pose(fill_from(symbols, lengths, BLANK), lengths)

    def problem_length(self, problem: Any) -> int:
        return len(check_sequence(problem, self.base, self.name))

    def encode(self, problem: Any, width: int) -> Problems:
        symbols = check_sequence(problem, self.base, self.name)
        row = np.full((1, width), BLANK, dtype=np.int8)
        row[0, : len(symbols)] = symbols
        return self._pose(row, np.array([len(symbols)]))

    def _pose(self, inputs: np.ndarray, lengths: np.ndarray) -> Problems:
        extent = lengths + 1
        scratchpad = np.stack([inputs, np.full_like(inputs, BLANK)], axis=1)
        target = self.answer(inputs, lengths)
        return Problems(
            pad_rows(scratchpad, extent),
            pad_rows(target, extent),
            self.program_length(lengths).astype(np.int64),
        )

    def decode_batch(self, rows: np.ndarray) -> list[list[int] | None]:
        lengths = answer_lengths(rows).tolist()
        return [row[:n] if n >= 0 else None for row, n in zip(rows.tolist(), lengths, strict=True)]
