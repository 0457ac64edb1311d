"""Sort beyond the battery: the row stays a permutation of the input, and an in-place task keeps the
shaping credit of the cells that start in place."""

from __future__ import annotations

from collections import Counter

import gymnasium as gym
import numpy as np
import pytest

from actformer_envs import instruction_index


def test_halting_on_a_sorted_input_earns_the_success_reward() -> None:
    """The potential returns to its starting value at HALT, so cells already in place cost nothing."""
    env = gym.make("Actformer/Sort-v0")
    env.reset(options={"problem": [0, 1, 1, 2]})
    _, reward, terminated, _, info = env.step(instruction_index("HALT"))
    program_length = 12 * 4  # (base + 2) n, no symbol equal to base // 2 = 5
    assert terminated and info["is_success"]
    assert reward == pytest.approx(1 - 0.1 / program_length, abs=1e-12)


def test_the_row_stays_a_permutation_of_the_input() -> None:
    env = gym.make("Actformer/Sort-v0", obs_mode="full", max_length=12)
    rng = np.random.default_rng(0)
    allowed = np.setdiff1d(np.flatnonzero(env.unwrapped.action_masks()), [instruction_index("HALT")])
    for seed in range(5):
        obs, _ = env.reset(seed=seed, options={"length": 12})
        start = Counter(obs["scratchpad"][0].tolist())
        for _ in range(200):
            obs, _, terminated, truncated, _ = env.step(int(rng.choice(allowed)))
            assert Counter(obs["scratchpad"][0].tolist()) == start
            if terminated or truncated:
                break
