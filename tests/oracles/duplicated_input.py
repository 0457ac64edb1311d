"""DuplicatedInput: the input holds each symbol twice in a row; the answer holds each once."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from oracles.base import SEQUENCE_MALFORMED, Oracle, row_prefix, symbol_lists


def doubled(symbols: list[int]) -> list[int]:
    return [s for s in symbols for _ in range(2)]


class DuplicatedInputOracle(Oracle):
    """Problems are the input row as posed (s0 s0 s1 s1 ...); the length is half of it."""

    task = "DuplicatedInput"

    def problem_from_full_obs(self, obs: dict[str, np.ndarray], base: int) -> Any:
        return row_prefix(obs["scratchpad"][0])

    def problem_length(self, problem: Any, base: int) -> int:
        return len(problem) // 2

    def answer(self, problem: Any, base: int) -> Any:
        return list(problem)[::2]

    def program_length(self, problem: Any, base: int) -> int:
        # READ, WRITE, ADVANCE, MOVE P0 RIGHT per output symbol, then HALT.
        return 4 * self.problem_length(problem, base) + 1

    def edge_cases(self, base: int) -> list[Any]:
        top = base - 1
        every = list(range(base))
        return [
            [0, 0],
            [top, top],
            doubled([0] * 17),
            doubled([top] * 300),
            doubled([top, 0] * 25),
            doubled([0, 1] * 40),
            doubled(every),
            doubled(every[::-1]),
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [
            *SEQUENCE_MALFORMED,
            [],
            [0],  # odd length
            [0, 0, 1],
            [0, 1],  # unequal pair
            [1, 1, 0, 1],
            [base, base],
            doubled([0] * (max_length + 1)),  # too long
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return doubled([1] * max_length)

    def problems(self, base: int) -> st.SearchStrategy:
        return symbol_lists(base, self.property_length).map(doubled)
