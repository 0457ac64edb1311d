"""How many actions each mask leaves an agent: the task's allowed instructions against the valid ones.

For every task, two native vector envs run in lockstep from the same seeds: one with the default
``mask_mode="allowed"`` (the task's instructions), one with ``mask_mode="valid"`` (of those, the ones
that would not fault in the state: a WRITE of a register that holds no digit is left out). Both take
the same actions, drawn uniformly from the valid mask (what a masked agent that knows nothing yet
does), so they pass through the same states; the mean number of actions each mask allows per state
is reported, with the fraction of states where the two differ. Results go to a Markdown table on
stdout and to ``action_masks.json`` and ``.md`` in a fresh ``benchmarks/runs/action_masks-<UTC
time>/`` (``--out DIR``: there; ``--update-results``: the committed ``benchmarks/results/``).

    python -m benchmarks.action_masks                   # every task, 64 envs x 500 steps
    python -m benchmarks.action_masks --tasks Copy Addition --steps 100
    python -m benchmarks.action_masks --quick           # smoke test: 8 envs x 20 steps
    python -m benchmarks.action_masks --update-results  # refresh benchmarks/results/
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs.tasks import TASKS
from actformer_envs.tasks.registry import env_id
from benchmarks.common import (
    QUICK_HELP,
    add_output_flags,
    add_tasks_flag,
    announce_smoke,
    check_output_flags,
    context_line,
    expand_all,
    fill_unset,
    machine_info,
    output_dir,
    positive,
    run_stamp,
    source_revision,
    with_pins_and_commit,
    write_results,
)

DEFAULTS = {"num_envs": 64, "steps": 500}
QUICK = {"num_envs": 8, "steps": 20}
SEED = 0


def measure(task: str, num_envs: int, steps: int, seed: int = SEED) -> dict[str, Any]:
    """Mean allowed and valid actions per state of ``task`` over ``num_envs x steps`` states."""
    make = {"num_envs": num_envs, "vectorization_mode": "vector_entry_point"}
    allowed_env = gym.make_vec(env_id(task), **make)
    valid_env = gym.make_vec(env_id(task), mask_mode="valid", **make)
    rng = np.random.default_rng(seed)
    _, allowed_info = allowed_env.reset(seed=seed)
    _, valid_info = valid_env.reset(seed=seed)
    allowed_counts, valid_counts, differ = [], [], []
    for _ in range(steps):
        allowed, valid = np.asarray(allowed_info["action_mask"]), np.asarray(valid_info["action_mask"])
        allowed_counts.append(allowed.sum(1))
        valid_counts.append(valid.sum(1))
        differ.append((allowed != valid).any(1))
        # One uniform draw among each env's valid actions (every state keeps at least HALT).
        choice = (rng.random(num_envs) * valid.sum(1)).astype(np.int64)
        actions = (valid.cumsum(1) > choice[:, None]).argmax(1)
        *_, allowed_info = allowed_env.step(actions)
        *_, valid_info = valid_env.step(actions)
    allowed_env.close()
    valid_env.close()
    return {
        "task": task,
        "states": num_envs * steps,
        "mean_allowed": float(np.mean(allowed_counts)),
        "mean_valid": float(np.mean(valid_counts)),
        "states_where_they_differ": float(np.mean(differ)),
    }


def markdown(rows: Sequence[dict[str, Any]], context: str) -> str:
    lines = [
        "| task | states | allowed actions per state (mean) | valid (mean) | states where they differ |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['task']} | {row['states']:,} | {row['mean_allowed']:.1f} | {row['mean_valid']:.1f} "
            f"| {row['states_where_they_differ']:.1%} |"
        )
    lines += ["", "States of uniformly random valid actions, the same in both envs (lockstep).", "", context]
    return "\n".join(lines)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_tasks_flag(parser, list(TASKS))
    parser.add_argument(
        "--num-envs", type=positive(int), default=None, help=f"envs per task (default {DEFAULTS['num_envs']})"
    )
    parser.add_argument(
        "--steps", type=positive(int), default=None, help=f"steps per env (default {DEFAULTS['steps']})"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HELP} ({QUICK})")
    add_output_flags(parser, "action_masks")
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    args.tasks = [task for task in TASKS if task in expand_all(args.tasks, list(TASKS))]
    fill_unset(args, QUICK if args.quick else DEFAULTS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    announce_smoke(args.quick)
    date, command = run_stamp("action_masks", argv)
    rows = [measure(task, args.num_envs, args.steps) for task in args.tasks]
    machine, revision = machine_info(with_torch=False), source_revision()
    document = {
        "benchmark": "action_masks",
        "date": date,
        "command": command,
        "revision": revision,
        "settings": {"tasks": args.tasks, "num_envs": args.num_envs, "steps": args.steps, "seed": SEED},
        "machine": machine,
        "rows": rows,
        "markdown": markdown(
            rows, with_pins_and_commit(context_line(machine, command, date), machine, revision)
        ),
    }
    write_results(
        output_dir(args, "action_masks"), "action_masks.json", document, smoke=args.quick, markdown_file=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
