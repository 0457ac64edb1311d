"""Multiplication beyond the battery: the operands' digit counts and the zero-padded product row."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from oracles.base import row_prefix

from actformer_envs.symbols import BLANK, EDGE

ENV_ID = "Actformer/Multiplication-v0"


@pytest.mark.parametrize("base", [2, 10, 36])
def test_random_operands_have_exactly_n_digits(base: int) -> None:
    env = gym.make(ENV_ID, base=base, max_length=9, obs_mode="full")
    for length in (1, 2, 9):
        for seed in range(5):
            obs, _ = env.reset(seed=seed, options={"length": length})
            pad = obs["scratchpad"]
            for row in pad[:2]:
                digits = row_prefix(row)
                assert len(digits) == length
                assert length == 1 or digits[-1] != 0  # no leading zero
            # Every row ends where the product's len(a) + len(b) digits end.
            assert (pad[:, 2 * length :] == EDGE).all() and (pad[:, : 2 * length] != EDGE).all()


@pytest.mark.parametrize(
    ("problem", "out"),
    [((3, 4), [2, 1]), ((0, 99), [0, 0, 0]), ((10, 10), [0, 0, 1, 0]), ((99, 99), [1, 0, 8, 9])],
)
def test_out_holds_the_product_zero_padded(problem: tuple[int, int], out: list[int]) -> None:
    env = gym.make(ENV_ID, max_length=4, obs_mode="full")
    env.reset(options={"problem": problem})
    terminated = False
    while not terminated:
        obs, _, terminated, _, info = env.step(env.unwrapped.expert_action())
    assert info["is_success"] and info["output"] == problem[0] * problem[1]
    row = obs["scratchpad"][2]
    assert row[: len(out)].tolist() == out and (row[len(out) :] == EDGE).all()


def test_posed_operands_of_unequal_length_fit() -> None:
    env = gym.make(ENV_ID, max_length=3, obs_mode="full")
    obs, _ = env.reset(options={"problem": (999, 7)})
    assert obs["scratchpad"][2].tolist() == [BLANK] * 4 + [EDGE] * 2
    with pytest.raises(ValueError, match="max_length"):
        env.reset(options={"problem": (1000, 7)})
    assert np.array_equal(obs["scratchpad"][1][:2], [7, BLANK])
