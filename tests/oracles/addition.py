from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from oracles.base import Oracle, from_digits, row_prefix, to_digits


class AdditionOracle(Oracle):
    """a + b, column by column: 6 steps per column, then HALT (or one more column for the last carry)."""

    task = "Addition"

    def problem_from_full_obs(self, obs: dict[str, np.ndarray], base: int) -> Any:
        pad = obs["scratchpad"]
        return from_digits(row_prefix(pad[0]), base), from_digits(row_prefix(pad[1]), base)

    def problem_length(self, problem: Any, base: int) -> int:
        return max(len(to_digits(problem[0], base)), len(to_digits(problem[1], base)))

    def answer(self, problem: Any, base: int) -> Any:
        return problem[0] + problem[1]

    def program_length(self, problem: Any, base: int) -> int:
        n = self.problem_length(problem, base)
        carry_out = len(to_digits(problem[0] + problem[1], base)) > n
        return 6 * n + (6 if carry_out else 1)

    def edge_cases(self, base: int) -> list[Any]:
        nines = base**1000 - 1  # 1000 digits of base - 1: the carry ripples through every column
        return [
            (nines, 1),
            (1, nines),
            (0, 0),
            (0, 5),
            (5, 0),
            (base**50, base - 1),
            (base - 1, base**50),
            (base - 1, base - 1),
            (base - 1, 1),
            (base**2, base**2 - 1),
            (123456789, 987654321),
            [np.int64(base), np.int32(1)],  # numpy ints and lists are accepted too
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        too_long = base**max_length
        return [(-1, 2), (1,), "1+2", (1.5, 2), (1, 2, 3), (True, 1), 5, (too_long, 1), (1, too_long)]

    def largest(self, base: int, max_length: int) -> Any:
        return (base**max_length - 1, 1)

    def problems(self, base: int) -> st.SearchStrategy:
        top = base**self.property_length - 1
        return st.tuples(st.integers(0, top), st.integers(0, top))
