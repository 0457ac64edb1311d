"""Misuse raises instead of paying: stepping outside an episode (before the first reset, or a single env
after its episode ended), ``options={"problem": None}``, unordered or one-shot problem sequences, and
malformed seeds. Plus the libraries and wrappers that step the envs correctly, which must still work."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.wrappers import RecordEpisodeStatistics
from gymnasium.wrappers.vector import RecordEpisodeStatistics as RecordVectorEpisodeStatistics
from helpers import assert_obs_equal, make_vec, run_expert, task_name, values_equal
from oracles import oracle
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from actformer_envs import ActformerVectorEnv, instruction_index

HALT = instruction_index("HALT")
CLONES = [lambda e: pickle.loads(pickle.dumps(e)), copy.deepcopy]
CLONE_IDS = ["pickle", "deepcopy"]


def single(env_id: str, wrapped: bool, **kwargs: Any) -> gym.Env:
    """``gym.make``'s env (PassiveEnvChecker, OrderEnforcing) or the bare ``ActformerEnv``."""
    env = gym.make(env_id, **kwargs)
    return env if wrapped else env.unwrapped


def end_by_halting(env: gym.Env) -> tuple:
    """Reset and HALT at once: the episode terminates."""
    env.reset(seed=0)
    result = env.step(HALT)
    assert result[2] and not result[3]
    return result


def end_by_truncation(env: gym.Env) -> tuple:
    """Reset to a length-1 problem and issue masked-out (no-op) instructions until truncated."""
    env.reset(seed=0, options={"length": 1})
    for _ in range(1000):
        masked = np.flatnonzero(~env.unwrapped.action_masks())
        assert len(masked) and HALT not in masked
        result = env.step(int(masked[0]))
        if result[2] or result[3]:
            assert result[3] and not result[2]
            return result
    raise AssertionError("no truncation")


ENDINGS = {"terminated": end_by_halting, "truncated": end_by_truncation}


# -- stepping outside an episode ---------------------------------------------------------------


@pytest.mark.parametrize("wrapped", [False, True], ids=["unwrapped", "make"])
def test_step_before_the_first_reset_raises(env_id: str, wrapped: bool) -> None:
    env = single(env_id, wrapped, render_mode="ansi")
    with pytest.raises(ResetNeeded, match="reset"):
        env.step(HALT)
    with pytest.raises(ResetNeeded, match="reset"):
        env.render()
    with pytest.raises(ResetNeeded, match=r"expert_action\(\).*reset"):
        env.unwrapped.expert_action()
    # After the refusal, the first reset starts a normal episode.
    steps, _, info, _ = run_expert(env, seed=0)
    assert info["is_success"] and steps >= 1


def test_action_masks_before_the_first_reset(env_id: str) -> None:
    """A plain task's mask never changes: defined before any reset. A MultiTask's is its episode's."""
    env = gym.make(env_id).unwrapped
    if env.mixture.draws_member:
        with pytest.raises(ResetNeeded, match=r"action_masks\(\)"):
            env.action_masks()
        return
    before = env.action_masks()
    env.reset(seed=0)
    assert np.array_equal(before, env.action_masks())


@pytest.mark.parametrize("wrapped", [False, True], ids=["unwrapped", "make"])
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_step_after_the_episode_ended_raises(env_id: str, wrapped: bool, ending: str) -> None:
    env = single(env_id, wrapped, render_mode="rgb_array", reward_mode="sparse")
    ENDINGS[ending](env)
    for action in (HALT, 0):  # nothing is paid again, whatever the action
        with pytest.raises(ResetNeeded, match=r"ended.*reset\(\)"):
            env.step(action)
    # The last state can still be looked at ...
    assert env.render().ndim == 3
    env.unwrapped.expert_action()
    env.unwrapped.action_masks()
    # ... and a reset starts a normal episode: the expert solves it, with a sparse return of exactly 1.
    steps, total, info, _ = run_expert(env, seed=1)
    assert info["is_success"] and total == 1.0 and steps >= 1
    with pytest.raises(ResetNeeded):
        env.step(HALT)


