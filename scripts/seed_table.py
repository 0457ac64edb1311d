"""Per-seed exact match of train-suite runs of two commits, side by side: the evidence a change of
the random or numeric stream lands with (every seed, every length, before and after).

    python -m scripts.seed_table --before B0.json B1.json ... --after A0.json A1.json ... \\
        --output benchmarks/results/NAME.json

Each file is the ``DIR/train_suite.json`` of ``python -m benchmarks.train_suite --seed S --tasks ...
--out DIR`` (one seed per file). The JSON output keeps every run's rows and settings; the Markdown
table (printed, and written beside the JSON) reads one line per task, seed and policy.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The policies a train-suite row scores: (name, key of its exact match).
POLICIES = (("imitation + PPO", "exact_match"), ("imitation only", "exact_match_imitation_only"))


def seed_of(run: dict[str, Any]) -> int:
    """The seed a train-suite run was given (its ``--seed``, 0 if not given)."""
    words = run["command"].split()
    return int(words[words.index("--seed") + 1]) if "--seed" in words else 0


def cells(row: dict[str, Any], key: str) -> str:
    return ", ".join(f"{length}: {value['exact_match']:.3f}" for length, value in row[key].items())


def table(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    """One Markdown line per task, seed and policy: exact match per length before and after."""
    lines = [
        "| task | seed | policy | before | after |",
        "|---|---:|---|---|---|",
    ]
    runs = {("before", seed_of(run)): run for run in before} | {("after", seed_of(run)): run for run in after}
    seeds = sorted({seed for _, seed in runs})
    tasks = list(dict.fromkeys(row["task"] for run in runs.values() for row in run["rows"]))
    for task in tasks:
        for seed in seeds:
            for policy, key in (
                ("imitation + PPO", "exact_match"),
                ("imitation only", "exact_match_imitation_only"),
            ):
                shown = []
                for side in ("before", "after"):
                    rows = [
                        row for row in runs.get((side, seed), {"rows": []})["rows"] if row["task"] == task
                    ]
                    shown.append(cells(rows[0], key) if rows else "(not run)")
                lines.append(f"| {task} | {seed} | {policy} | {shown[0]} | {shown[1]} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--before", type=Path, nargs="+", required=True)
    parser.add_argument("--after", type=Path, nargs="+", required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--title", default="Exact match per seed, before and after")
    parser.add_argument("--before-commit", required=True, help="the commit the --before runs ran")
    parser.add_argument("--after-commit", required=True, help="the commit the --after runs ran")
    parser.add_argument(
        "--kernels", required=True, help="the pinned kernel path, e.g. ATEN_CPU_CAPABILITY=avx2"
    )
    args = parser.parse_args(argv)
    before = [json.loads(path.read_text(encoding="utf-8")) for path in args.before]
    after = [json.loads(path.read_text(encoding="utf-8")) for path in args.after]
    machine = before[0]["machine"]
    context = (
        f"_before: {args.before_commit}, after: {args.after_commit}; {machine['cpu_model']}, "
        f"{machine['cpu_count']} CPUs, torch {before[0]['torch']}, {args.kernels}; each run: "
        f"`{before[0]['command']}` with its seed._"
    )
    markdown = f"### {args.title}\n\n{table(before, after)}\n\n{context}\n"
    document = {
        "title": args.title,
        "commits": {"before": args.before_commit, "after": args.after_commit},
        "kernels": args.kernels,
        "before": before,
        "after": after,
        "markdown": markdown,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    args.output.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
