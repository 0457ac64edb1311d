"""What an oracle says about its task, and helpers for reading problems off the scratchpad."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from hypothesis import strategies as st

from actformer_envs.symbols import BLANK, EDGE


class Oracle:
    """A task's rules, restated for the tests (never importing the task's own code)."""

    task: ClassVar[str]
    #: Bases the edge cases and property tests run in (those the task accepts).
    bases: ClassVar[tuple[int, ...]] = (2, 7, 10, 16, 36)
    #: The longest length at which the expert is tested (the issue's bar for this task).
    longest: ClassVar[int] = 1000
    #: The longest problems drawn by the property tests.
    property_length: ClassVar[int] = 80

    def problem_from_full_obs(self, obs: dict[str, np.ndarray], base: int) -> Any:
        """The posed problem, read off an ``obs_mode="full"`` observation taken right after reset."""
        raise NotImplementedError

    def problem_length(self, problem: Any, base: int) -> int:
        """The size of a problem, in the unit of ``options={"length": n}``."""
        raise NotImplementedError

    def answer(self, problem: Any, base: int) -> Any:
        """What ``info["output"]`` holds after an exactly correct episode."""
        raise NotImplementedError

    def program_length(self, problem: Any, base: int) -> int:
        """Steps the task's documented expert takes on ``problem``."""
        raise NotImplementedError

    def edge_cases(self, base: int) -> list[Any]:
        """Hard or degenerate problems the expert must solve; each fits ``max_length=longest``."""
        raise NotImplementedError

    def malformed(self, base: int, max_length: int) -> list[Any]:
        """Problems that ``reset(options={"problem": p})`` must reject with ``ValueError``."""
        raise NotImplementedError

    def largest(self, base: int, max_length: int) -> Any:
        """A problem of exactly ``max_length`` (it fits, so it must be accepted)."""
        raise NotImplementedError

    def problems(self, base: int) -> st.SearchStrategy:
        """User-posed problems of length at most ``property_length``, for property tests."""
        raise NotImplementedError


class NumberPairOracle(Oracle):
    """Tasks posed as a pair of non-negative ints on rows ``A`` and ``B`` (length: the longer's digits)."""

    #: How a malformed text problem might look for this task (``"1+2"``).
    text_example: ClassVar[str] = "1+2"

    def problem_from_full_obs(self, obs: dict[str, np.ndarray], base: int) -> Any:
        pad = obs["scratchpad"]
        return from_digits(row_prefix(pad[0]), base), from_digits(row_prefix(pad[1]), base)

    def problem_length(self, problem: Any, base: int) -> int:
        return max(len(to_digits(problem[0], base)), len(to_digits(problem[1], base)))

    def malformed(self, base: int, max_length: int) -> list[Any]:
        too_long = base**max_length
        return [
            (-1, 2),
            (1,),
            self.text_example,
            (1.5, 2),
            (1, 2, 3),
            (True, 1),
            5,
            (too_long, 1),
            (1, too_long),
        ]

    def largest(self, base: int, max_length: int) -> Any:
        return (base**max_length - 1, base**max_length - 1)

    def problems(self, base: int) -> st.SearchStrategy:
        top = base**self.property_length - 1
        return st.tuples(st.integers(0, top), st.integers(0, top))


# -- helpers -----------------------------------------------------------------------------------


def to_digits(value: int, base: int) -> list[int]:
    """Digits of ``value``, least significant first."""
    digits = []
    while True:
        value, digit = divmod(value, base)
        digits.append(digit)
        if not value:
            return digits


def from_digits(digits: list[int], base: int) -> int:
    return sum(d * base**i for i, d in enumerate(digits))


def row_prefix(row: np.ndarray) -> list[int]:
    """The symbols of a scratchpad row up to its first BLANK/EDGE."""
    out = []
    for s in row.tolist():
        if s in (BLANK, EDGE):
            break
        out.append(s)
    return out


def symbol_lists(base: int, max_size: int, min_size: int = 1) -> st.SearchStrategy:
    return st.lists(st.integers(0, base - 1), min_size=min_size, max_size=max_size)


SEQUENCE_MALFORMED = ("abc", 5, [True], [1.5], [-1])
