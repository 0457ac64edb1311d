"""RepeatCopy: the input sequence written n times; n is stored in unary (n marks) on row 1."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from oracles.base import SEQUENCE_MALFORMED, Oracle, row_prefix, symbol_lists

#: The env's default ``max_repeats`` (the tests make the env with its defaults).
MAX_REPEATS = 3


class RepeatCopyOracle(Oracle):
    """Problems are (sequence, n); the expert copies n passes, rewinding the input between passes."""

    task = "RepeatCopy"

    def problem_from_full_obs(self, obs: dict[str, np.ndarray], base: int) -> Any:
        pad = obs["scratchpad"]
        return row_prefix(pad[0]), len(row_prefix(pad[1]))

    def problem_length(self, problem: Any, base: int) -> int:
        return len(problem[0])

    def answer(self, problem: Any, base: int) -> Any:
        sequence, n = problem
        return list(sequence) * n

    def program_length(self, problem: Any, base: int) -> int:
        # Per pass 4 steps per symbol and one count step; L rewind steps between passes; HALT.
        length, n = len(problem[0]), problem[1]
        return n * (4 * length + 1) + (n - 1) * length + 1

    def edge_cases(self, base: int) -> list[Any]:
        top = base - 1
        every = list(range(base))
        return [
            ([0], 1),
            ([top], MAX_REPEATS),
            ([0], MAX_REPEATS),
            ([top] * 40, 1),
            ([top] * 300, MAX_REPEATS),
            ([0] * 17, 2),
            ([top, 0] * 25, MAX_REPEATS),
            (every, 2),
            (every[::-1], MAX_REPEATS),
            ([np.int64(1), np.int32(0)], np.int64(2)),  # numpy ints are accepted too
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        sequences = [*SEQUENCE_MALFORMED, [], [base], [0] * (max_length + 1)]
        return [
            *((s, 1) for s in sequences),
            ([1], 0),
            ([1], MAX_REPEATS + 1),
            ([1], -1),
            ([1], True),
            ([1], 1.0),
            ([1], "2"),
            ([1],),
            ([1], 1, 1),
            [1, 1],
            "ab",
            5,
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return [1] * max_length, MAX_REPEATS

    def problems(self, base: int) -> st.SearchStrategy:
        return st.tuples(symbol_lists(base, self.property_length), st.integers(1, MAX_REPEATS))