def test_a_failed_first_reset_leaves_the_env_unreset(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    with pytest.raises(ValueError):
        env.reset(seed=0, options={"length": 0})
    with pytest.raises(ResetNeeded):
        env.step(HALT)
    vec = make_vec(env_id, 2)
    with pytest.raises(ValueError):
        vec.reset(seed=0, options={"length": 0})
    with pytest.raises(ResetNeeded):
        vec.step(np.full(2, HALT))


def test_vector_env_before_the_first_reset_raises(env_id: str) -> None:
    vec = make_vec(env_id, 3, render_mode="ansi")
    with pytest.raises(ResetNeeded, match=r"step\(\).*reset"):
        vec.step(np.full(3, HALT))
    with pytest.raises(ResetNeeded):
        vec.render()
    with pytest.raises(ResetNeeded):
        vec.expert_action()
    if vec.unwrapped.mixture.draws_member:
        with pytest.raises(ResetNeeded):
            vec.action_masks()
    else:
        assert vec.action_masks().shape == (3, vec.single_action_space.n)
    vec.reset(seed=0)
    _, rewards, terminated, _, _ = vec.step(np.full(3, HALT))
    assert terminated.all() and (rewards <= 1.0).all()
    # NEXT_STEP autoreset: the envs stay in episodes, so stepping on never needs a reset.
    _, rewards, terminated, truncated, _ = vec.step(np.full(3, HALT))
    assert (rewards == 0).all() and not (terminated | truncated).any()
    assert len(vec.render()) == 3


@pytest.mark.parametrize("clone", CLONES, ids=CLONE_IDS)
def test_clones_keep_the_guard(env_id: str, clone: Callable) -> None:
    fresh = clone(gym.make(env_id).unwrapped)
    with pytest.raises(ResetNeeded):
        fresh.step(HALT)
    with pytest.raises(ResetNeeded):
        clone(make_vec(env_id, 2)).step(np.full(2, HALT))
    env = gym.make(env_id, reward_mode="sparse")
    end_by_halting(env)
    twin = clone(env)
    for e in (env, twin):
        with pytest.raises(ResetNeeded):
            e.step(HALT)
    assert values_equal(run_expert(env, seed=3), run_expert(twin, seed=3))


def test_vector_state_keeps_the_guard(env_id: str) -> None:
    """A state taken before the first reset restores an env that still needs one; a later one does not."""
    unreset = make_vec(env_id, 2)
    twin = make_vec(env_id, 2)
    twin.load_state_dict(unreset.state_dict())
    with pytest.raises(ResetNeeded):
        twin.step(np.full(2, HALT))
    unreset.reset(seed=0)
    twin.load_state_dict(unreset.state_dict())
    assert values_equal(unreset.step(np.full(2, HALT)), twin.step(np.full(2, HALT)))


# -- what steps the envs correctly still works ------------------------------------------------


class ExpertPredictor:
    """An SB3 ``predict`` that plays each env's expert (for ``evaluate_policy``)."""

    def __init__(self, vec_env: DummyVecEnv) -> None:
        self.vec_env = vec_env

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[np.ndarray, Any]:
        return np.array(self.vec_env.env_method("expert_action")), state


def test_sb3_evaluate_policy(env_id: str) -> None:
    vec_env = DummyVecEnv([lambda: Monitor(gym.make(env_id, reward_mode="sparse")) for _ in range(2)])
    vec_env.seed(0)
    rewards, lengths = evaluate_policy(
        ExpertPredictor(vec_env), vec_env, n_eval_episodes=6, return_episode_rewards=True
    )
    assert rewards == [1.0] * 6 and all(n >= 1 for n in lengths)


def test_episode_statistics_wrappers_count_each_episode_once(env_id: str) -> None:
    """(RecordVideo itself is tested in test_rendering.py.)"""
    env = RecordEpisodeStatistics(gym.make(env_id, reward_mode="sparse", render_mode="rgb_array"))
    returns = []
    for seed in range(3):
        _, _, info, _ = run_expert(env, seed=seed)
        env.render()  # the last frame, as a video recorder takes it
        returns.append(info["episode"]["r"])
    assert np.allclose(returns, 1.0)
    vec = RecordVectorEpisodeStatistics(make_vec(env_id, 3, reward_mode="sparse"))
    vec.reset(seed=0)
    for _ in range(300):
        _, _, _, _, info = vec.step(vec.unwrapped.expert_action())
        if "episode" in info:
            assert np.allclose(info["episode"]["r"][info["_episode"]], 1.0)
    assert len(vec.episode_returns) == 3 and vec.episode_count >= 3


def test_async_vector_env_over_single_envs() -> None:
    env_id = "Actformer/Addition-v0"
    envs = gym.vector.AsyncVectorEnv([lambda: gym.make(env_id, reward_mode="sparse") for _ in range(2)])
    try:
        envs.reset(seed=0)
        rng = np.random.default_rng(0)
        ends = 0
        for _ in range(60):
            _, rewards, terminated, truncated, _ = envs.step(np.where(rng.random(2) < 0.3, HALT, 0))
            assert (rewards <= 1.0).all()
            ends += int((terminated | truncated).sum())
        assert ends >= 4
    finally:
        envs.close()


# -- validation: problems ----------------------------------------------------------------------


def with_sequence(problem: Any, make: Callable[[list], Any]) -> Any:
    """``problem`` with its (first) list of symbols replaced by ``make(list)``; None if it has none."""
    if isinstance(problem, list):
        return make(problem)
    if isinstance(problem, tuple):
        for i, part in enumerate(problem):
            replaced = with_sequence(part, make)
            if replaced is not None:
                return (*problem[:i], replaced, *problem[i + 1 :])
    return None


def test_problem_none_is_refused(env_id: str) -> None:
    for env in (gym.make(env_id), make_vec(env_id, 2)):
        with pytest.raises(ValueError, match=r"options\['problem'\].*None"):
            env.reset(seed=0, options={"problem": None})


UNORDERED = {
    "set": lambda symbols: set(symbols),
    "frozenset": lambda symbols: frozenset(symbols),
    "dict": lambda symbols: dict.fromkeys(symbols),
    "generator": lambda symbols: (s for s in symbols),
    "iterator": lambda symbols: iter(symbols),
    "2-D array": lambda symbols: np.array([symbols]),
}


@pytest.mark.parametrize("kind", list(UNORDERED))
def test_unordered_or_one_shot_sequences_are_refused(env_id: str, kind: str) -> None:
    env = gym.make(env_id, max_length=10)
    problem = oracle(task_name(env_id)).largest(env.unwrapped.task.base, 4)
    if with_sequence(problem, list) is None:
        pytest.skip("this task's problems hold no sequence")
    for e in (env, make_vec(env_id, 2, max_length=10)):
        with pytest.raises(ValueError, match="list, tuple or 1-D array"):
            e.reset(seed=0, options={"problem": with_sequence(problem, UNORDERED[kind])})


def test_tuples_and_arrays_pose_what_lists_do(env_id: str) -> None:
    env = gym.make(env_id, max_length=10, obs_mode="full")
    problem = oracle(task_name(env_id)).largest(env.unwrapped.task.base, 4)
    if with_sequence(problem, list) is None:
        pytest.skip("this task's problems hold no sequence")
    expected, _ = env.reset(seed=0, options={"problem": problem})
    for make in (tuple, np.array, lambda s: np.array(s, dtype=np.uint8)):
        obs, _ = env.reset(seed=0, options={"problem": with_sequence(problem, make)})
        assert_obs_equal(obs, expected)


# -- validation: seeds -------------------------------------------------------------------------


def test_numpy_integer_seeds_are_ints(env_id: str) -> None:
    def run(vec: ActformerVectorEnv, seed: Any) -> list:
        records = [vec.reset(seed=seed)]
        for _ in range(20):
            records.append(copy.deepcopy(vec.step(vec.expert_action())))
        return records

    vec = make_vec(env_id, 3, obs_mode="full")
    expected = run(vec, 7)
    for seed in (np.int64(7), np.uint16(7), np.int32(7)):
        assert values_equal(run(vec, seed), expected), repr(seed)
    listed = run(vec, [7, 8, 9])
    assert values_equal(listed, expected)
    for seeds in ([np.int64(7), 8, np.uint8(9)], (7, np.int16(8), 9), np.array([7, 8, 9])):
        assert values_equal(run(vec, seeds), listed), repr(seeds)
    env = gym.make(env_id, obs_mode="full")
    assert values_equal(run_expert(env, seed=np.int64(5)), run_expert(env, seed=5))


@pytest.mark.parametrize(
    "seed",
    [
        True,
        np.bool_(False),
        -1,
        np.int64(-1),
        1.5,
        np.float64(3),
        "3",
        b"3",
        {1, 2, 3},
        {1: 2},
        [1, 2],
        [1, 2, 3, 4],
        [1, -2, 3],
        [1, 2.0, 3],
        [True, 1, 2],
        ["1", 2, 3],
        np.zeros((3, 1), dtype=int),
        np.array(3),
    ],
    ids=lambda seed: " ".join(repr(seed).split()),
)
def test_bad_vector_seeds_name_the_seed(seed: Any) -> None:
    vec = make_vec("Actformer/Copy-v0", 3)
    with pytest.raises((TypeError, ValueError), match=r"^seed(\[\d\])? must"):
        vec.reset(seed=seed)
    with pytest.raises(ResetNeeded):  # (no reset happened)
        vec.step(np.full(3, HALT))


@pytest.mark.parametrize("seed", [True, -1, 1.5, "3"], ids=repr)
def test_bad_single_seeds_name_the_seed(seed: Any) -> None:
    env = gym.make("Actformer/Copy-v0")
    with pytest.raises((TypeError, ValueError, gym.error.Error), match=r"(?i)^seed"):
        env.reset(seed=seed)
