"""A tour of the suite: the expert solving every task, a 1000-digit addition, and the env's speed
(measured on the spot: a single env against the native vector env).

Run it with ``python -m actformer_envs.demo`` or the console script ``actformer-demo``.
"""

from __future__ import annotations

import argparse
import reprlib
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from actformer_envs.env import ActformerEnv
from actformer_envs.instructions import instruction_name
from actformer_envs.registration import NAMESPACE

LONG_ENV_ID, LONG_LENGTH = "Actformer/Addition-v0", 1000
#: Pre-sampled steps of random actions, reused cyclically (the warm-up steps through them once).
ACTION_BLOCK = 64

_abbreviated = reprlib.Repr()
_abbreviated.maxlong = 40
_abbreviated.maxlist = 12


def registered_env_ids() -> list[str]:
    """Every registered ``Actformer/*`` id, in registration order."""
    return [env_id for env_id in gym.registry if env_id.startswith(f"{NAMESPACE}/")]


def run_expert(env: gym.Env, trace: bool) -> tuple[dict[str, Any], int]:
    """Step ``env`` (already reset) with its expert to the episode's end; (final info, steps).

    With ``trace``, prints one line per step: the step number and the instruction's name.
    """
    steps = 0
    unwrapped = cast(ActformerEnv, env.unwrapped)
    while True:
        action = unwrapped.expert_action()
        _, _, terminated, truncated, info = env.step(action)
        steps += 1
        if trace:
            print(f"  {steps:>4}  {instruction_name(action)}")
        if terminated or truncated:
            return info, steps


def summary(env_id: str, info: dict[str, Any], steps: int, length: int) -> str:
    """The one-line result of an episode: output, target, is_success, steps."""
    return (
        f"{env_id} length={length}: output={_abbreviated.repr(info['output'])} "
        f"target={_abbreviated.repr(info['target'])} is_success={info['is_success']} steps={steps}"
    )


def show_small_problem(env_id: str, length: int, seed: int) -> bool:
    """Pose a small problem, print the first frame, the expert's trace, the last frame and the result."""
    env = gym.make(env_id, render_mode="ansi", max_length=length)  # some tasks' default lengths are shorter
    env.reset(seed=seed, options={"length": length})
    print(f"== {env_id} ==")
    print(env.render())
    info, steps = run_expert(env, trace=True)
    print(env.render())
    print(summary(env_id, info, steps, length))
    print()
    env.close()
    return bool(info["is_success"])


def show_long_problem(seed: int) -> bool:
    """The expert on a 1000-digit addition: just the summary line (and how long it took)."""
    env = gym.make(LONG_ENV_ID, max_length=LONG_LENGTH)
    env.reset(seed=seed, options={"length": LONG_LENGTH})
    started = time.perf_counter()
    info, steps = run_expert(env, trace=False)
    elapsed = time.perf_counter() - started
    print(f"{summary(LONG_ENV_ID, info, steps, LONG_LENGTH)} ({elapsed:.1f} s)")
    env.close()
    return bool(info["is_success"])


def steps_per_second(step: Callable[[int], object], envs_per_call: int, seconds: float) -> float:
    """Env-steps/s of ``step(i)`` (i cycling through the action block) over ``seconds``, after a
    warm-up pass through the block."""
    for i in range(ACTION_BLOCK):
        step(i)
    calls = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        step(calls % ACTION_BLOCK)
        calls += 1
    return calls * envs_per_call / elapsed


def single_steps_per_second(env_id: str, seconds: float, seed: int = 0) -> float:
    """Env-steps/s of one env (``gym.make``) under uniformly random actions (pre-sampled, reused)."""
    env = gym.make(env_id)
    num_actions = cast(spaces.Discrete, env.action_space).n
    actions = np.random.default_rng(seed).integers(num_actions, size=ACTION_BLOCK).tolist()
    env.reset(seed=seed)

    def step(i: int) -> None:
        _, _, terminated, truncated, _ = env.step(actions[i])
        if terminated or truncated:
            env.reset()

    try:
        return steps_per_second(step, 1, seconds)
    finally:
        env.close()


def native_steps_per_second(env_id: str, num_envs: int, seconds: float, seed: int = 0) -> float:
    """Env-steps/s of the native vector env under uniformly random actions (pre-sampled, reused)."""
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    num_actions = cast(spaces.Discrete, envs.single_action_space).n
    batches = np.random.default_rng(seed).integers(num_actions, size=(ACTION_BLOCK, num_envs))
    envs.reset(seed=seed)
    try:
        return steps_per_second(lambda i: envs.step(batches[i]), num_envs, seconds)
    finally:
        envs.close()


def show_throughput(seconds: float, num_envs: int = 4096) -> None:
    """Measure, on this machine and now, a single env and the native vector env; print both and
    their ratio. (The full benchmark, with more configurations and repeats, is
    ``python -m benchmarks.throughput`` in a source checkout.)"""
    single = single_steps_per_second(LONG_ENV_ID, seconds)
    native = native_steps_per_second(LONG_ENV_ID, num_envs, seconds)
    print(f"Throughput of {LONG_ENV_ID} under random actions, {seconds:g} s each, measured now:")
    print(f"  {'single env (gym.make)':<30} {single:>12,.0f} steps/s")
    native_label = f"native vector env, {num_envs} envs"
    print(f"  {native_label:<30} {native:>12,.0f} steps/s ({native / single:,.0f}x the single env)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tour; the exit status is 0 when the expert solved every problem."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of every problem (default 0)")
    parser.add_argument("--length", type=int, default=3, help="length of the small problems (default 3)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.0,
        help="throughput measurement time per configuration, 0 to skip (default 1)",
    )
    args = parser.parse_args(argv)
    solved = [show_small_problem(env_id, args.length, args.seed) for env_id in registered_env_ids()]
    solved.append(show_long_problem(args.seed))
    if args.seconds > 0:
        print()
        show_throughput(args.seconds)
    return 0 if all(solved) else 1


if __name__ == "__main__":
    raise SystemExit(main())
