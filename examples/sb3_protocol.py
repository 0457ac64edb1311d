"""Score an SB3 model on the suite's length-generalization protocol (``benchmarks/protocol.py``),
the way the project's own agents are scored: same problems, lengths, caps and output files.

    python examples/sb3_protocol.py --timesteps 20000 --seeds 1
    python examples/sb3_protocol.py --timesteps 256 --episodes 4 --multipliers 1 2  # a quick look
    python -m benchmarks.protocol --agent examples.sb3_protocol:make_agent --name "MaskablePPO (mine)"

``make_agent(task, seed)`` trains sb3-contrib's MaskablePPO (``MultiInputPolicy``) on the task's
training lengths and returns its greedy, masked ``predict`` as the protocol's policy: a callable
from the batched observation and action masks to one action per env.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from sb3_contrib import MaskablePPO

from actformer_envs.tasks.registry import env_id

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the repository's, not installed
from benchmarks.common import fresh_run_dir
from benchmarks.generalization import PLANS_BY_TASK, write_outputs
from benchmarks.protocol import add_multipliers_flag, score

TIMESTEPS = 20_000


def make_agent(task: str, seed: int, timesteps: int = TIMESTEPS) -> Callable[[Any, Any], np.ndarray]:
    """MaskablePPO trained on ``task`` at its protocol training lengths for ``timesteps`` env-steps."""
    env = gym.make(env_id(task), max_length=PLANS_BY_TASK[task].train_length)
    model = MaskablePPO(
        "MultiInputPolicy", env, n_steps=256, batch_size=64, seed=seed, device="cpu", verbose=0
    )
    model.learn(timesteps)
    env.close()

    def policy(observation: dict[str, np.ndarray], action_mask: np.ndarray | None) -> np.ndarray:
        actions, _ = model.predict(observation, deterministic=True, action_masks=action_mask)
        return actions

    return policy


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["Copy"], help="task names (default Copy)")
    parser.add_argument(
        "--timesteps", type=int, default=TIMESTEPS, help=f"env-steps per model (default {TIMESTEPS:,})"
    )
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 (default 1)")
    parser.add_argument(
        "--episodes", type=int, default=100, help="problems per seed and length (default 100)"
    )
    add_multipliers_flag(parser)
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: benchmarks/runs/protocol-<UTC time>/)"
    )
    args = parser.parse_args(argv)
    document = score(
        lambda task, seed: make_agent(task, seed, args.timesteps),
        "MaskablePPO (example)",
        tasks=args.tasks,
        seeds=args.seeds,
        episodes=args.episodes,
        multipliers=args.multipliers,
        training=f"MaskablePPO MultiInputPolicy from scratch, {args.timesteps:,} env-steps",
    )
    folder = args.out or fresh_run_dir("protocol")
    folder.mkdir(parents=True, exist_ok=True)
    write_outputs(document, folder, smoke=False)
    return 1 if document["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
