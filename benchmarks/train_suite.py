"""Train the Actformer on every task's short problems; measure exact match far beyond them.

Per task: warm start (behaviour cloning + DAgger) then PPO with shaped rewards, on problems up to a
short training length, timed from scratch; then greedy exact match at the training length and at
longer ones (10x and 100x where the expert's episodes stay affordable), over a fixed number of
problems each. Addition also faces adversarial carry chains at every length.

    python -m benchmarks.train_suite                        # every task (about 20 minutes on 2 cores)
    python -m benchmarks.train_suite --tasks Addition Copy  # some tasks (space-separated)
    python -m benchmarks.train_suite --quick                # smoke test: tiny budgets
    python -m benchmarks.train_suite --update-results       # refresh benchmarks/results/
    python -m benchmarks.train_suite --update-results --update --tasks Addition  # rerun one row of it

Results: ``train_suite.json`` in a fresh ``benchmarks/runs/train_suite-<UTC time>/`` (``--out DIR``:
there; ``--update-results``: the committed ``benchmarks/results/``), and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from actformer_envs.rollout import Rollout, Step
from actformer_envs.tasks import TASKS
from actformer_envs.tasks.registry import env_id
from actformer_gym.agents.baselines import Agent
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.evaluate import exact_match
from actformer_gym.train.trainer import Trainer
from benchmarks.common import (
    DEFAULT_TOTAL_STEPS,
    PLANS,
    QUICK_HELP,
    Plan,
    add_output_flags,
    add_tasks_flag,
    announce_smoke,
    check_output_flags,
    expand_all,
    machine_info,
    merge_rows,
    output_dir,
    plan_settings,
    positive,
    run_stamp,
    write_results,
)

RESULTS_NAME = "train_suite.json"
QUICK_EPISODES, QUICK_STEPS = 8, 2048


def solves(policy: Agent, env_id: str, problems: Sequence[Any], length: int) -> list[bool]:
    """Whether the greedy policy (any ``Agent``) solves each posed problem: one episode each, all at
    once in a vector env of one env per problem (``reset(options={"problems": ...})``)."""
    if not problems:
        return []
    env = gym.make_vec(
        env_id, num_envs=len(problems), vectorization_mode="vector_entry_point", max_length=length
    )
    solved = np.zeros(len(problems), dtype=bool)

    def record(step: Step) -> None:
        ended = step.ended & step.counted
        if ended.any():
            solved[ended] = np.asarray(step.infos["is_success"], dtype=bool)[ended]

    try:
        Rollout(env, seed=0, options={"problems": list(problems)}, episodes=len(problems)).run(
            policy.act, record
        )
    finally:
        env.close()
    return solved.tolist()


#: ``--quick``: a warm start small enough for a smoke test.
QUICK_IMITATION = {"imitation_pairs": 1000, "imitation_epochs": 2, "dagger_steps": 256}


def policies(trainer: Trainer) -> dict[str, torch.nn.Module]:
    """The policy after the warm start alone, and after PPO on top, both in eval mode."""
    return {"imitation": trainer.warm_policy.eval(), "imitation + PPO": trainer.policy.eval()}


def evaluate(policy: torch.nn.Module, plan: Plan, episodes: int, seed: int) -> dict[str, dict[str, float]]:
    """Greedy exact match at each of the plan's lengths, with its run time."""
    results = {}
    for length in plan.eval_lengths:
        began = time.perf_counter()
        score = exact_match(
            policy,
            env_id(plan.task),
            length,
            episodes,
            seed=seed + 10_000,
            num_envs=min(episodes, 256),
        )
        results[str(length)] = {
            "exact_match": score,
            "episodes": episodes,
            "seconds": time.perf_counter() - began,
        }
    return results


