"""Sort: the input row sorted ascending, in place."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from oracles.base import SEQUENCE_MALFORMED, Oracle, row_prefix, symbol_lists


class SortOracle(Oracle):
    """The expert walks P2 to the BLANK (n steps), counts R1 up to base - 1, then makes value passes
    alternately from the low and the high end over the still unsorted symbols (READ, CMP and a move
    per symbol, 2 more per symbol it places), and HALTs once they are all placed or all equal."""

    task = "Sort"
    longest = 200

    def problem_from_full_obs(self, obs: dict[str, np.ndarray], base: int) -> Any:
        return row_prefix(obs["scratchpad"][0])

    def problem_length(self, problem: Any, base: int) -> int:
        return len(problem)

    def answer(self, problem: Any, base: int) -> Any:
        return sorted(problem)

    def program_length(self, problem: Any, base: int) -> int:
        steps = len(problem) + (base - 1) + 1  # setup, HALT
        unsorted = sorted(problem)
        for turn in range(base - 1):
            goal = turn // 2 if turn % 2 == 0 else base - 1 - turn // 2
            placed = unsorted.count(goal)
            if placed == len(unsorted):  # the pass places every symbol left: HALT at once
                return steps + 5 * placed - (1 if turn % 2 == 0 else 2)
            steps += 3 * len(unsorted) + 2 * placed
            unsorted = [s for s in unsorted if s != goal]
        return steps

    def edge_cases(self, base: int) -> list[Any]:
        top, n = base - 1, self.longest
        ascending = [i * base // n for i in range(n)]  # every symbol, in runs
        return [
            ascending,  # already sorted
            ascending[::-1],  # reverse sorted
            [top] * n,  # all equal
            [0] * 17,
            [base // 2] * 30,  # all equal to the value no pass moves
            [0],  # one symbol
            [top],
            [0, top],  # two symbols, both orders
            [top, 0],
            [top, 0] * (n // 2),  # many duplicates
            [0, top, top, 0, base // 2, 0, top] * 5,
            list(range(base)),  # every symbol of the base
            list(range(base))[::-1],
            [np.int64(top), np.int32(0)],  # numpy ints are accepted too
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [*SEQUENCE_MALFORMED, [], [base], [0] * (max_length + 1)]

    def largest(self, base: int, max_length: int) -> Any:
        return [1] * max_length

    def problems(self, base: int) -> st.SearchStrategy:
        return symbol_lists(base, self.property_length)
