"""DuplicatedInput's random problems are duplicated sequences, as a posed problem must be."""

from __future__ import annotations

import gymnasium as gym
import pytest
from oracles.base import row_prefix


def test_random_inputs_hold_each_symbol_twice() -> None:
    vec = gym.make_vec(
        "Actformer/DuplicatedInput-v0", num_envs=32, vectorization_mode="vector_entry_point", obs_mode="full"
    )
    obs, _ = vec.reset(seed=0)
    assert obs["scratchpad"].shape[-1] == 2 * 10 + 1
    for pad in obs["scratchpad"]:
        row = row_prefix(pad[0])
        assert row[::2] == row[1::2], row
        assert 1 <= len(row) // 2 <= 10


@pytest.mark.parametrize(("problem", "reason"), [([1, 1, 2], "even"), ([1, 1, 2, 3], "symbols 2 and 3")])
def test_malformed_problems_say_why(problem: list[int], reason: str) -> None:
    env = gym.make("Actformer/DuplicatedInput-v0")
    with pytest.raises(ValueError, match=reason):
        env.reset(options={"problem": problem})
