"""The layout shared by the sequence tasks: an input row ``IN`` and an output row ``OUT``."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

import numpy as np

from actformer_envs.streams import BatchRandom
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.base import (
    Enumeration,
    Problems,
    Task,
    answer_lengths,
    check_sequence,
    distinct,
    fill_from,
    index_digits,
    pad_rows,
)


def symbol_families(base: int, length: int) -> list[list[int]]:
    """Sequences of ``length`` symbols that random ones rarely are: one symbol throughout (the
    smallest, the largest), the two alternating, ascending and descending runs (wrapping at
    ``base``), and those runs sorted each way; without repeats."""
    top = base - 1
    ramp = [i % base for i in range(length)]
    return distinct(
        [
            [0] * length,
            [top] * length,
            [top * (i % 2) for i in range(length)],
            ramp,
            [top - symbol for symbol in ramp],
            sorted(ramp),
            sorted(ramp, reverse=True),
        ]
    )


def decode_symbol_lists(rows: np.ndarray) -> list[list[int] | None]:
    """Each output row's written symbols (a list of ints), None where they have a gap."""
    lengths = answer_lengths(rows).tolist()
    return [row[:n] if n >= 0 else None for row, n in zip(rows.tolist(), lengths, strict=True)]


def decode_single_symbols(rows: np.ndarray) -> list[int | None]:
    """Each output row's one symbol (an int), None unless exactly its first cell is written."""
    lengths = answer_lengths(rows).tolist()
    return [row[0] if n == 1 else None for row, n in zip(rows.tolist(), lengths, strict=True)]


class SequenceTask(Task):
    """``IN`` holds n symbols then a BLANK (n + 1 columns); ``P0`` stands on ``IN``, ``P1`` on ``OUT``.

    Subclasses say what the answer is (:meth:`answer`) and how long the expert takes
    (:meth:`program_length`).
    """

    # The layout, as data: a subclass may declare other rows (Sort sorts in place, on ``IN`` alone).
    rows: ClassVar[tuple[str, ...]] = ("IN", "OUT")
    output_row = 1
    pointer_rows: ClassVar[tuple[int | None, ...]] = (0, 1, None, None)
    #: The answer is one symbol in the first cell of the output row (Parity's bit), not a sequence.
    answer_is_one_symbol: ClassVar[bool] = False

    @property
    def alphabet(self) -> int:
        """How many symbols (0, 1, ...) an input may hold: ``base``, unless a task's inputs use fewer
        (CycleNavigation's three moves in base 5)."""
        return self.base

    @abstractmethod
    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The target output rows (n, width) for input rows (n, width) of the given lengths."""

    @abstractmethod
    def program_length(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Steps the expert takes on input rows (n, width) of the given lengths, (n,) ints: the
        ``program_length`` of their posed problems (most tasks' depend on the lengths alone)."""

    def generate(self, random: BatchRandom, lengths: np.ndarray, width: int) -> Problems:
        symbols = random.integers(self.alphabet, width).astype(np.int8)
        return self._pose(fill_from(symbols, lengths, BLANK), lengths)

    def problem_length(self, problem: Any) -> int:
        return len(check_sequence(problem, self.alphabet, self.name))

    def adversarial_problems(self, length: int) -> list[Any]:
        """The symbol families (``symbol_families``): constant, alternating, runs, sorted each way."""
        return symbol_families(self.alphabet, length)

    def encode(self, problem: Any, width: int) -> Problems:
        symbols = check_sequence(problem, self.alphabet, self.name)
        row = np.full((1, width), BLANK, dtype=np.int8)
        row[0, : len(symbols)] = symbols
        return self._pose(row, np.array([len(symbols)]))

    def problem_count(self, length: int) -> int:
        """``alphabet ** length``: every sequence of ``length`` symbols (a subclass whose problems are
        not, as DuplicatedInput's, overrides this and ``_enumerate``)."""
        return self.alphabet**length

    def _enumerate(self, length: int, count: int) -> Enumeration:
        """The sequences in ``itertools.product`` order, as lists of ints."""
        return self._sequences(length, count, lambda indices: index_digits(indices, self.alphabet, length))

    def _sequences(
        self,
        length: int,
        count: int,
        rows_at: Callable[[np.ndarray], np.ndarray],
        cells: int | None = None,
    ) -> Enumeration:
        """``count`` problems of ``length``, each an input of ``cells`` symbols (default: ``length``;
        MissingDuplicate's are 2n), problem ``i`` row ``i`` of ``rows_at`` ((m,) indices to
        (m, cells) symbols), as lists of ints, laid out as ``encode`` lays them out."""
        cells = length if cells is None else cells

        def problems_at(indices: np.ndarray) -> list[Any]:
            return rows_at(indices).tolist()

        def pose_at(indices: np.ndarray, width: int) -> Problems:
            inputs = np.full((len(indices), width), BLANK, dtype=np.int8)
            inputs[:, :cells] = rows_at(indices)
            return self._pose(inputs, np.full(len(indices), cells, dtype=np.int64))

        return Enumeration(self, length, count, problems_at, pose_at)

    def extent(self, lengths: np.ndarray) -> np.ndarray:
        """Columns of every row for inputs of ``lengths`` symbols: the input and a BLANK (a task
        whose answer is longer, as DuplicateString's, overrides this and ``width``)."""
        return lengths + 1

    def _pose(self, inputs: np.ndarray, lengths: np.ndarray) -> Problems:
        """The input on the first of ``rows``, every other row BLANK (a layout of one row, as Sort's,
        is the input alone), each ``extent`` columns."""
        extent = self.extent(lengths)
        scratchpad = np.full((len(inputs), len(self.rows), inputs.shape[1]), BLANK, dtype=inputs.dtype)
        scratchpad[:, 0] = inputs
        target, program_length = self.solve(inputs, lengths)
        return Problems(
            pad_rows(scratchpad, extent), pad_rows(target, extent), program_length.astype(np.int64)
        )

    def solve(self, inputs: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(:meth:`answer`, :meth:`program_length`) of input rows; a task that finds both in one
        computation (SolveEquation's search) overrides this."""
        return self.answer(inputs, lengths), self.program_length(inputs, lengths)

    def decode_batch(self, rows: np.ndarray) -> list[Any]:
        """Each output row's written symbols (a list of ints), None where they have a gap; for a task
        whose answer is one symbol, that symbol (an int), None unless exactly one is written."""
        return (decode_single_symbols if self.answer_is_one_symbol else decode_symbol_lists)(rows)

    @property
    def decoding(self) -> Hashable:
        return decode_single_symbols if self.answer_is_one_symbol else decode_symbol_lists
