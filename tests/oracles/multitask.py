"""MultiTask: each problem is (member name, member problem); the member's oracle says the rest."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from actformer_envs.tasks import SINGLE_TASKS
from oracles.base import Oracle

#: The members of the default mixture (v0's): the twelve tasks of its release, in id order.
MEMBERS = (
    "Addition", "Subtraction", "Multiplication", "Compare", "Copy", "Reverse", "DuplicatedInput",
    "RepeatCopy", "Sort", "Parity", "Logic", "Expression",
)  # fmt: skip


class MultiTaskOracle(Oracle):
    task = "MultiTask"
    #: Every member must be solvable at this length in test time (long multiplication is quadratic).
    longest = 30

    @property
    def property_length(self) -> int:  # type: ignore[override]
        return max(_member_oracle(name).property_length for name in MEMBERS)

    def problem_from_full_obs(self, obs: dict[str, np.ndarray], base: int) -> Any:
        name = list(SINGLE_TASKS)[int(obs["task"])]
        return name, _member_oracle(name).problem_from_full_obs(obs, member_base(name, base))

    def problem_length(self, problem: Any, base: int) -> int:
        name, inner = problem
        return _member_oracle(name).problem_length(inner, member_base(name, base))

    def answer(self, problem: Any, base: int) -> Any:
        name, inner = problem
        return _member_oracle(name).answer(inner, member_base(name, base))

    def program_length(self, problem: Any, base: int) -> int:
        name, inner = problem
        return _member_oracle(name).program_length(inner, member_base(name, base))

    def edge_cases(self, base: int) -> list[Any]:
        """A few of each member's edge cases (those that fit ``longest``)."""
        cases = []
        for name in MEMBERS:
            oracle, inner_base = _member_oracle(name), member_base(name, base)
            fitting = [p for p in oracle.edge_cases(inner_base) if oracle.problem_length(p, inner_base) <= 30]
            cases += [(name, p) for p in fitting[:3]]
        return cases

    def malformed(self, base: int, max_length: int) -> list[Any]:
        return [
            "abc",
            5,
            ("NoSuchTask", [1]),
            ("Copy",),
            (["Copy"], [1]),
            ("Copy", "abc"),
            ("Copy", [1] * (max_length + 1)),
            ("MultiTask", ("Copy", [1])),
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return "Copy", [1] * max_length

    def problems(self, base: int) -> st.SearchStrategy:
        def member_problems(name: str) -> st.SearchStrategy:
            inner = _member_oracle(name).problems(member_base(name, base))
            return inner.map(lambda p: (name, p))

        return st.sampled_from(MEMBERS).flatmap(member_problems)


def member_base(name: str, base: int) -> int:
    """A member works in the MultiTask's base if it can, else in its own default base."""
    cls = SINGLE_TASKS[name]
    low, high = cls.base_range
    return base if low <= base <= high else cls.default_base


def _member_oracle(name: str) -> Oracle:
    from oracles import oracle

    return oracle(name)
