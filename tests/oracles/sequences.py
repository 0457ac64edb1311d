"""Copy, Reverse and Parity: the tasks whose problem is one sequence of symbols."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from oracles.base import SEQUENCE_MALFORMED, Oracle, row_prefix, symbol_lists


class SequenceOracle(Oracle):
    """Problems are lists of symbols read off row 0."""

    def problem_from_full_obs(self, obs: dict[str, np.ndarray], base: int) -> Any:
        return row_prefix(obs["scratchpad"][0])

    def problem_length(self, problem: Any, base: int) -> int:
        return len(problem)

    def edge_cases(self, base: int) -> list[Any]:
        top = base - 1
        return [[0], [top], [0] * 17, [top] * 300, [top, 0] * 25, list(range(base)), list(range(base))[::-1]]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [*SEQUENCE_MALFORMED, [], [base], [0] * (max_length + 1)]

    def largest(self, base: int, max_length: int) -> Any:
        return [1] * max_length

    def problems(self, base: int) -> st.SearchStrategy:
        return symbol_lists(base, self.property_length)


class CopyOracle(SequenceOracle):
    task = "Copy"

    def answer(self, problem: Any, base: int) -> Any:
        return list(problem)

    def program_length(self, problem: Any, base: int) -> int:
        return 3 * len(problem) + 1


class ReverseOracle(SequenceOracle):
    task = "Reverse"

    def answer(self, problem: Any, base: int) -> Any:
        return list(problem)[::-1]

    def program_length(self, problem: Any, base: int) -> int:
        return 5 * len(problem)


class ParityOracle(SequenceOracle):
    task = "Parity"
    bases = (2,)

    def answer(self, problem: Any, base: int) -> Any:
        return sum(problem) % 2

    def program_length(self, problem: Any, base: int) -> int:
        return 5 * len(problem) + 2

    def edge_cases(self, base: int) -> list[Any]:
        return [[0], [1], [0] * 50, [1] * 50, [1] * 51, [0] * 999 + [1], [1] * 1000]
