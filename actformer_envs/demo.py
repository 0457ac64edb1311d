"""A tour of the suite: the expert solving every task, a 1000-digit addition, and the env's speed.

Run it with ``python -m actformer_envs.demo`` or the console script ``actformer-demo``.
"""

from __future__ import annotations

import argparse
import json
import reprlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from actformer_envs.instructions import instruction_name
from actformer_envs.registration import NAMESPACE

#: The committed benchmark results (present in a source checkout, absent from an installed wheel).
THROUGHPUT_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "throughput.json"
LONG_ENV_ID, LONG_LENGTH = "Actformer/Addition-v0", 1000

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
    while True:
        action = env.unwrapped.expert_action()
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


def native_steps_per_second(env_id: str, num_envs: int, seconds: float, seed: int = 0) -> float:
    """Env-steps/s of the native vector env under uniformly random actions (pre-sampled, reused)."""
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    batches = np.random.default_rng(seed).integers(envs.single_action_space.n, size=(64, num_envs))
    envs.reset(seed=seed)
    for actions in batches:  # warm-up
        envs.step(actions)
    calls = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        envs.step(batches[calls % len(batches)])
        calls += 1
    envs.close()
    return calls * num_envs / elapsed


def show_throughput(seconds: float, num_envs: int = 4096) -> None:
    """Print the committed benchmark table (if present), then measure the native vector env briefly."""
    if THROUGHPUT_RESULTS.is_file():
        results = json.loads(THROUGHPUT_RESULTS.read_text(encoding="utf-8"))
        print(f"Committed throughput ({THROUGHPUT_RESULTS.name}, `python benchmarks/throughput.py`):")
        print(results["markdown"])
        print()
    rate = native_steps_per_second(LONG_ENV_ID, num_envs, seconds)
    print(f"Now, {LONG_ENV_ID} native vector env, {num_envs} envs, {seconds:g} s: {rate:,.0f} steps/s")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tour; the exit status is 0 when the expert solved every problem."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of every problem (default 0)")
    parser.add_argument("--length", type=int, default=3, help="length of the small problems (default 3)")
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="throughput measurement time, 0 to skip (default 1)"
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
