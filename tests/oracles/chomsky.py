"""The tasks of the Chomsky-hierarchy benchmark (Delétang et al., 2023) that the suite adds:
EvenPairs, CycleNavigation, StackManipulation, DuplicateString, OddsFirst, MissingDuplicate."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import strategies as st

from oracles.base import SEQUENCE_MALFORMED, symbol_lists
from oracles.sequences import SequenceOracle

POP, PUSH_0, PUSH_1 = 2, 3, 4
MISSING = 2


class EvenPairsOracle(SequenceOracle):
    task = "EvenPairs"
    bases = (2,)

    def answer(self, problem: Any, base: int) -> Any:
        return sum(a != b for a, b in itertools.pairwise(problem)) % 2

    def program_length(self, problem: Any, base: int) -> int:
        return len(problem) + 7

    def edge_cases(self, base: int) -> list[Any]:
        return [[0], [1], [0, 1], [1, 0], [0] * 999 + [1], [1] + [0] * 998 + [1], [0, 1] * 500, [1] * 1000]


class CycleNavigationOracle(SequenceOracle):
    task = "CycleNavigation"
    bases = (5,)

    def answer(self, problem: Any, base: int) -> Any:
        position = 0
        for move in problem:
            position = (position + {0: -1, 1: 0, 2: +1}[move]) % 5
        return position

    def program_length(self, problem: Any, base: int) -> int:
        return len(problem) + 2 + 2 * sum(move != 1 for move in problem)

    def edge_cases(self, base: int) -> list[Any]:
        return [[0], [1], [2], [0] * 1000, [2] * 999, [1] * 1000, [0, 2] * 500, [2, 2, 2, 2, 2, 0] * 100]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [*super().malformed(base, max_length), [3], [0, 4], [1, 5]]

    def problems(self, base: int) -> st.SearchStrategy:
        return symbol_lists(3, self.property_length)


class StackManipulationOracle(SequenceOracle):
    task = "StackManipulation"
    bases = (5,)

    @staticmethod
    def _run(problem: list[int]) -> tuple[list[int], int]:
        stack: list[int] = []
        steps = 1  # R2 = 1
        for symbol in problem:
            if symbol == POP:
                steps += 2 if stack else 1
                if stack:
                    stack.pop()
            else:
                stack.append({0: 0, 1: 1, PUSH_0: 0, PUSH_1: 1}[symbol])
                steps += 3
        return stack, steps + 4 * len(stack) + 1

    def answer(self, problem: Any, base: int) -> Any:
        return self._run(list(problem))[0][::-1]

    def program_length(self, problem: Any, base: int) -> int:
        return self._run(list(problem))[1]

    def edge_cases(self, base: int) -> list[Any]:
        return [
            [0],
            [1],
            [0, POP],
            [1, POP, POP, PUSH_1],
            [1] + [PUSH_1] * 999,
            [0] + [POP] * 999,
            [1] * 500 + [POP] * 500,
            [0, 1] * 250 + [PUSH_0, POP] * 250,
            [POP] * 10 + [PUSH_0] * 10,
            [0, 1, 1, 0, PUSH_1, POP, POP],  # the paper's example: 1 1 0
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [*super().malformed(base, max_length), [5], [POP, 0], [PUSH_1, 1, POP]]

    def problems(self, base: int) -> st.SearchStrategy:
        bits = st.lists(st.integers(0, 1), max_size=self.property_length // 2)
        actions = st.lists(st.integers(POP, PUSH_1), max_size=self.property_length // 2)
        return st.tuples(bits, actions).map(lambda parts: parts[0] + parts[1]).filter(bool)


class DuplicateStringOracle(SequenceOracle):
    task = "DuplicateString"

    def answer(self, problem: Any, base: int) -> Any:
        return list(problem) * 2

    def program_length(self, problem: Any, base: int) -> int:
        return 7 * len(problem) + 2


class OddsFirstOracle(SequenceOracle):
    task = "OddsFirst"

    def answer(self, problem: Any, base: int) -> Any:
        odd_positions = [s for position, s in enumerate(problem, start=1) if position % 2]
        even_positions = [s for position, s in enumerate(problem, start=1) if not position % 2]
        return odd_positions + even_positions

    def program_length(self, problem: Any, base: int) -> int:
        return 5 * len(problem) + 2


class MissingDuplicateOracle(SequenceOracle):
    task = "MissingDuplicate"
    bases = (3,)

    @staticmethod
    def _pose(bits: list[int], hidden: int) -> list[int]:
        cells = bits + bits
        cells[hidden] = MISSING
        return cells

    def problem_length(self, problem: Any, base: int) -> int:
        return len(problem) // 2

    def answer(self, problem: Any, base: int) -> Any:
        half = len(problem) // 2
        hidden = problem.index(MISSING)
        return problem[hidden - half] if hidden >= half else problem[hidden + half]

    def program_length(self, problem: Any, base: int) -> int:
        half = len(problem) // 2
        return 5 * half + 3 + 2 * (problem.index(MISSING) % half)

    def edge_cases(self, base: int) -> list[Any]:
        return [
            [MISSING, 0],
            [1, MISSING],
            self._pose([0] * 500, 0),
            self._pose([1] * 500, 999),
            self._pose([0, 1] * 250, 499),
            self._pose([1, 0] * 250, 500),
            self._pose([0] * 17, 20),
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [
            *SEQUENCE_MALFORMED,
            [],
            [0, 1],
            [MISSING, MISSING],
            [MISSING, 0, 1],
            [0, 1, 1, MISSING],
            [3, MISSING],
            self._pose([0] * (max_length + 1), 0),
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return self._pose([1] * max_length, max_length)

    def problems(self, base: int) -> st.SearchStrategy:
        half = self.property_length // 2
        return st.lists(st.integers(0, 1), min_size=1, max_size=half).flatmap(
            lambda bits: st.integers(0, 2 * len(bits) - 1).map(lambda hidden: self._pose(bits, hidden))
        )
