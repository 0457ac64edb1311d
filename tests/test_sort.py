"""Sort beyond the battery: the row stays a permutation of the input, an in-place task keeps the
shaping credit of the cells that start in place, and its covering problems (every row over at most
three symbols) give a verification set what every row of the length gives."""

from __future__ import annotations

import itertools
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from helpers import run_expert

from actformer_envs import instruction_index
from actformer_envs.symbols import BLANK
from actformer_envs.tasks.copy import Copy
from actformer_envs.tasks.sort import Sort, few_valued_count
from actformer_envs.verification import collect, new_observations


def test_halting_on_a_sorted_input_earns_the_success_reward() -> None:
    """The potential returns to its starting value at HALT, so cells already in place cost nothing."""
    env = gym.make("Actformer/Sort-v0")
    env.reset(options={"problem": [0, 1, 1, 2]})
    _, reward, terminated, _, info = env.step(instruction_index("HALT"))
    # setup 4 + 9; passes for 0 (14), 9 (9), 1 (13), 8 (3), 2 (4, places the last symbol); HALT
    program_length = 13 + 14 + 9 + 13 + 3 + 4 + 1
    assert terminated and info["is_success"]
    assert reward == pytest.approx(1 - 0.1 / program_length, abs=1e-12)


@pytest.mark.parametrize("base", [2, 10, 36])
def test_program_length_is_the_experts_episode_length(base: int) -> None:
    """``Sort.program_length`` (it depends on the symbols, not only on their number) counts the
    steps the expert takes, HALT included, on sorted, reversed, equal and random inputs."""
    env = gym.make("Actformer/Sort-v0", base=base, max_length=16)
    task = env.unwrapped.task
    rng = np.random.default_rng(base)
    top = base - 1
    problems = [[0], [top, 0], list(range(base))[:16], list(range(base))[::-1][:16], [top // 2] * 7]
    problems += [rng.integers(base, size=n).tolist() for n in (1, 3, 8, 16)]
    for problem in problems:
        steps, _, info, _ = run_expert(env, options={"problem": problem})
        assert info["is_success"], problem
        inputs = np.full((1, 17), BLANK, dtype=np.int8)
        inputs[0, : len(problem)] = problem
        assert task.program_length(inputs, np.array([len(problem)])).tolist() == [steps], problem


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


def test_the_expert_places_a_symbol_on_the_machines_compare_flag() -> None:
    """After CMP the expert SWAPs (low pass) or grows the high end exactly when the CMP flag is 0."""
    env = gym.make("Actformer/Sort-v0")
    task = env.unwrapped.task
    obs, _ = env.reset(options={"problem": [3, 0, 9, 3, 5, 9, 0]})
    compares = {instruction_index("CMP R0,R2"): "SWAP P0,P1", instruction_index("CMP R1,R2"): "MOVE P2 LEFT"}
    seen = set()
    for _ in range(500):
        if obs["last_action"] in compares:
            for flag in (-1, 0, 1):
                batch = {k: np.asarray(v)[None].copy() for k, v in obs.items()}
                batch["flags"][0, 1] = flag
                placing = task.expert(batch)[0] == instruction_index(compares[int(obs["last_action"])])
                assert placing == (flag == 0)
                seen.add((int(obs["last_action"]), flag))
        obs, _, terminated, truncated, info = env.step(
            int(task.expert({k: np.asarray(v)[None] for k, v in obs.items()})[0])
        )
        if terminated or truncated:
            break
    assert info["is_success"] and len(seen) == 6


# -- the covering problems of a verification set ----------------------------------------------------


@pytest.mark.parametrize(("base", "length"), [(4, 1), (4, 3), (5, 6), (10, 4), (3, 4), (2, 5)])
def test_covering_problems_are_every_row_over_at_most_three_symbols(base: int, length: int) -> None:
    """Counted and listed against itertools: each row once, of ``length`` symbols, at most three of
    them distinct (every row where the base is 3 or less), posed by the batch as ``encode`` poses it."""
    sort = Sort(base)
    family = sort.covering_problems(length)
    assert family is not None
    expected = {row for row in itertools.product(range(base), repeat=length) if len(set(row)) <= 3}
    listed = [tuple(problem) for problem in family]
    assert len(listed) == len(family) == len(expected) and set(listed) == expected
    some = np.unique(np.linspace(0, len(family) - 1, 50).astype(np.int64))
    batch = family.pose_at(some, sort.width(length))
    for i, index in enumerate(some.tolist()):
        one = sort.encode(family[index], sort.width(length))
        assert np.array_equal(one.scratchpad[0], batch.scratchpad[i])
        assert one.program_length[0] == batch.program_length[i]


def test_covering_problems_counts_and_cap() -> None:
    sort = Sort(10)
    assert few_valued_count(10, 6, 3) == 67_600 and few_valued_count(10, 7, 3) == 222_400
    family = sort.covering_problems(6, cap=67_600)
    assert family is not None and len(family) == 67_600
    assert sort.covering_problems(6, cap=67_599) is None
    assert sort.covering_problems(600, cap=10**7) is None  # counted, never listed
    assert Copy(10).covering_problems(3) is None  # the default: no family
    with pytest.raises(ValueError, match=r"^length must be an int >= 1, got 0$"):
        sort.covering_problems(0)
    with pytest.raises(ValueError, match=r"^cap must be an int in"):
        Copy(10).covering_problems(3, cap=-1)


def test_with_its_covering_problems_one_random_row_gives_the_set_of_every_row() -> None:
    """Base 4, projected, lengths 1..6, length 6 sampled (4,096 rows, over the cap): one random row of
    6 misses an observation that the rows of 6 show; with the covering problems any such sample gives
    the set of every row of 6, whatever its seed."""
    settings = {"base": 4, "history_length": 0, "projected": True}
    every = collect("Sort", range(1, 7), [None] * 6, cap=4096, **settings)
    sampled = [None] * 5 + [1]
    alone = collect("Sort", range(1, 7), sampled, cap=3000, **settings)
    assert len(new_observations(alone, every)) >= 1
    for seed in (0, 1):
        covered = collect("Sort", range(1, 7), sampled, seed=seed, cap=3000, with_covering=True, **settings)
        assert covered.sources[-1] == {"problems": "covering", "length": 6, "count": 2536}
        assert len(new_observations(covered, every)) == len(new_observations(every, covered)) == 0
        assert covered.expert_failures == covered.conflicts == 0
