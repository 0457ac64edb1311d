from __future__ import annotations

from typing import Any

import numpy as np

from oracles.base import NumberPairOracle, to_digits


class MultiplicationOracle(NumberPairOracle):
    """a * b by long multiplication: per digit of b, READ it, then 6 steps per column of a and one
    carry column, 2 moves between columns, 2 len(a) - 1 moves back and a move to b's next digit; then
    HALT."""

    task = "Multiplication"
    text_example = "1*2"
    longest = 100
    property_length = 12

    def answer(self, problem: Any, base: int) -> Any:
        return problem[0] * problem[1]

    def program_length(self, problem: Any, base: int) -> int:
        la, lb = (len(to_digits(x, base)) for x in problem)
        per_row = 1 + 6 * (la + 1) + 2 * la + la + (la - 1) + 1
        return lb * per_row + 1

    def edge_cases(self, base: int) -> list[Any]:
        top = base**self.longest - 1  # 100 digits of base - 1
        mixed = sum((i * 7 + 3) % base * base**i for i in range(40))  # 40 digits, no pattern of carries
        edge = [
            (0, 0),
            (0, mixed),
            (mixed, 0),
            (1, mixed),
            (mixed, 1),
            (base - 1, base - 1),
            (base - 1, 1),
            (base - 1, top),  # 1 x 100 digits
            (top, base - 1),  # 100 x 1 digits
            (base**99, base**2),  # powers of the base: all but the top digit 0
            (base**2, base**39),
            (base, base),
            (base**12 - 1, base**12 - 1),  # every carry at its largest
            [np.int64(base), np.int32(base + 1)],  # numpy ints and lists are accepted too
        ]
        if base == max(self.bases):
            edge.append((top, top))  # 100 x 100 digits (100,701 steps), the largest values: once
        return edge
