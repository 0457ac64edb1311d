"""Baseline agents and exact-match evaluation: the expert solves everything, random solves little."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from helpers import actformer_specs

from actformer_envs import NUM_ACTIONS
from actformer_envs.instructions import instruction_index
from actformer_gym.agents import Agent, ExpertAgent, RandomAgent
from actformer_gym.train import exact_match, format_table, generalization_table
from actformer_gym.train.evaluate import Counted, count_episodes, make_eval_env

ENV_IDS = [spec.id for spec in actformer_specs()]
ADDITION = "Actformer/Addition-v0"


def expert_for(env: gym.vector.VectorEnv) -> ExpertAgent:
    return ExpertAgent(env.unwrapped.task)


def expert_of(env_id: str) -> ExpertAgent:
    env = gym.make(env_id)
    try:
        return ExpertAgent(env.unwrapped.task)
    finally:
        env.close()


def test_agents_follow_the_protocol() -> None:
    assert isinstance(expert_of(ADDITION), Agent)
    assert isinstance(RandomAgent(0), Agent)


@pytest.mark.parametrize(("length", "episodes"), [(1, 26), (5, 26), (30, 10)])
@pytest.mark.parametrize("env_id", ENV_IDS, ids=ENV_IDS)
def test_expert_exact_match_is_one(env_id: str, length: int, episodes: int) -> None:
    """More episodes than envs (8), so envs run several episodes each; fewer at the longest length,
    where each takes hundreds of steps (the experts' tests run many more problems of every length)."""
    assert exact_match(expert_of(env_id), env_id, length, episodes=episodes, seed=length, num_envs=8) == 1.0


def test_expert_exact_match_on_long_addition() -> None:
    assert exact_match(expert_of(ADDITION), ADDITION, 300, episodes=16, seed=3, num_envs=8) == 1.0


@pytest.mark.parametrize("env_id", ENV_IDS, ids=ENV_IDS)
def test_expert_single_observation_matches_env_expert(env_id: str) -> None:
    env = gym.make(env_id, max_length=10)
    agent = ExpertAgent(env.unwrapped.task)
    observation, _ = env.reset(seed=7, options={"length": 6})
    for _ in range(10_000):
        action = agent.act(observation, env.unwrapped.action_masks())
        assert type(action) is int
        assert action == env.unwrapped.expert_action()
        observation, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    assert terminated and info["is_success"]
    env.close()


def test_expert_batched_returns_int_array() -> None:
    env = gym.make_vec(ADDITION, num_envs=5, vectorization_mode="vector_entry_point")
    observation, _ = env.reset(seed=0)
    actions = ExpertAgent(env.unwrapped.task).act(observation)
    assert actions.shape == (5,) and actions.dtype == np.int64
    np.testing.assert_array_equal(actions, env.unwrapped.expert_action())
    env.close()


def test_random_agent_respects_masks() -> None:
    rng = np.random.default_rng(0)
    masks = rng.random((5000, NUM_ACTIONS)) < rng.random((5000, 1)) * 0.5
    masks[np.arange(5000), rng.integers(NUM_ACTIONS, size=5000)] = True  # at least one per row
    observation = {"last_action": np.zeros(5000, dtype=np.int64)}
    actions = RandomAgent(seed=1).act(observation, masks)
    assert actions.shape == (5000,) and actions.dtype == np.int64
    assert masks[np.arange(5000), actions].all()


def test_random_agent_is_uniform_over_allowed_and_seeded() -> None:
    mask = np.zeros(NUM_ACTIONS, dtype=bool)
    mask[[3, 50, 138]] = True
    agent = RandomAgent(seed=2)
    draws = [agent.act({"last_action": np.int64(0)}, mask) for _ in range(3000)]
    assert all(type(a) is int for a in draws)
    values, counts = np.unique(draws, return_counts=True)
    assert values.tolist() == [3, 50, 138]
    assert counts.min() > 900
    again = RandomAgent(seed=2)
    assert [again.act({"last_action": np.int64(0)}, mask) for _ in range(50)] == draws[:50]


def test_random_agent_without_mask_uses_whole_space() -> None:
    actions = RandomAgent(0).act({"last_action": np.zeros(4000, dtype=np.int64)})
    assert actions.min() >= 0 and actions.max() < NUM_ACTIONS
    assert len(np.unique(actions)) == NUM_ACTIONS


def test_random_agent_rejects_empty_mask_row() -> None:
    masks = np.ones((3, NUM_ACTIONS), dtype=bool)
    masks[1] = False
    with pytest.raises(ValueError, match="no action"):
        RandomAgent(0).act({"last_action": np.zeros(3, dtype=np.int64)}, masks)


def test_random_agent_fails_addition() -> None:
    assert exact_match(RandomAgent(0), ADDITION, 5, episodes=64, num_envs=32) < 0.5


def test_counted_episodes_and_their_steps() -> None:
    """Copy's expert writes each of n symbols in three steps (READ, WRITE, MOVE) and halts: 3n + 1
    steps per problem; an agent that halts at once takes one step per problem and solves none."""
    env = make_eval_env("Actformer/Copy-v0", 7, 4)
    try:
        expert = count_episodes(expert_for(env), env, 7, episodes=10, seed=5)
        assert expert == Counted(solved=10, steps=10 * (3 * 7 + 1))
        halt = instruction_index("HALT")
        quitter = count_episodes(ConstantAgent(halt), env, 7, episodes=10, seed=5)
        assert quitter == Counted(solved=0, steps=10)
    finally:
        env.close()


class ConstantAgent:
    def __init__(self, action: int) -> None:
        self.action = action

    def act(self, observation: dict, action_mask: np.ndarray | None = None) -> np.ndarray:
        return np.full(len(observation["last_action"]), self.action, dtype=np.int64)


def test_generalization_table_and_markdown() -> None:
    rows = generalization_table(expert_for, ADDITION, [2, 8], episodes=8, seed=1, num_envs=4)
    assert rows == [
        {"length": 2, "episodes": 8, "exact_match": 1.0},
        {"length": 8, "episodes": 8, "exact_match": 1.0},
    ]
    table = format_table(rows)
    assert table.splitlines()[0] == "| length | episodes | exact match |"
    assert "| 8 | 8 | 1.000 |" in table


def test_random_table_is_reproducible() -> None:
    def factory(env: gym.vector.VectorEnv) -> RandomAgent:
        return RandomAgent(seed=5)

    first = generalization_table(factory, "Actformer/Parity-v0", [3], episodes=20, seed=0, num_envs=8)
    second = generalization_table(factory, "Actformer/Parity-v0", [3], episodes=20, seed=0, num_envs=8)
    assert first == second


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"length": 0}, "length"),
        ({"length": 2.5}, "length"),
        ({"episodes": 0}, "episodes"),
        ({"num_envs": 0}, "num_envs"),
        ({"max_length": 20}, "max_length"),
    ],
)
def test_exact_match_rejects_bad_arguments(kwargs: dict, name: str) -> None:
    arguments = {"length": 3, **kwargs}
    with pytest.raises(ValueError, match=name):
        exact_match(expert_of(ADDITION), ADDITION, **arguments)


def test_generalization_table_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="lengths"):
        generalization_table(expert_for, ADDITION, [], episodes=4, seed=0)
    with pytest.raises(ValueError, match="length"):
        generalization_table(expert_for, ADDITION, [3, -1], episodes=4, seed=0)
    with pytest.raises(ValueError, match="episodes"):
        generalization_table(expert_for, ADDITION, [3], episodes=0, seed=0)


def test_expert_agent_needs_a_task() -> None:
    with pytest.raises(TypeError, match="Task"):
        ExpertAgent("Addition")  # type: ignore[arg-type]
