from __future__ import annotations

from typing import Any

import numpy as np

from oracles.base import NumberPairOracle, to_digits


class AdditionOracle(NumberPairOracle):
    """a + b, column by column: 6 steps per column, then HALT (or one more column for the last carry)."""

    task = "Addition"

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

    def largest(self, base: int, max_length: int) -> Any:
        return (base**max_length - 1, 1)
