"""Logic: the final bit of a chain of two-input boolean gates (Graves' ACT logic task)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from oracles.base import Oracle, row_prefix

#: Gate id -> the gate as a function of (x, y) = (b_i, b_{i-1}).
GATES = (
    lambda x, y: x and y,
    lambda x, y: x or y,
    lambda x, y: x != y,
    lambda x, y: not (x and y),
    lambda x, y: not (x or y),
    lambda x, y: x == y,
    lambda x, y: x and not y,
    lambda x, y: not x and y,
    lambda x, y: x or not y,
    lambda x, y: not x or y,
)
#: Instructions of each gate's program on the machine, by gate id.
PROGRAM_STEPS = (1, 3, 3, 4, 3, 4, 2, 2, 3, 3)


def final_bit(b0: int, b1: int, gates: list[int]) -> int:
    older, newer = b0, b1
    for g in gates:
        older, newer = newer, int(bool(GATES[g](bool(newer), bool(older))))
    return newer


class LogicOracle(Oracle):
    """b_{i+1} = T_i(b_i, b_{i-1}); the answer is b_{B+1}. The expert: 2 setup moves, per gate READ,
    READ, ADVANCE, the gate's program, WRITE; then WRITE to OUT and HALT."""

    task = "Logic"
    bases = (2,)
    longest = 100
    property_length = 60

    def problem_from_full_obs(self, obs: dict[str, np.ndarray], base: int) -> Any:
        pad = obs["scratchpad"]
        return int(pad[0, 0]), int(pad[0, 1]), row_prefix(pad[1, 2:])

    def problem_length(self, problem: Any, base: int) -> int:
        return len(problem[2])

    def answer(self, problem: Any, base: int) -> Any:
        return final_bit(*problem)

    def program_length(self, problem: Any, base: int) -> int:
        return 4 + sum(4 + PROGRAM_STEPS[g] for g in problem[2])

    def edge_cases(self, base: int) -> list[Any]:
        pairs = [(b0, b1) for b0 in (0, 1) for b1 in (0, 1)]
        single = [(b0, b1, [g]) for g in range(10) for b0, b1 in pairs]
        every_gate = [(b0, b1, list(range(10))) for b0, b1 in pairs] + [(1, 0, list(range(9, -1, -1)))]
        repeated = [(1, 0, [g] * 100) for g in range(10)] + [(0, 1, [2] * 99), (1, 1, [5] * 100)]
        alternating = [(0, 1, [0, 1] * 50), (1, 0, [6, 7] * 50), (1, 1, [8, 9] * 50), (0, 0, [3, 4] * 50)]
        as_numpy = [(np.int64(1), np.int32(0), np.array([2, 5, 9])), [0, 1, (4, 3)]]
        return single + every_gate + repeated + alternating + as_numpy

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [
            (0, 1),
            (0, 1, [0], 1),
            "01",
            5,
            (2, 0, [0]),
            (0, -1, [0]),
            (True, 0, [0]),
            (0.0, 1, [0]),
            (0, 1, []),
            (0, 1, [10]),
            (0, 1, [-1]),
            (0, 1, [1.5]),
            (0, 1, [False]),
            (0, 1, "012"),
            (0, 1, 3),
            (0, 1, [0] * (max_length + 1)),
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return (1, 0, [i % 10 for i in range(max_length)])

    def problems(self, base: int) -> st.SearchStrategy:
        return st.tuples(
            st.integers(0, 1),
            st.integers(0, 1),
            st.lists(st.integers(0, 9), min_size=1, max_size=self.property_length),
        )
