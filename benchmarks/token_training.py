"""How the grid's token Transformers trained: per task, position scheme and seed, the optimizer steps
run, whether held-out exact match in range reached the target, the model's parameters and training
FLOPs, and the learning curves (held-out in-range exact match against optimizer steps).

Read from a ``generalization.json``'s cells (``benchmarks.generalization`` records each token
Transformer's ``stats``); cells of runs that predate the record (no ``curve``) are left out.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

#: The grid's token Transformer agents and their position schemes (``TokenTransformerConfig.positions``).
TRANSFORMER_POSITIONS = {
    "transformer": "rotary",
    "transformer-randomized": "randomized",
    "transformer-nope": "none",
    "transformer-abacus": "abacus",
}
#: How tables and charts name the schemes.
SCHEME_LABELS = {"rotary": "rotary", "randomized": "randomized", "none": "NoPE", "abacus": "Abacus"}


def scheme_label(agent: str) -> str:
    """The position scheme of a token Transformer agent, as tables name it."""
    return SCHEME_LABELS[TRANSFORMER_POSITIONS[agent]]


def training_runs(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per token Transformer cell with a recorded curve: task, agent, seed, the training
    length, its stats and config."""
    runs = []
    for cell in document["cells"]:
        agents = cell["agents"]
        if cell.get("status") != "ok" or len(agents) != 1 or agents[0] not in TRANSFORMER_POSITIONS:
            continue
        stats = cell["train"]["stats"]
        if "curve" not in stats:
            continue
        runs.append(
            {
                "task": cell["task"],
                "agent": agents[0],
                "seed": cell["seed"],
                "train_length": document["settings"]["train_lengths"][cell["task"]],
                "stats": stats,
                "config": cell["train"]["config"],
            }
        )
    tasks = list(document["settings"]["tasks"])
    return sorted(
        runs, key=lambda r: (tasks.index(r["task"]), list(TRANSFORMER_POSITIONS).index(r["agent"]), r["seed"])
    )


def seed_cell(run: dict[str, Any]) -> str:
    """A seed's training in a table cell: its last held-out in-range exact match and its steps."""
    stats = run["stats"]
    spent = "" if stats["reached_target"] else ", the whole budget"
    return f"{stats['accuracy']:.3f} after {stats['steps']:,} steps{spent}"


def training_markdown(document: dict[str, Any]) -> str:
    """The token Transformers' training as a Markdown table (empty string if none was recorded)."""
    runs = training_runs(document)
    if not runs:
        return ""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["task"], run["agent"]), []).append(run)
    seeds = sorted({run["seed"] for run in runs})
    lines = [
        "| task (trained on) | positions | parameters | "
        + " | ".join(f"seed {s}" for s in seeds)
        + " | seeds at the target | training FLOPs (mean) |",
        "|---|---|---:|" + "---|" * len(seeds) + "---:|---:|",
    ]
    for (task, agent), members in groups.items():
        by_seed = {run["seed"]: run for run in members}
        cells = [seed_cell(by_seed[s]) if s in by_seed else "" for s in seeds]
        reached = sum(int(run["stats"]["reached_target"]) for run in members)
        flops = sum(run["stats"]["flops"] for run in members) / len(members)
        lines.append(
            f"| {task} (≤ {members[0]['train_length']}) | {scheme_label(agent)} | "
            f"{members[0]['stats']['parameters']:,} | "
            + " | ".join(cells)
            + f" | {reached} of {len(members)} | "
            f"{flops:.1e} |"
        )
    config = runs[0]["config"]
    lines += [
        "",
        f"Held-out exact match in range (the same number of problems at every length 1..N) at the last "
        f"evaluation; training stops at {config['target_accuracy']:.2f} or after "
        f"{config['max_steps']:,} optimizer steps of {config['batch_size']} problems (evaluated every "
        f"{config['eval_every']} steps). FLOPs: 6 x parameters x training tokens.",
    ]
    return "\n".join(lines)


def draw_learning_curves(document: dict[str, Any], path: Path) -> bool:
    """Held-out in-range exact match against optimizer steps, one panel per task, a colour per
    position scheme, a line per seed; the target as a dotted line. False (nothing drawn) without
    recorded curves."""
    runs = training_runs(document)
    if not runs:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(run["task"] for run in runs))
    columns = min(3, len(tasks))
    rows = math.ceil(len(tasks) / columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(max(6.4, 4.2 * columns), 3.2 * rows), squeeze=False, sharey=True
    )
    colors = {agent: plt.get_cmap("tab10")(i) for i, agent in enumerate(TRANSFORMER_POSITIONS)}
    for axis, task in zip(axes.flat, tasks, strict=False):
        for run in (r for r in runs if r["task"] == task):
            curve = run["stats"]["curve"]
            axis.plot(
                [point["step"] for point in curve],
                [point["accuracy"] for point in curve],
                color=colors[run["agent"]],
                linestyle=("-", "--", ":", "-.")[run["seed"] % 4],
                linewidth=1.2,
                marker=".",
                markersize=3,
                label=f"{scheme_label(run['agent'])}, seed {run['seed']}",
            )
        axis.axhline(run["config"]["target_accuracy"], color="grey", linestyle=":", linewidth=0.8)
        axis.set_title(f"{task} (trained on ≤ {run['train_length']})")
        axis.set_xlabel(f"optimizer steps (batch {run['config']['batch_size']})")
        axis.set_ylim(-0.03, 1.03)
        axis.grid(True, alpha=0.3)
    for axis in axes[:, 0]:
        axis.set_ylabel("held-out exact match in range")
    for axis in list(axes.flat)[len(tasks) :]:
        axis.set_visible(False)
    handles: list[Any] = []
    labels: list[str] = []
    for axis in list(axes.flat)[: len(tasks)]:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    figure.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), frameon=False, fontsize=7)
    figure.suptitle("Token Transformers: held-out exact match in range while training", fontsize=11)
    legend_rows = math.ceil(len(labels) / min(6, len(labels)))
    figure.tight_layout(rect=(0, min(0.45, 0.035 * legend_rows * 3 / rows), 1, 1))
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True
