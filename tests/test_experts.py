"""Every task's expert: it solves every problem tried, at every length, in its documented number of
steps, and its action is a function of the observation."""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
import pytest
from helpers import (
    actformer_specs,
    expected_answer,
    obs_digest,
    problem_from_full_obs,
    problem_length,
    program_length,
    run_expert,
    run_expert_batch,
    task_name,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import oracle

#: Shaped mode: the potential returns to its starting value at HALT and the time penalty sums to 0.1
#: over the expert's program, so an expert episode earns 1 - 0.1 (the env docstring's Rewards section).
EXPERT_SHAPED_RETURN = 0.9


def test_every_task_has_an_oracle() -> None:
    for spec in actformer_specs():
        oracle(spec.kwargs["task"])


@functools.cache
def _env(env_id: str, max_length: int, base: int | None = None, reward_mode: str = "shaped") -> gym.Env:
    kwargs = {} if base is None else {"base": base}
    return gym.make(env_id, max_length=max_length, obs_mode="full", reward_mode=reward_mode, **kwargs)


def _check_solved(env_id: str, env: gym.Env, **reset_kwargs) -> tuple:
    """Run the expert on one problem and hold it to the task's oracle; returns (problem, info)."""
    task = task_name(env_id)
    base = env.unwrapped.task.base
    steps, total, info, first = run_expert(env, **reset_kwargs)
    problem = problem_from_full_obs(task, first, base)
    _hold_to_oracle(task, problem, base, steps, total, info, env.unwrapped.config.reward_mode)
    return problem, info


def _hold_to_oracle(
    task: str, problem, base: int, steps: int, total: float, info: dict, reward_mode: str = "shaped"
) -> None:
    """One expert episode on ``problem``: solved, the oracle's answer, its documented number of
    steps, and the expert's return in ``reward_mode``."""
    assert info["is_success"] is True, (problem, info)
    assert info["output"] == info["target"] == expected_answer(task, problem, base), problem
    assert steps == program_length(task, problem, base), problem
    if reward_mode == "sparse":
        assert total == 1.0
    else:
        assert total == pytest.approx(EXPERT_SHAPED_RETURN, abs=1e-9), problem


@pytest.mark.parametrize("length", [1, 2, 3, 7, 30, 100])
def test_expert_solves_random_problems(env_id: str, length: int) -> None:
    """Four random problems of ``length``: the single env's seeds 0..3, as the vector env's envs."""
    task = task_name(env_id)
    length = min(length, oracle(task).longest)
    reset = {"seed": 0, "options": {"length": length}}
    problems = _check_solved_in_batch(env_id, 4, reset, max_length=min(100, oracle(task).longest))
    base = gym.make(env_id).unwrapped.task.base
    assert all(problem_length(task, problem, base) == length for problem in problems)


def test_expert_solves_default_problems(env_id: str) -> None:
    env = gym.make(env_id, obs_mode="full")
    for seed in range(20):
        _check_solved(env_id, env, seed=seed)


@pytest.mark.parametrize("length", [1, 9, 40])
def test_expert_sparse_return_is_exactly_one(env_id: str, length: int) -> None:
    env = _env(env_id, 40, reward_mode="sparse")
    for seed in range(3):
        _check_solved(env_id, env, seed=seed, options={"length": length})


def test_expert_at_the_longest_length(env_id: str) -> None:
    longest = oracle(task_name(env_id)).longest
    _check_solved(env_id, _env(env_id, longest), seed=0, options={"length": longest})


@pytest.mark.slow
def test_expert_at_the_longest_length_many_seeds(env_id: str) -> None:
    task = oracle(task_name(env_id))
    for base in sorted({task.bases[0], task.bases[-1], 10} & set(task.bases)):
        env = _env(env_id, task.longest, base)
        for seed in range(5):
            _check_solved(env_id, env, seed=seed, options={"length": task.longest})


def test_expert_solves_edge_cases(env_id: str) -> None:
    """Every edge case of every base, all of a base at once in the native vector env."""
    task = oracle(task_name(env_id))
    for base in task.bases:
        problems = task.edge_cases(base)
        reset = {"options": {"problems": problems}}
        _check_solved_in_batch(env_id, len(problems), reset, problems, max_length=task.longest, base=base)


def _check_solved_in_batch(
    env_id: str, num_envs: int, reset_kwargs: dict, posed: list | None = None, **make_kwargs
) -> list:
    """``_check_solved`` for every env of a native vector env (``run_expert_batch``): long programs
    (Multiplication's 100 x 100, ComputeSqrt's 100 bits) run many at a time. The problems are
    ``posed``, else read off the reset observations (``obs_mode="full"``); returns them."""
    task = task_name(env_id)
    base = make_kwargs.get("base") or gym.make(env_id).unwrapped.task.base
    full = {"obs_mode": "full"} if posed is None else {}
    problems = []
    for i, (steps, total, info, first) in enumerate(
        run_expert_batch(env_id, num_envs, reset_kwargs, **full, **make_kwargs)
    ):
        problem = problem_from_full_obs(task, first, base) if posed is None else posed[i]
        _hold_to_oracle(task, problem, base, steps, total, info)
        problems.append(problem)
    return problems


# -- property tests ----------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_expert_solves_user_posed_problems(env_id: str, data: st.DataObject) -> None:
    task = oracle(task_name(env_id))
    base = data.draw(st.sampled_from(task.bases), label="base")
    problem = data.draw(task.problems(base), label="problem")
    _check_solved(env_id, _env(env_id, task.property_length, base), options={"problem": problem})


# -- the expert is a function of the observation -----------------------------------------------


@pytest.mark.parametrize("history_length", [0, 8])
def test_expert_is_a_function_of_the_observation(env_id: str, history_length: int) -> None:
    """Same observation => same expert action, over >= 10,000 observations on and off the expert's
    path (70% expert, 30% random allowed actions), across many episodes."""
    num_envs, steps = 32, 330
    env = gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", history_length=history_length
    )
    rng = np.random.default_rng(1)
    seen: dict[bytes, int] = {}
    revisits = ends = 0
    obs, _ = env.reset(seed=0)
    allowed = np.flatnonzero(env.action_masks()[0])
    for _ in range(steps):
        expert = env.expert_action()
        for i in range(num_envs):
            key = obs_digest({k: v[i] for k, v in obs.items()})
            action = int(expert[i])
            if key in seen:
                revisits += 1
                assert seen[key] == action, f"observation {key.hex()} maps to {seen[key]} and {action}"
            else:
                seen[key] = action
        actions = np.where(rng.random(num_envs) < 0.7, expert, rng.choice(allowed, num_envs))
        obs, _, terminated, truncated, _ = env.step(actions)
        ends += int((terminated | truncated).sum())
    assert num_envs * steps >= 10_000
    # Enough repeated observations that the check bites (fewer with a history in the observation).
    assert ends >= num_envs and revisits >= (500 if history_length == 0 else 20), (ends, revisits)


