"""Sort beyond the battery: the row stays a permutation of the input, and an in-place task keeps the
shaping credit of the cells that start in place."""

from __future__ import annotations

from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from helpers import run_expert

from actformer_envs import instruction_index
from actformer_envs.symbols import BLANK


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
