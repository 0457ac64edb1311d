"""RepeatCopy's own kwarg, ``max_repeats``: checked, honoured by random and posed problems."""

from __future__ import annotations

import gymnasium as gym
import pytest
from helpers import run_expert

ENV_ID = "Actformer/RepeatCopy-v0"


@pytest.mark.parametrize("value", [0, 11, -1, 2.0, True, "3", None])
def test_bad_max_repeats_rejected(value: object) -> None:
    with pytest.raises(ValueError, match="max_repeats"):
        gym.make(ENV_ID, max_repeats=value)
    with pytest.raises(ValueError, match="max_repeats"):
        gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", max_repeats=value)


@pytest.mark.parametrize("max_repeats", [1, 2, 10])
def test_random_repeat_counts_cover_the_range(max_repeats: int) -> None:
    vec = gym.make_vec(
        ENV_ID, num_envs=64, vectorization_mode="vector_entry_point", obs_mode="full", max_repeats=max_repeats
    )
    obs, _ = vec.reset(seed=0, options={"length": 4})
    assert obs["scratchpad"].shape[-1] == max_repeats * 10 + 1  # width covers max_repeats * max_length
    counts = (obs["scratchpad"][:, 1] == 1).sum(axis=1)
    assert set(counts.tolist()) == set(range(1, max_repeats + 1))
    outputs = [None] * 64
    for _ in range(max_repeats * 17 + (max_repeats - 1) * 4 + 1):  # the longest program at length 4
        _, _, terminated, _, info = vec.step(vec.expert_action())
        for i in terminated.nonzero()[0]:
            if outputs[i] is None:  # the first episode's end (later ones are new, random problems)
                assert info["is_success"][i]
                outputs[i] = info["output"][i]
    assert [len(out) for out in outputs] == (4 * counts).tolist()


def test_posed_repeat_count_bounded_by_max_repeats() -> None:
    env = gym.make(ENV_ID, max_repeats=5, max_length=4)
    _, _, info, _ = run_expert(env, options={"problem": ([3, 1, 4, 1], 5)})
    assert info["is_success"] and info["output"] == [3, 1, 4, 1] * 5
    with pytest.raises(ValueError, match="max_repeats=5"):
        env.reset(options={"problem": ([3], 6)})
    with pytest.raises(ValueError, match="max_length"):
        env.reset(options={"problem": ([3] * 5, 1)})
