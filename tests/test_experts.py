"""Every task's expert: it solves every problem tried, at every length, in its documented number of
steps, and its action is a function of the observation."""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
import pytest
from helpers import (
    expected_answer,
    ids_of_task,
    obs_digest,
    problem_from_full_obs,
    problem_length,
    program_length,
    run_expert,
    task_name,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ADDITION = ids_of_task("Addition")
SEQUENCES = [i for task in ("Copy", "Reverse") for i in ids_of_task(task)]
PARITY = ids_of_task("Parity")
#: Shaped mode: the potential returns to 0 at HALT and the time penalty sums to 0.1 over the expert's
#: program, so an expert episode earns 1 - 0.1 (the env docstring's Rewards section).
EXPERT_SHAPED_RETURN = 0.9
BASES = (2, 7, 10, 16, 36)


def test_every_task_has_its_ids() -> None:
    assert ADDITION and SEQUENCES and PARITY


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
    assert info["is_success"] is True, (problem, info)
    assert info["output"] == info["target"] == expected_answer(task, problem), problem
    assert steps == program_length(task, problem, base), problem
    if env.unwrapped.config.reward_mode == "sparse":
        assert total == 1.0
    else:
        assert total == pytest.approx(EXPERT_SHAPED_RETURN, abs=1e-9)
    return problem, info


@pytest.mark.parametrize("length", [1, 2, 3, 7, 30, 100])
def test_expert_solves_random_problems(env_id: str, length: int) -> None:
    task = task_name(env_id)
    env = _env(env_id, 100)
    base = env.unwrapped.task.base
    for seed in range(4):
        problem, _ = _check_solved(env_id, env, seed=seed, options={"length": length})
        assert problem_length(task, problem, base) == length


def test_expert_solves_default_problems(env_id: str) -> None:
    env = gym.make(env_id, obs_mode="full")
    for seed in range(20):
        _check_solved(env_id, env, seed=seed)


@pytest.mark.parametrize("length", [1, 9, 40])
def test_expert_sparse_return_is_exactly_one(env_id: str, length: int) -> None:
    env = _env(env_id, 40, reward_mode="sparse")
    for seed in range(3):
        _check_solved(env_id, env, seed=seed, options={"length": length})


def test_expert_at_length_1000(env_id: str) -> None:
    env = _env(env_id, 1000)
    _check_solved(env_id, env, seed=0, options={"length": 1000})


@pytest.mark.slow
@pytest.mark.parametrize("base", [None, 2, 36])
def test_expert_at_length_1000_many_seeds(env_id: str, base: int | None) -> None:
    if task_name(env_id) == "Parity" and base not in (None, 2):
        base = None
    env = _env(env_id, 1000, base)
    for seed in range(5):
        _check_solved(env_id, env, seed=seed, options={"length": 1000})


# -- user-posed edge cases ---------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ADDITION)
@pytest.mark.parametrize("base", BASES)
def test_addition_carry_through_1000_digits(env_id: str, base: int) -> None:
    env = _env(env_id, 1000, base)
    nines = base**1000 - 1  # 1000 digits of base - 1: the carry ripples through every column
    for problem in ((nines, 1), (1, nines)) if base == 10 else ((nines, 1),):
        _, info = _check_solved(env_id, env, options={"problem": problem})
        assert info["output"] == base**1000


@pytest.mark.parametrize("env_id", ADDITION)
@pytest.mark.parametrize("base", BASES)
def test_addition_edge_cases(env_id: str, base: int) -> None:
    env = _env(env_id, 200, base)
    cases = [
        (0, 0),
        (0, 5),
        (5, 0),
        (10**50, 7),
        (7, 10**50),
        (base - 1, base - 1),
        (base - 1, 1),
        (base**2, base**2 - 1),
        (123456789, 987654321),
    ]
    for a, b in cases:
        _, info = _check_solved(env_id, env, options={"problem": (a, b)})
        assert info["output"] == a + b
    # numpy ints and lists are accepted as problems too
    _, info = _check_solved(env_id, env, options={"problem": [np.int64(base), np.int32(3)]})
    assert info["output"] == base + 3


@pytest.mark.parametrize("env_id", SEQUENCES)
@pytest.mark.parametrize("base", [2, 10, 36])
def test_sequence_edge_cases(env_id: str, base: int) -> None:
    env = _env(env_id, 300, base)
    top = base - 1
    cases = [[0], [top], [0] * 17, [top] * 300, [top, 0] * 25, list(range(base)), list(range(base))[::-1]]
    for problem in cases:
        _, info = _check_solved(env_id, env, options={"problem": problem})
        assert info["output"] == expected_answer(task_name(env_id), problem)


@pytest.mark.parametrize("env_id", PARITY)
def test_parity_edge_cases(env_id: str) -> None:
    env = _env(env_id, 1000)
    cases = [[0], [1], [0] * 50, [1] * 50, [1] * 51, [0] * 999 + [1], [1] * 1000]
    for problem in cases:
        _, info = _check_solved(env_id, env, options={"problem": problem})
        assert info["output"] == sum(problem) % 2


# -- property tests ----------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("env_id", ADDITION)
@PROPERTY_SETTINGS
@given(a=st.integers(0, 10**40), b=st.integers(0, 10**40), base=st.integers(2, 36))
def test_addition_property(env_id: str, a: int, b: int, base: int) -> None:
    _, info = _check_solved(env_id, _env(env_id, 140, base), options={"problem": (a, b)})
    assert info["output"] == a + b


@st.composite
def _sequences(draw: st.DrawFn, base: int | None = None) -> tuple[int, list[int]]:
    base = draw(st.integers(2, 36)) if base is None else base
    return base, draw(st.lists(st.integers(0, base - 1), min_size=1, max_size=80))


@pytest.mark.parametrize("env_id", SEQUENCES)
@PROPERTY_SETTINGS
@given(case=_sequences())
def test_sequence_property(env_id: str, case: tuple[int, list[int]]) -> None:
    base, problem = case
    _, info = _check_solved(env_id, _env(env_id, 80, base), options={"problem": problem})
    assert info["output"] == expected_answer(task_name(env_id), problem)


@pytest.mark.parametrize("env_id", PARITY)
@PROPERTY_SETTINGS
@given(case=_sequences(base=2))
def test_parity_property(env_id: str, case: tuple[int, list[int]]) -> None:
    _, problem = case
    _, info = _check_solved(env_id, _env(env_id, 80), options={"problem": problem})
    assert info["output"] == sum(problem) % 2


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
    allowed = np.flatnonzero(env.action_masks()[0])
    seen: dict[bytes, int] = {}
    revisits = ends = 0
    obs, _ = env.reset(seed=0)
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
    env = gym.make_vec(env_id, num_envs=64, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    ended = 0
    for _ in range(300):
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