def run_plan(
    plan: Plan, total_steps: int, episodes: int | None, seed: int, **overrides: Any
) -> dict[str, Any]:
    """Train on ``plan.task`` from scratch, then evaluate; one result row."""
    config = TrainConfig.from_flat(**plan_settings(plan, total_steps, seed, **overrides))
    started = time.perf_counter()
    trainer = Trainer(config)
    warm = trainer.warm_start()
    while not trainer.done():
        metrics = trainer.iterate()
    train_seconds = time.perf_counter() - started
    count = episodes or plan.episodes
    results = {name: evaluate(policy, plan, count, seed) for name, policy in policies(trainer).items()}
    row: dict[str, Any] = {
        "task": plan.task,
        "settings": dict(plan.settings),
        "train_length": plan.train_length,
        "train_seconds": train_seconds,
        "env_steps": trainer.global_step,
        "warm_start": warm,
        "final_training_success_rate": metrics["charts/success_rate"],
        "exact_match": results["imitation + PPO"],
        "exact_match_imitation_only": results["imitation"],
    }
    if plan.task == "Addition":
        row["adversarial"] = {
            str(length): solves(
                trainer.policy, config.env.env_id, TASKS["Addition"](10).adversarial_problems(length), length
            )
            for length in plan.eval_lengths
        }
    return row


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| task | trained on | train time | exact match, imitation + PPO (problems) | imitation only "
        "| adversarial |",
        "|---|---:|---:|---|---|---|",
    ]
    for row in rows:
        scores = ", ".join(
            f"{length}: {r['exact_match']:.3f} ({r['episodes']})" for length, r in row["exact_match"].items()
        )
        alone = row.get("exact_match_imitation_only")
        alone_text = (
            ", ".join(f"{length}: {r['exact_match']:.3f}" for length, r in alone.items())
            if alone
            else "not measured"
        )
        adversarial = ""
        if "adversarial" in row:
            solved = sum(sum(v) for v in row["adversarial"].values())
            total = sum(len(v) for v in row["adversarial"].values())
            adversarial = f"{solved}/{total} solved"
        trained = f"≤ {row['train_length']} | {row['train_seconds']:.0f} s"
        lines.append(f"| {row['task']} | {trained} | {scores} | {alone_text} | {adversarial} |")
    return "\n".join(lines)


def provenance(rows: list[dict[str, Any]], machine: dict[str, Any]) -> str:
    """Where and by which runs the rows were measured (``--update`` mixes runs)."""
    runs = {(row["run"]["date"], row["run"]["command"]): row["task"] for row in rows if "run" in row}
    by_run = [
        f"`{command}` ({date}): {', '.join(r['task'] for r in rows if r.get('run', {}).get('date') == date)}"
        for date, command in runs
    ]
    return (
        f"_{machine['cpu_model']}, {machine['cpu_count']} CPUs, torch {torch.__version__}, 1 thread. Runs: "
        + ("; ".join(by_run) + "._")
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    names = [plan.task for plan in PLANS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_tasks_flag(parser, names)
    parser.add_argument(
        "--total-steps",
        type=positive(int),
        default=DEFAULT_TOTAL_STEPS,
        help="PPO env-steps per task after the warm start",
    )
    parser.add_argument(
        "--episodes", type=positive(int), default=None, help="problems per length (default: per task)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_HELP} ({QUICK_STEPS} steps, {QUICK_EPISODES} problems)"
    )
    add_output_flags(parser, "train_suite")
    parser.add_argument(
        "--update",
        action="store_true",
        help=f"keep the other tasks' rows of the {RESULTS_NAME} already in the output folder, else of "
        "the committed one (each row records its own run)",
    )
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    chosen = expand_all(args.tasks, names)
    args.plans = [plan for plan in PLANS if plan.task in chosen]
    if args.quick:
        args.total_steps, args.episodes = QUICK_STEPS, args.episodes or QUICK_EPISODES
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(1)  # tiny models: one thread is fastest, and fair on a shared machine
    announce_smoke(args.quick)
    started = time.perf_counter()
    date, command = run_stamp("train_suite", argv)
    rows = []
    for plan in args.plans:
        overrides = QUICK_IMITATION if args.quick else {}
        row = run_plan(plan, args.total_steps, args.episodes, args.seed, **overrides)
        row["run"] = {"date": date, "command": command}
        print(markdown_table([row]).splitlines()[-1], file=sys.stderr)
        rows.append(row)
    folder = output_dir(args, "train_suite")
    rows = merge_rows(rows, folder, RESULTS_NAME, [plan.task for plan in PLANS], args.update)
    machine = machine_info(with_torch=False)  # torch's version is the document's own key
    document = {
        "benchmark": "train_suite",
        "date": date,
        "command": command,
        "settings": {
            "total_steps": args.total_steps,
            "episodes": args.episodes,
            "seed": args.seed,
            "quick": args.quick,
        },
        "machine": machine,
        "torch": torch.__version__,
        "rows": rows,
        "total_seconds": time.perf_counter() - started,
        "markdown": markdown_table(rows) + "\n\n" + provenance(rows, machine),
    }
    write_results(folder, RESULTS_NAME, document, smoke=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
