"""RL from scratch: PPO and A2C without the warm start, shaped and sparse rewards, on short problems.

For each task (Addition at max length 3, Copy and Reverse at 5), each algorithm (PPO, A2C) and each
reward mode (shaped, sparse), ``actformer_gym.train.trainer.Trainer`` trains a fresh ``ActformerPolicy`` with
``imitation=False`` for a fixed budget of env-steps, under the default length curriculum (problems
uniform in [1, current], lengthened at 90 % success up to the max length). Every iteration's
training success rate, episodic return and curriculum length are recorded against env-steps (the
learning curves, in the JSON file); at the end the greedy exact match at the max length is measured.
Two more runs per task, warm start (behaviour cloning + DAgger) then PPO under each reward mode for
the same RL budget, measure in the same run what the warm start is worth (and whether RL keeps it:
greedy exact match is also measured right after the warm start). Torch runs on one thread.
Results go to a Markdown table on stdout and to ``rl_from_scratch.json`` and ``.md`` in a fresh
``benchmarks/runs/rl_from_scratch-<UTC time>/`` (``--out DIR``: there; ``--update-results``: the
committed ``benchmarks/results/``).

    python -m benchmarks.rl_from_scratch                     # 3 tasks x 6 runs, 300k env-steps each
    python -m benchmarks.rl_from_scratch --steps 1000000 --seeds 3 --tasks Addition Copy
    python -m benchmarks.rl_from_scratch --tasks Copy --quick  # smoke test: tiny budget
    python -m benchmarks.rl_from_scratch --update-results    # refresh benchmarks/results/
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from actformer_gym.train.config import TrainConfig
from actformer_gym.train.trainer import Trainer
from benchmarks.common import (
    QUICK_HELP,
    add_output_flags,
    announce_smoke,
    check_output_flags,
    expand_all,
    machine_info,
    name_of,
    output_dir,
    positive,
    run_stamp,
    torch_context_line,
    write_results,
)

#: Task -> training max length (short: the question is whether RL finds the procedure at all).
TASK_LENGTHS = {"Addition": 3, "Copy": 5, "Reverse": 5}
ALGORITHMS = {"PPO": "ppo", "A2C": "a2c"}  # name in the tables: the config's algo
REWARD_MODES = ("shaped", "sparse")
DEFAULT_STEPS, DEFAULT_SEEDS, DEFAULT_EVAL_EPISODES = 300_000, 1, 256
#: --quick: a few iterations with small rollouts, a small warm start; for tests only.
QUICK = {"steps": 2048, "eval_episodes": 32, "num_envs": 16, "imitation_pairs": 500, "imitation_epochs": 1}
#: The final training success rate is the mean over the iterations of the budget's last fraction.
FINAL_FRACTION = 0.1


@dataclass(frozen=True)
class Run:
    """One training run."""

    task: str
    algorithm: str  # a key of ALGORITHMS
    reward_mode: str
    warm_start: bool
    seed: int

    @property
    def name(self) -> str:
        start = "warm start + " if self.warm_start else ""
        return f"{self.task} {start}{self.algorithm} {self.reward_mode} seed {self.seed}"


def runs(tasks: Sequence[str], seeds: int) -> list[Run]:
    """Per task and seed: PPO and A2C from scratch, then warm start + PPO, under each reward mode."""
    result = []
    for task in tasks:
        for seed in range(seeds):
            for algorithm in ALGORITHMS:
                result.extend(Run(task, algorithm, mode, False, seed) for mode in REWARD_MODES)
            result.extend(Run(task, "PPO", mode, True, seed) for mode in REWARD_MODES)
    return result


def make_config(run: Run, args: argparse.Namespace) -> TrainConfig:
    """The run's config: the algorithm's defaults, except the budget, lengths and warm start."""
    length = TASK_LENGTHS[run.task]
    extra: dict[str, Any] = {}
    if args.quick:
        extra = {key: QUICK[key] for key in ("num_envs", "imitation_pairs", "imitation_epochs")}
        extra["dagger_steps"] = 256
    return TrainConfig.from_flat(
        ALGORITHMS[run.algorithm],
        task=run.task,
        seed=run.seed,
        device="cpu",
        total_steps=args.steps,
        reward_mode=run.reward_mode,
        imitation=run.warm_start,
        max_length=length,
        eval_lengths=(length,),
        eval_episodes=args.eval_episodes,
        **extra,
    )


def finite(value: float) -> float | None:
    """``value`` rounded for the JSON file, or None for NaN (no episode ended)."""
    return round(value, 4) if math.isfinite(value) else None


def train(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """Train ``run`` for the budget; its learning curve, final figures and timings."""
    config = make_config(run, args)
    started = time.perf_counter()
    trainer = Trainer(config)
    warm = trainer.warm_start()
    warm_seconds = time.perf_counter() - started
    length = TASK_LENGTHS[run.task]
    # What RL starts from: the warm start's greedy exact match (a fresh policy's is not measured).
    before = trainer.evaluate((length,), args.eval_episodes)[length] if run.warm_start else None
    curve: dict[str, list[Any]] = {key: [] for key in ("steps", "success_rate", "episodic_return", "length")}
    rl_started = time.perf_counter()
    while not trainer.done():
        metrics = trainer.iterate()
        curve["steps"].append(trainer.global_step)
        curve["success_rate"].append(finite(metrics["charts/success_rate"]))
        curve["episodic_return"].append(finite(metrics["charts/episodic_return"]))
        curve["length"].append(int(metrics["charts/curriculum_length"]))
    rl_seconds = time.perf_counter() - rl_started
    exact = trainer.evaluate((length,), args.eval_episodes)[length]
    tail = max(1, math.ceil(FINAL_FRACTION * len(curve["steps"])))
    final = [value for value in curve["success_rate"][-tail:] if value is not None]
    returns = [value for value in curve["episodic_return"][-tail:] if value is not None]
    return {
        "task": run.task,
        "algorithm": run.algorithm,
        "reward_mode": run.reward_mode,
        "warm_start": run.warm_start,
        "seed": run.seed,
        "max_length": length,
        "steps": trainer.global_step,
        "iterations": trainer.iteration,
        "final_success_rate": sum(final) / len(final) if final else None,
        "final_episodic_return": sum(returns) / len(returns) if returns else None,
        "final_curriculum_length": curve["length"][-1],
        "exact_match": exact,
        "exact_match_before_rl": before,
        "warm_start_seconds": warm_seconds if run.warm_start else 0.0,
        "warm_start_metrics": warm,
        "rl_seconds": rl_seconds,
        "wall_seconds": time.perf_counter() - started,
        "curve": curve,
    }


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def markdown_table(results: Sequence[dict[str, Any]]) -> str:
    """One row per run: final training success, curriculum length reached, exact match, steps, time."""
    lines = [
        "| task (max length) | algorithm | reward | seed | final success (train) | curriculum length "
        "| exact match @ max length | before RL | env-steps | wall s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        algorithm = f"warm start + {r['algorithm']}" if r["warm_start"] else f"{r['algorithm']} (scratch)"
        lines.append(
            f"| {r['task']} ({r['max_length']}) | {algorithm} | {r['reward_mode']} | {r['seed']} "
            f"| {percent(r['final_success_rate'])} | {r['final_curriculum_length']} / {r['max_length']} "
            f"| {percent(r['exact_match'])} | {percent(r['exact_match_before_rl'])} "
            f"| {r['steps']:,} | {r['wall_seconds']:.0f} |"
        )
    lines.append("")
    lines.append(
        f"Final success: sampled-policy success rate of the training episodes over the last "
        f"{FINAL_FRACTION:.0%} of iterations (at the curriculum's lengths, uniform in [1, current]). "
        "Exact match: greedy policy, problems of exactly the max length; before RL: the same measured "
        "right after the warm start. Wall time includes the "
        "warm start (about 20-25 s) where there is one."
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; ``--quick`` sets the budget and evaluation episodes that were not given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tasks",
        type=name_of(list(TASK_LENGTHS), "task"),
        nargs="+",
        default=["all"],
        metavar="TASK",
        help=f"tasks, space-separated, from {' '.join(TASK_LENGTHS)} (default: all)",
    )
    parser.add_argument(
        "--steps", type=positive(int), default=None, help=f"RL env-steps per run (default {DEFAULT_STEPS:,})"
    )
    parser.add_argument(
        "--seeds", type=positive(int), default=DEFAULT_SEEDS, help="seeds 0..N-1 per run (default 1)"
    )
    parser.add_argument(
        "--eval-episodes",
        type=positive(int),
        default=None,
        help=f"greedy episodes of the final exact match (default {DEFAULT_EVAL_EPISODES})",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_HELP} (tiny budget, 16 envs, tiny warm start)"
    )
    add_output_flags(parser, "rl_from_scratch")
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    args.tasks = expand_all(args.tasks, list(TASK_LENGTHS))
    if args.steps is None:
        args.steps = QUICK["steps"] if args.quick else DEFAULT_STEPS
    if args.eval_episodes is None:
        args.eval_episodes = QUICK["eval_episodes"] if args.quick else DEFAULT_EVAL_EPISODES
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run every configuration, print the table, write the JSON and Markdown files; the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(1)  # the benchmark machine is shared; also what makes runs comparable
    announce_smoke(args.quick)
    started = time.perf_counter()
    results = []
    for run in runs(args.tasks, args.seeds):
        result = train(run, args)
        print(
            f"{run.name:<40} success {percent(result['final_success_rate']):>8} "
            f"length {result['final_curriculum_length']} exact {percent(result['exact_match']):>8} "
            f"({result['wall_seconds']:.0f} s)",
            file=sys.stderr,
        )
        results.append(result)
    date, command = run_stamp("rl_from_scratch", argv)
    machine = machine_info()
    table = markdown_table(results)
    document = {
        "benchmark": "rl_from_scratch",
        "date": date,
        "command": command,
        "settings": {
            "steps_per_run": args.steps,
            "seeds": args.seeds,
            "eval_episodes": args.eval_episodes,
            "task_max_lengths": {task: TASK_LENGTHS[task] for task in args.tasks},
            "quick": args.quick,
            "configs": {
                f"{run.algorithm}{' warm' if run.warm_start else ''}": make_config(run, args).to_dict()
                for run in runs(args.tasks[:1], 1)
                if run.reward_mode == "shaped"
            },
            "curriculum": "default: start length 1, +1 at 90 % success over 256 episodes, up to max length",
            "final_success_rate": f"mean per-iteration success rate over the last {FINAL_FRACTION:.0%}",
            "curve": "per iteration: env-steps so far, success rate and mean return of the episodes that "
            "ended in its rollout (null when none did), curriculum max length",
        },
        "machine": machine,
        "results": results,
        "markdown": f"{table}\n\n{torch_context_line(machine, command, date)}",
        "total_seconds": time.perf_counter() - started,
    }
    folder = output_dir(args, "rl_from_scratch")
    write_results(folder, "rl_from_scratch.json", document, smoke=args.quick, markdown_file=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
