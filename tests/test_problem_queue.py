"""The problem queue: how deep it grows changes what a reset costs, never which problem it poses."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs import problem_queue


def _posed(env_id: str, num_envs: int, resets: int) -> tuple[list[np.ndarray], int]:
    """The scratchpads of ``resets`` rounds of resets of every env, and the queue depth reached."""
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    episodes = envs.unwrapped._episodes
    envs.reset(seed=7)
    everyone = np.arange(num_envs)
    posed = []
    for _ in range(resets):
        episodes.reset(everyone)
        posed.append(episodes.machine.scratchpad.copy())
    depth = episodes.problems.depth
    envs.close()
    return posed, depth


@pytest.mark.parametrize(
    ("env_id", "num_envs"), [("Actformer/MultiTask-v0", 1), ("Actformer/Addition-v0", 3)]
)
def test_deeper_queues_pose_the_same_problems(
    env_id: str, num_envs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    grown, depth = _posed(env_id, num_envs, 300)
    assert depth == problem_queue.MAX_DEPTH  # (16, 32, 64, 128, 256: grown on the way)
    monkeypatch.setattr(problem_queue, "MAX_DEPTH", problem_queue.DEPTH)
    fixed, depth = _posed(env_id, num_envs, 300)
    assert depth == problem_queue.DEPTH
    assert all(np.array_equal(a, b) for a, b in zip(grown, fixed, strict=True))


def test_a_fresh_env_generates_no_more_than_a_first_refill() -> None:
    """A short-lived env (an evaluation's) queues ``DEPTH`` problems per env at its first reset;
    large vector envs never grow."""
    small = gym.make_vec("Actformer/Addition-v0", num_envs=64, vectorization_mode="vector_entry_point")
    small.reset(seed=0)
    queue = small.unwrapped._episodes.problems
    assert queue.depth == problem_queue.DEPTH and queue.max_depth == problem_queue.MAX_DEPTH
    large = gym.make_vec("Actformer/Addition-v0", num_envs=1024, vectorization_mode="vector_entry_point")
    assert large.unwrapped._episodes.problems.max_depth == problem_queue.DEPTH
