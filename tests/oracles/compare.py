from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from oracles.base import NumberPairOracle, to_digits


class CompareOracle(NumberPairOracle):
    """sign(a - b): seek past both numbers (2 steps per column), scan down 5 steps per column to the
    first unequal one (or column 0), then CLR, sign + 1 INCs, WRITE, HALT."""

    task = "Compare"
    text_example = "1<2"
    bases = (3, 7, 10, 16, 36)

    def answer(self, problem: Any, base: int) -> Any:
        a, b = problem
        return int(a > b) - int(a < b)

    def program_length(self, problem: Any, base: int) -> int:
        n = self.problem_length(problem, base)
        a, b = (to_digits(x, base) + [0] * n for x in problem)
        scanned = next((n - j for j in reversed(range(n)) if a[j] != b[j]), n)
        return 2 * n + 5 * scanned + self.answer(problem, base) + 4

    def edge_cases(self, base: int) -> list[Any]:
        big = base**999  # 1000 digits
        return [
            (0, 0),
            (big, big),  # equal, 1000 digits: the scan runs to column 0
            (big + 1, big),  # differ only in the units digit
            (base**50 - 1, base**50 - 1),
            (base**50, base**50 + 1),
            (12345 * base, 12345 * base + 1),
            (big - 1, big),  # a number vs itself + 1, of unequal lengths
            (base**50, base**50 - 1),
            (base**2 - 1, base**2),
            (base, base - 1),
            (base - 1, base),
            (base**50 - 1, 0),  # differing lengths
            (0, base**50 - 1),
            (5, base**10),
            (base**10, 5),
            (0, 1),
            (1, 0),
            (0, base - 1),
            (base - 1, base - 1),
            (2 * base**50, base**50),
            [np.int64(base), np.int32(base)],  # numpy ints and lists are accepted too
        ]

    def problems(self, base: int) -> st.SearchStrategy:
        top = base**self.property_length - 1
        numbers = st.integers(0, top)
        near = st.tuples(numbers, st.integers(-(base**3), base**3)).map(
            lambda p: (p[0], min(top, max(0, p[0] + p[1])))
        )
        return st.one_of(st.tuples(numbers, numbers), numbers.map(lambda x: (x, x)), near)
