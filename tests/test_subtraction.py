"""Subtraction beyond the battery: what its generator draws, its fixed-width answer, a < b rejected."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from oracles.base import from_digits, row_prefix

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs.streams import BatchRandom
from actformer_envs.tasks import Subtraction


@pytest.mark.parametrize("base", [2, 10, 36])
def test_generated_problems(base: int) -> None:
    """a has exactly n digits and b <= a; b of every length 1..n, and b = a, occur."""
    n, count = 6, 4000
    problems = Subtraction(base).generate(BatchRandom(np.arange(count)), np.full(count, n), n + 1)
    a = [from_digits(row_prefix(row), base) for row in problems.scratchpad[:, 0]]
    b = [from_digits(row_prefix(row), base) for row in problems.scratchpad[:, 1]]
    assert all(len(row_prefix(row)) == n for row in problems.scratchpad[:, 0])
    assert all(x >= base ** (n - 1) and x >= y for x, y in zip(a, b, strict=True))
    assert {len(row_prefix(row)) for row in problems.scratchpad[:, 1]} == set(range(1, n + 1))
    equal = sum(x == y for x, y in zip(a, b, strict=True)) / count
    assert 0.05 < equal < 0.25, equal
    # The target is a - b in exactly n digits, zero-padded.
    for x, y, target in zip(a[:200], b[:200], problems.target[:200], strict=True):
        assert len(row_prefix(target)) == n and from_digits(row_prefix(target), base) == x - y


def test_answer_keeps_leading_zeros() -> None:
    env = gym.make("Actformer/Subtraction-v0", obs_mode="full")
    env.reset(options={"problem": (1000, 999)})
    while True:
        obs, _, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        if terminated or truncated:
            break
    assert info["is_success"] and info["output"] == info["target"] == 1
    assert row_prefix(obs["scratchpad"][2]) == [1, 0, 0, 0]


@pytest.mark.parametrize("problem", [(1, 2), (0, 1), (99, 100)])
def test_negative_difference_rejected(problem: tuple[int, int]) -> None:
    env = gym.make("Actformer/Subtraction-v0")
    with pytest.raises(ValueError, match="a >= b"):
        env.reset(options={"problem": problem})