def test_expert_through_the_vector_env(env_id: str) -> None:
    """Every env's episodes end solved, with the target as output, until 128 have ended (within
    1000 steps: a search such as SolveEquation's runs its expression up to five times)."""
    env = gym.make_vec(env_id, num_envs=64, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    ended = 0
    for _ in range(1000):
        if ended >= 2 * 64:
            break
        _, _, terminated, truncated, info = env.step(env.expert_action())
        assert not info["invalid_action"][info["_invalid_action"]].any()
        done = terminated | truncated
        if done.any():
            assert np.array_equal(info["_is_success"], done)
            assert info["is_success"][done].all()
            assert terminated[done].all()
            for out, target in zip(info["output"][done], info["target"][done], strict=True):
                assert out == target
        ended += int(done.sum())
    assert ended >= 2 * 64


@pytest.mark.parametrize("length", [1, 2, 9])
@pytest.mark.parametrize(
    "env_id", [spec.id for spec in actformer_specs() if spec.kwargs["task"] != "MultiTask"]
)
def test_adversarial_families_are_posed_and_solved(env_id: str, length: int) -> None:
    """Every single task declares adversarial families (``Task.adversarial_problems``): distinct
    problems of exactly the length asked, in each base the task takes, that the env accepts as
    posed and the expert solves, held to the task's oracle. (A MultiTask poses its members'.)"""
    task = task_name(env_id)
    length = min(length, oracle(task).longest)
    for base in oracle(task).bases:
        env = _env(env_id, max(length, 1), base)
        families = env.unwrapped.task.adversarial_problems(length)
        assert families, f"{task} declares no adversarial problems"
        assert len({repr(problem) for problem in families}) == len(families), families
        for problem in families:
            assert problem_length(task, problem, base) == length, problem
            posed, _ = _check_solved(env_id, env, seed=0, options={"problem": problem})
            assert problem_length(task, posed, base) == length
