"""History ablation: the same behaviour cloning with the action history (history_length=8) and without (0).

For each weight decay (the tuned 0.3 of ``tests/test_imitation.py``, and 0, plain Adam), each
history length and each seed: collect expert pairs from 1-3 digit Addition, train a fresh
``ActformerPolicy`` by behaviour cloning (``actformer_gym.train.imitation``), then report the final
training loss, greedy exact match on held-out problems of 3, 30 and 100 digits, the per-decision
error rate on the expert's own 100-digit trajectories, how often the greedy action changes when the history is
blanked or shuffled between samples (how much the policy reads it), and wall times. Results go to a
Markdown table on stdout and to ``history_ablation.json`` in a fresh
``benchmarks/runs/history_ablation-<UTC time>/`` (``--out DIR``: there; ``--update-results``: the
committed ``benchmarks/results/``).

    python -m benchmarks.history_ablation                       # seeds 0-4; about 4.5 minutes on 2 cores
    python -m benchmarks.history_ablation --seeds 0 1 --weight-decays 0.3   # lists are space-separated
    python -m benchmarks.history_ablation --quick               # smoke test: tiny run, numbers meaningless
    python -m benchmarks.history_ablation --update-results      # refresh benchmarks/results/
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from actformer_envs import NO_ACTION
from actformer_gym.agents import ActformerPolicy
from actformer_gym.train import behaviour_cloning, collect_expert_data, exact_match
from benchmarks.common import (
    QUICK_HELP,
    add_output_flags,
    announce_smoke,
    at_least,
    check_output_flags,
    fill_unset,
    machine_info,
    output_dir,
    positive,
    run_stamp,
    torch_context_line,
    write_results,
)

ENV_ID = "Actformer/Addition-v0"
HISTORY_LENGTHS = (8, 0)
WEIGHT_DECAYS = (0.3, 0.0)
EVAL_LENGTHS = (3, 30, 100)
#: Training data and behaviour cloning, as in tests/test_imitation.py.
TRAIN_MIN_LENGTH, TRAIN_MAX_LENGTH, TRAIN_STEPS, EPOCHS, BATCH_SIZE, LR = 1, 3, 20_000, 20, 256, 3e-3
QUICK = {"steps": 2_000, "epochs": 2, "episodes": 20, "seeds": [0], "weight_decays": [0.3]}
#: Held-out problems: evaluation seeds far from the training seeds (seed .. seed + num_envs - 1).
EVAL_SEED = 10_000
#: Whole expert episodes of 100 digits on which the per-decision error and history reliance are read.
PROBE_EPISODES = 32


def train_policy(
    history_length: int, weight_decay: float, seed: int, steps: int, epochs: int
) -> tuple[ActformerPolicy, list[float]]:
    """Behaviour cloning of a fresh default ``ActformerPolicy`` on 1-3 digit Addition."""
    kwargs = {
        "min_length": TRAIN_MIN_LENGTH,
        "max_length": TRAIN_MAX_LENGTH,
        "history_length": history_length,
    }
    data = collect_expert_data(ENV_ID, steps=steps, num_envs=64, seed=seed, **kwargs)
    env = gym.make_vec(ENV_ID, num_envs=1, vectorization_mode="vector_entry_point", **kwargs)
    try:
        torch.manual_seed(seed)
        policy = ActformerPolicy(env.unwrapped.single_observation_space, device="cpu")
        mask = env.unwrapped.action_masks()[0]
    finally:
        env.close()
    losses = behaviour_cloning(
        policy,
        data,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        lr=LR,
        seed=seed,
        action_mask=mask,
        weight_decay=weight_decay,
        progress=False,
    )
    return policy, losses


def probe(policy: ActformerPolicy, history_length: int, seed: int) -> dict[str, float | None]:
    """On the expert's own 100-digit episodes: the policy's per-decision error rate, and the
    fraction of its greedy actions that change when the history is blanked (all NO_ACTION) or
    shuffled between samples (None without a history)."""
    observations, actions = collect_expert_data(
        ENV_ID,
        episodes=PROBE_EPISODES,
        seed=seed,
        min_length=100,
        max_length=100,
        history_length=history_length,
    )
    greedy = policy.act(observations)
    result: dict[str, float | None] = {
        "decision_error_rate_100": float((greedy != actions).mean()),
        "changed_by_blanked_history": None,
        "changed_by_shuffled_history": None,
    }
    if history_length:
        blank = dict(observations, history=np.full_like(observations["history"], NO_ACTION))
        order = np.random.default_rng(seed).permutation(len(actions))
        shuffled = dict(observations, history=observations["history"][order])
        result["changed_by_blanked_history"] = float((policy.act(blank) != greedy).mean())
        result["changed_by_shuffled_history"] = float((policy.act(shuffled) != greedy).mean())
    return result


def run(history_length: int, weight_decay: float, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One trained policy and everything measured on it."""
    started = time.perf_counter()
    policy, losses = train_policy(history_length, weight_decay, seed, args.steps, args.epochs)
    trained = time.perf_counter()
    exact = {
        str(length): exact_match(
            policy,
            ENV_ID,
            length,
            episodes=args.episodes,
            seed=EVAL_SEED + length,
            num_envs=args.episodes,
            history_length=history_length,
        )
        for length in EVAL_LENGTHS
    }
    probed = probe(policy, history_length, EVAL_SEED)
    return {
        "history_length": history_length,
        "weight_decay": weight_decay,
        "seed": seed,
        "parameters": sum(p.numel() for p in policy.parameters()),
        "final_loss": losses[-1],
        "losses": losses,
        "exact_match": exact,
        **probed,
        "train_seconds": trained - started,
        "eval_seconds": time.perf_counter() - trained,
    }


