from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from actformer_envs.symbols import BLANK, EDGE
from oracles.base import Oracle, from_digits, to_digits


def operands_of_row(row: np.ndarray, base: int) -> list[int]:
    """The numbers of a scratchpad row holding operands separated by BLANK (least significant first)."""
    numbers, digits = [], []
    for s in [*row.tolist(), EDGE]:
        if s in (BLANK, EDGE):
            if digits:
                numbers.append(from_digits(digits, base))
            digits = []
            if s == EDGE:
                return numbers
        else:
            digits.append(s)
    return numbers


def value(problem: Any) -> int:
    """a·b + c, minus d (4 operands) or d·e (5 operands)."""
    a, b, c, *rest = (int(x) for x in problem)
    if len(rest) == 1:
        return a * b + c - rest[0]
    if len(rest) == 2:
        return a * b + c - rest[0] * rest[1]
    return a * b + c


def non_negative(problem: tuple[int, ...]) -> tuple[int, ...]:
    """The problem with operands swapped the way the task's generator does, if its value is negative."""
    if value(problem) >= 0:
        return problem
    if len(problem) == 4:
        a, b, c, d = problem
        return (a, b, d, c)
    a, b, c, d, e = problem
    return (d, e, c, a, b)


class ExpressionOracle(Oracle):
    """a·b + c [- d | - d·e], read from X = ``a _ c _ d _`` and Y = ``b _ e _``; the result is 2n digits.

    The expert's steps, per pass: a long multiplication of p digits by q takes p·(10q + 6); the
    column pass adding c: P2 back to 0, P0 onto c, 6 steps per column of OUT but no move after the
    last, and a move of P0 per digit of c; a phase change (LOAD/INC/STORE) takes 3; HALT 1.
    """

    task = "Expression"
    #: Two long multiplications of n x n digits: ~19,000 expert steps at n = 30 (about 2 s a run).
    longest = 30
    property_length = 4

    def problem_from_full_obs(self, obs: dict[str, np.ndarray], base: int) -> Any:
        x = operands_of_row(obs["scratchpad"][0], base)
        y = operands_of_row(obs["scratchpad"][1], base)
        return (x[0], y[0], *x[1:], *y[1:])

    def problem_length(self, problem: Any, base: int) -> int:
        return max(len(to_digits(int(x), base)) for x in problem)

    def answer(self, problem: Any, base: int) -> Any:
        return value(problem)

    def program_length(self, problem: Any, base: int) -> int:
        lengths = [len(to_digits(int(x), base)) for x in problem]
        n = max(lengths)
        width = 2 * n  # OUT
        la, lb, lc = lengths[:3]
        steps = la * (10 * lb + 6)  # OUT = a·b; P2 ends at column la, P0 on the BLANK after a
        steps += 3 + la + 1 + 6 * width - 1 + lc  # OUT += c; P2 ends at column 2n - 1
        if len(lengths) == 4:
            steps += 3 + (width - 1) + 1 + 6 * width - 1 + lengths[3]  # OUT -= d
        elif len(lengths) == 5:
            ld, le = lengths[3:]
            steps += 3 + (lb + 1) + 1 + ld * (10 * le + 6)  # U = d·e
            steps += 3 + (width - 1) + ld + 6 * width - 1 + min(ld + le, width - 1)  # OUT -= U
        return steps + 1

    def edge_cases(self, base: int) -> list[Any]:
        top = base - 1
        full = base**self.longest - 1  # 30 digits of base - 1
        six = base**6 - 1
        # A multiplication costs len(a)·len(b) columns: the 30-digit cases keep one factor short.
        return [
            (0, 0, 0, 0, 0),
            (top, top, top, top, top),
            (1, 1, 0, 1, 1),  # a·b + c == d·e: the value is 0
            (six, six, six, six, six),  # every operand maximal: carries through every column
            (six, six, six, 0, 0),  # the largest value of its length: 12 digits of base - 1
            (six, six, 0, six, six),  # 0 from long operands
            (full, top, full, full, 1),  # 30 digits, unequal lengths
            (base**29, 1, 0, 1, 1),  # c = 0; the borrow ripples through 29 columns
            (top, full, 0, top, full),  # 0 at length 30
            (1, top, six, base**5, top),
            (0, six, 5 % base, 0, 0),
            (top, 0, 0, 0, top),
            [np.int64(3 % base), np.int32(1), 2 % base, 1, 1],  # numpy ints and lists are accepted too
        ]

    def malformed(self, base: int, max_length: int) -> list[Any]:
        too_long = base**max_length
        return [
            (1, 2, 3),  # stage 0's shape at the default stage 2
            (1, 2, 3, 4),
            (1, 2, 3, 4, 5, 6),
            (-1, 2, 3, 0, 0),
            (1, 2, 3, 0, -1),
            "1*2+3-4*5",
            (1.5, 2, 3, 0, 0),
            (True, 1, 1, 0, 0),
            5,
            (too_long, 1, 0, 0, 0),
            (1, 1, 0, 1, too_long),
            (0, 0, 0, 1, 1),  # negative value
            (1, 1, 0, 2, 1),
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return (base**max_length - 1, 1, 1, 1, 1)

    def problems(self, base: int) -> st.SearchStrategy:
        number = st.integers(0, base**self.property_length - 1)
        return st.tuples(number, number, number, number, number).map(non_negative)
