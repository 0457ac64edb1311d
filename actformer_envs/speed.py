"""Env-steps per second under uniformly random actions: how the demo and the throughput benchmark
(``benchmarks/throughput.py``) time an env.

An env is stepped through one of three faces: ``single`` (``gym.make``, reset when an episode
ends), ``sync`` (Gymnasium's ``SyncVectorEnv``) or ``native`` (the env's own vector entry point).
Actions are pre-sampled in a block that is reused cyclically, so sampling is not timed; one pass
through the block warms the env up before the clock starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces

FACES = ("single", "sync", "native")
#: Pre-sampled steps (of actions, or of batches of actions) reused cyclically.
ACTION_BLOCK = 64


def random_stepper(
    env_id: str, face: str, num_envs: int, seed: int = 0, block: int = ACTION_BLOCK
) -> tuple[Callable[[int], Any], Callable[[], None]]:
    """(step(i), close()): ``step(i)`` steps every env of ``face`` once with block entry ``i``."""
    if face not in FACES:
        raise ValueError(f"face must be one of {FACES}, got {face!r}")
    rng = np.random.default_rng(seed)
    if face == "single":
        env = gym.make(env_id)
        actions = rng.integers(cast(spaces.Discrete, env.action_space).n, size=block).tolist()
        env.reset(seed=seed)

        def step(i: int) -> None:
            _, _, terminated, truncated, _ = env.step(actions[i])
            if terminated or truncated:
                env.reset()

        return step, env.close
    mode = "sync" if face == "sync" else "vector_entry_point"
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    action_count = cast(spaces.Discrete, envs.single_action_space).n
    batches = rng.integers(action_count, size=(block, num_envs), dtype=np.int64)
    envs.reset(seed=seed)
    return (lambda i: envs.step(batches[i])), envs.close


def time_loop(step: Callable[[int], Any], seconds: float, block: int = ACTION_BLOCK) -> tuple[int, float]:
    """Call ``step(i)`` (i cycling through ``range(block)``) for ``seconds`` of wall time; (calls,
    elapsed seconds)."""
    calls, index = 0, 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        step(index)
        calls += 1
        index = index + 1 if index + 1 < block else 0
        now = time.perf_counter()
        if now >= deadline:
            return calls, now - start


def steps_per_second(
    env_id: str, face: str, num_envs: int, seconds: float, seed: int = 0, block: int = ACTION_BLOCK
) -> float:
    """Env-steps/s of ``env_id`` through ``face`` with ``num_envs`` envs (1 for ``single``) over
    ``seconds``, in a fresh env warmed up by one pass through the action block."""
    step, close = random_stepper(env_id, face, num_envs, seed, block)
    try:
        for i in range(block):
            step(i)
        calls, elapsed = time_loop(step, seconds, block)
    finally:
        close()
    return calls * num_envs / elapsed
