"""Expression beyond the battery (which runs the default stage 2 only): the expert at every stage,
on random and edge-case problems, checked against Python arithmetic; the ``stage`` option and
posed problems of each stage's shape."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from oracles.expression import ExpressionOracle, value

from actformer_envs.symbols import BLANK, EDGE

ENV_ID = "Actformer/Expression-v0"
ORACLE = ExpressionOracle()


def _vec(stage: int, base: int, num_envs: int, max_length: int) -> gym.vector.VectorEnv:
    return gym.make_vec(
        ENV_ID,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        obs_mode="full",
        stage=stage,
        base=base,
        max_length=max_length,
    )


def _solve(vec: gym.vector.VectorEnv, base: int, **reset_kwargs) -> list[tuple]:
    """Run the expert in every env of ``vec`` to its end; check each answer and step count."""
    obs, _ = vec.reset(**reset_kwargs)
    rows = [{k: v[i] for k, v in obs.items()} for i in range(vec.num_envs)]
    problems = [ORACLE.problem_from_full_obs(row, base) for row in rows]
    ends = [0] * vec.num_envs
    outputs: list = [None] * vec.num_envs
    step = 0
    while not all(ends):
        _, _, terminated, truncated, info = vec.step(vec.expert_action())
        step += 1
        assert not info["invalid_action"][info["_invalid_action"]].any()
        for i in np.flatnonzero(terminated | truncated):
            if not ends[i]:
                ends[i] = step
                assert terminated[i] and info["is_success"][i], problems[i]
                outputs[i] = info["output"][i]
    for problem, output, steps in zip(problems, outputs, ends, strict=True):
        assert value(problem) >= 0, problem
        assert output == value(problem), problem
        assert steps == ORACLE.program_length(problem, base), problem
    return problems


@pytest.mark.parametrize("stage", [0, 1, 2])
@pytest.mark.parametrize("base", [2, 10, 36])
def test_expert_solves_random_problems_at_every_stage(stage: int, base: int) -> None:
    lengths = [1, 2, 3, 4, 6, 9] * 4
    vec = _vec(stage, base, len(lengths), 9)
    problems = _solve(vec, base, seed=stage * 100 + base, options={"length": lengths})
    assert {len(p) for p in problems} == {3 + stage}
    assert [ORACLE.problem_length(p, base) for p in problems] == lengths


@pytest.mark.slow
@pytest.mark.parametrize("stage", [0, 1, 2])
def test_expert_solves_long_problems_at_every_stage(stage: int) -> None:
    for base in (2, 10, 36):
        _solve(_vec(stage, base, 4, 30), base, seed=base, options={"length": 30})


def _edge_cases(stage: int, base: int) -> list[tuple]:
    top, six, full = base - 1, base**6 - 1, base**30 - 1
    cases = {
        0: [(0, 0, 0), (top, top, top), (1, 0, 0), (0, 1, top), (six, six, six), (six, top, 0),
            (top, six, six), (full, 1, full), (1, top, full)],
        1: [(0, 0, 0, 0), (top, top, top, top), (1, 1, 0, 1), (top, top, 0, top * top), (six, six, six, 0),
            (six, six, 0, six * six), (base**6, 1, 0, 1), (0, 0, full, full), (full, 1, 0, full),
            (top, six, 1, six)],
        2: [(0, 0, 0, 0, 0), (top, top, top, top, top), (1, 1, 0, 1, 1), (six, six, six, six, six),
            (six, six, six, 0, 0), (six, 1, 0, 1, six), (base**6, 1, 0, 1, 1), (top, six, 0, six, top),
            (1, full, 0, full, 1), (0, 0, 7 % base, 0, 0)],
    }  # fmt: skip
    return cases[stage]


@pytest.mark.parametrize("stage", [0, 1, 2])
@pytest.mark.parametrize("base", [2, 36, *(pytest.param(b, marks=pytest.mark.slow) for b in (7, 10))])
def test_expert_solves_edge_cases_at_every_stage(stage: int, base: int) -> None:
    vec = _vec(stage, base, 1, 30)
    for problem in _edge_cases(stage, base):
        assert _solve(vec, base, options={"problem": problem}) == [problem]


@pytest.mark.parametrize("stage", [0, 1, 2])
def test_length_one_fills_two_output_cells(stage: int) -> None:
    env = gym.make(ENV_ID, stage=stage, obs_mode="full", max_length=1)
    obs, _ = env.reset(seed=0)
    out = obs["scratchpad"][2]
    assert (out[:2] == BLANK).all() and (out[2:] == EDGE).all()


@pytest.mark.parametrize("stage", [3, -1, 1.0, "2", True, None])
def test_bad_stage_rejected(stage: object) -> None:
    with pytest.raises(ValueError, match="stage"):
        gym.make(ENV_ID, stage=stage)
    with pytest.raises(ValueError, match="stage"):
        gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", stage=stage)


@pytest.mark.parametrize(
    ("stage", "bad"),
    [
        (0, (1, 2)),
        (0, (1, 2, 3, 4)),
        (1, (1, 2, 3)),
        (1, (0, 0, 0, 1)),  # negative value
        (1, (1, 2, -3, 0)),
        (2, (1, 2, 3, 4)),
        (2, (2, 2, 0, 1, 5)),  # negative value
        (0, (10**10, 1, 1)),  # too long for max_length=9 in base 10
    ],
)
def test_bad_posed_problems_rejected(stage: int, bad: tuple) -> None:
    env = gym.make(ENV_ID, stage=stage, max_length=9)
    with pytest.raises(ValueError):
        env.reset(options={"problem": bad})


def test_default_stage_is_two() -> None:
    assert gym.make(ENV_ID).unwrapped.task.stage == 2
    assert gym.make(ENV_ID, stage=0).unwrapped.task.stage == 0
