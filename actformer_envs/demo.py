"""A tour of the suite: the expert solving every task, a 1000-digit addition, and the env's speed
(measured on the spot: a single env against the native vector env).

Run it with ``python -m actformer_envs.demo`` or the console script ``actformer-demo``.
"""

from __future__ import annotations

import argparse
import reprlib
import time
from collections.abc import Sequence
from typing import Any, cast

import gymnasium as gym

from actformer_envs.env import as_info_value
from actformer_envs.instructions import instruction_name
from actformer_envs.registration import NAMESPACE
from actformer_envs.rollout import Rollout, Step
from actformer_envs.speed import steps_per_second
from actformer_envs.vector_env import ActformerVectorEnv

LONG_ENV_ID, LONG_LENGTH = "Actformer/Addition-v0", 1000

_abbreviated = reprlib.Repr()
_abbreviated.maxlong = 40
_abbreviated.maxlist = 12


def registered_env_ids() -> list[str]:
    """Every registered ``Actformer/*`` id, in registration order."""
    return [env_id for env_id in gym.registry if env_id.startswith(f"{NAMESPACE}/")]


def run_expert(env_id: str, length: int, seed: int, trace: bool, **kwargs: Any) -> tuple[dict[str, Any], int]:
    """One episode of the expert on a problem of ``length``, through the rollout loop every agent
    uses (``actformer_envs.rollout``) on a one-env vector env; (final info, steps).

    With ``trace``, prints the first frame, one line per step (the step number and the
    instruction's name) and the last frame.
    """
    env = cast(
        ActformerVectorEnv,
        gym.make_vec(
            env_id, num_envs=1, vectorization_mode="vector_entry_point", max_length=length, **kwargs
        ),
    )
    try:
        rollout = Rollout(env, seed=seed, options={"length": length}, episodes=1)
        if trace:
            print(first_frame(env))
        steps: list[Step] = []

        def show(step: Step) -> None:
            steps.append(step)
            if trace:
                print(f"  {len(steps):>4}  {instruction_name(int(step.actions[0]))}")

        rollout.run(lambda observation, mask: env.expert_action(), show)
        if trace:
            print(first_frame(env))
        infos = steps[-1].infos
        info = {key: as_info_value(infos[key][0]) for key in ("output", "target")}  # as a single env's
        return {**info, "is_success": bool(infos["is_success"][0])}, len(steps)
    finally:
        env.close()


def first_frame(env: ActformerVectorEnv) -> str:
    """Env 0's frame (``render_mode="ansi"``)."""
    return cast(tuple[str, ...], env.render())[0]


def summary(env_id: str, info: dict[str, Any], steps: int, length: int) -> str:
    """The one-line result of an episode: output, target, is_success, steps."""
    return (
        f"{env_id} length={length}: output={_abbreviated.repr(info['output'])} "
        f"target={_abbreviated.repr(info['target'])} is_success={info['is_success']} steps={steps}"
    )


def show_small_problem(env_id: str, length: int, seed: int) -> bool:
    """Pose a small problem, print the first frame, the expert's trace, the last frame and the result."""
    print(f"== {env_id} ==")
    info, steps = run_expert(env_id, length, seed, trace=True, render_mode="ansi")
    print(summary(env_id, info, steps, length))
    print()
    return bool(info["is_success"])


def show_long_problem(seed: int) -> bool:
    """The expert on a 1000-digit addition: just the summary line (and how long it took)."""
    started = time.perf_counter()
    info, steps = run_expert(LONG_ENV_ID, LONG_LENGTH, seed, trace=False)
    elapsed = time.perf_counter() - started
    print(f"{summary(LONG_ENV_ID, info, steps, LONG_LENGTH)} ({elapsed:.1f} s)")
    return bool(info["is_success"])


def show_throughput(seconds: float, num_envs: int = 4096) -> None:
    """Measure, on this machine and now, a single env and the native vector env; print both and
    their ratio. (The full benchmark, with more configurations and repeats, is
    ``python -m benchmarks.throughput`` in a source checkout.)"""
    single = steps_per_second(LONG_ENV_ID, "single", 1, seconds)
    native = steps_per_second(LONG_ENV_ID, "native", num_envs, seconds)
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