def summarize(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (weight decay, history length): means over seeds, and the worst seed's exact match."""
    groups: dict[tuple[float, int], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["weight_decay"], r["history_length"]), []).append(r)
    rows = []
    for (weight_decay, history_length), group in groups.items():

        def mean(key: str, group: list[dict[str, Any]] = group) -> float | None:
            values = [r[key] for r in group]
            return None if values[0] is None else statistics.fmean(values)

        rows.append(
            {
                "weight_decay": weight_decay,
                "history_length": history_length,
                "seeds": [r["seed"] for r in group],
                "parameters": group[0]["parameters"],
                "final_loss_mean": mean("final_loss"),
                "exact_match_mean": {
                    length: statistics.fmean(r["exact_match"][length] for r in group)
                    for length in group[0]["exact_match"]
                },
                "exact_match_min": {
                    length: min(r["exact_match"][length] for r in group) for length in group[0]["exact_match"]
                },
                "decision_error_rate_100_mean": mean("decision_error_rate_100"),
                "changed_by_blanked_history_mean": mean("changed_by_blanked_history"),
                "changed_by_shuffled_history_mean": mean("changed_by_shuffled_history"),
                "train_seconds_mean": mean("train_seconds"),
                "eval_seconds_mean": mean("eval_seconds"),
            }
        )
    return rows


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """The summary rows as a Markdown table: exact match as mean (worst seed)."""
    lengths = list(rows[0]["exact_match_mean"])
    head = " | ".join(f"EM@{length} mean (min)" for length in lengths)
    lines = [
        f"| weight decay | history_length | seeds | final loss | {head} | decision error @100 "
        "| actions changed by blank / shuffled history | train s |",
        "|---:|---:|---:|---:|" + "---:|" * len(lengths) + "---:|---:|---:|",
    ]
    for row in rows:
        exact = " | ".join(
            f"{row['exact_match_mean'][length]:.3f} ({row['exact_match_min'][length]:.3f})"
            for length in lengths
        )
        blanked, shuffled = row["changed_by_blanked_history_mean"], row["changed_by_shuffled_history_mean"]
        changed = "-" if blanked is None else f"{blanked:.2e} / {shuffled:.2e}"
        lines.append(
            f"| {row['weight_decay']:g} | {row['history_length']} | {len(row['seeds'])} "
            f"| {row['final_loss_mean']:.2e} | {exact} | {row['decision_error_rate_100_mean']:.2e} "
            f"| {changed} | {row['train_seconds_mean']:.1f} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; ``--quick`` shrinks whatever was not given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seeds",
        type=at_least(int, 0),
        nargs="+",
        default=None,
        metavar="SEED",
        help="seeds, space-separated (default 0 1 2 3 4)",
    )
    parser.add_argument(
        "--weight-decays",
        type=at_least(float, 0.0),
        nargs="+",
        default=None,
        metavar="DECAY",
        help="BC weight decays, space-separated (default 0.3 0)",
    )
    parser.add_argument(
        "--steps", type=positive(int), default=None, help=f"expert pairs per run (default {TRAIN_STEPS})"
    )
    parser.add_argument("--epochs", type=positive(int), default=None, help=f"BC epochs (default {EPOCHS})")
    parser.add_argument(
        "--episodes", type=positive(int), default=None, help="evaluation problems per length (default 200)"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HELP} (unless given: {QUICK})")
    parser.add_argument(
        "--threads",
        type=positive(int),
        default=1,
        help="torch.set_num_threads first (default 1: fastest here)",
    )
    add_output_flags(parser, "history_ablation")
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    defaults = {
        "steps": TRAIN_STEPS,
        "epochs": EPOCHS,
        "episodes": 200,
        "seeds": [0, 1, 2, 3, 4],
        "weight_decays": list(WEIGHT_DECAYS),
    }
    fill_unset(args, QUICK if args.quick else defaults)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Train and evaluate every variant, print the table, write the JSON; the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    announce_smoke(args.quick)
    started = time.perf_counter()
    runs = []
    for weight_decay in args.weight_decays:
        for history_length in HISTORY_LENGTHS:
            for seed in args.seeds:
                result = run(history_length, weight_decay, seed, args)
                exact = ", ".join(f"@{k} {v:.3f}" for k, v in result["exact_match"].items())
                print(
                    f"weight_decay {weight_decay:g} history_length {history_length} seed {seed}: "
                    f"loss {result['final_loss']:.2e}, exact match {exact} "
                    f"({result['train_seconds']:.0f} s + {result['eval_seconds']:.0f} s)",
                    file=sys.stderr,
                )
                runs.append(result)
    rows = summarize(runs)
    date, command = run_stamp("history_ablation", argv)
    machine = machine_info()
    context = torch_context_line(machine, command, date)
    document = {
        "benchmark": "history_ablation",
        "date": date,
        "command": command,
        "settings": {
            "env_id": ENV_ID,
            "train_lengths": [TRAIN_MIN_LENGTH, TRAIN_MAX_LENGTH],
            "steps": args.steps,
            "epochs": args.epochs,
            "batch_size": BATCH_SIZE,
            "lr": LR,
            "weight_decays": args.weight_decays,
            "history_lengths": list(HISTORY_LENGTHS),
            "seeds": args.seeds,
            "eval_lengths": list(EVAL_LENGTHS),
            "eval_episodes": args.episodes,
            "eval_seed": EVAL_SEED,
            "probe_episodes": PROBE_EPISODES,
            "policy": "ActformerPolicy defaults (d_model 16, 2 heads, hidden 64), CPU",
        },
        "machine": machine,
        "summary": rows,
        "runs": runs,
        "markdown": f"{markdown_table(rows)}\n\n{context}",
        "total_seconds": time.perf_counter() - started,
    }
    folder = output_dir(args, "history_ablation")
    write_results(folder, "history_ablation.json", document, smoke=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
