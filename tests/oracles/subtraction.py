from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from oracles.base import NumberPairOracle, to_digits


class SubtractionOracle(NumberPairOracle):
    """a - b (a >= b), one column per digit of a: 6 steps per column, then HALT. The answer is the int
    a - b (the output row holds it zero-padded to the digits of a)."""

    task = "Subtraction"

    def problem_length(self, problem: Any, base: int) -> int:
        return len(to_digits(problem[0], base))

    def answer(self, problem: Any, base: int) -> Any:
        return problem[0] - problem[1]

    def program_length(self, problem: Any, base: int) -> int:
        return 6 * self.problem_length(problem, base) + 1

    def edge_cases(self, base: int) -> list[Any]:
        big = base**999  # 1000 digits: 1 then 999 zeros
        return [
            (0, 0),
            (5 % base, 5 % base),
            (base - 1, base - 1),
            (big, big),  # equal: 1000 zeros out
            (big, 1),  # the borrow ripples through every column
            (big, big - 1),  # borrows through every column, difference 1
            (base**50 - 1, base**50 - 1),
            (base**50, 0),
            (base**50 - 1, 0),
            (base**50 - 1, base**50 - 2),
            (base**10, base**10 - 1),
            (base**10, base - 1),
            (base**3, 1),
            (base - 1, 0),
            (base - 1, 1),
            (1, 1),
            (1, 0),
            (123456789, 98765432),
            [np.int64(base), np.int32(1)],  # numpy ints and lists are accepted too
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        too_long = base**max_length
        return [(-1, 2), (2, -1), (1,), "1-2", (1.5, 2), (1, 2, 3), (True, 1), 5, (too_long, 1),
                (1, 2), (0, 1), (1, too_long), (too_long + 1, too_long)]  # fmt: skip

    def largest(self, base: int, max_length: int) -> Any:
        return (base**max_length - 1, 1)

    def problems(self, base: int) -> st.SearchStrategy:
        top = base**self.property_length - 1
        pairs = st.integers(0, top).flatmap(lambda a: st.tuples(st.just(a), st.integers(0, a)))
        gaps = st.integers(0, base**4)
        near = st.tuples(st.integers(0, top), gaps).map(lambda p: (p[0], max(0, p[0] - p[1])))
        return st.one_of(pairs, near)
