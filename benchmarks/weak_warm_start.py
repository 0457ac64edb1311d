"""RL after a weak warm start: behaviour cloning on a few expert pairs (no DAgger), then the same
env-step budget of PPO with and without the KL anchor to the clone; greedy exact match before and
after, at the training length and at 10x.

The question is whether RL improves an imperfect imitation instead of holding still. Each
(task, seed) and view (``VIEWS``: the whole local observation, or the task's declared reads)
clones ``WARM_PAIRS`` expert pairs once (no DAgger, no fit on the verification set: a deliberately
weak start); every arm (``ARMS``) then starts from that same clone (checked parameter for
parameter) and runs ``--steps`` env-steps of the project's PPO on ``RECIPE``: the ``dense``
reward, no entropy bonus and no weight decay. The arms differ only in the penalty on
KL(policy || clone): held at 1.0 (``kl_coef``, the trainer's default), 0, or decayed linearly from
1.0 to 0 over the first half of the budget (``kl_anneal_steps``: a scheduled anchor); variants'
arms: ``slow anchor`` decays it over the whole budget, ``floored anchor`` to 0.2 over the first half
and holds it there (``kl_coef_final``) (``DEFAULT_ARMS`` are the first three). Greedy
exact match at the training length is checked every ``--check-every`` env-steps
(``--check-episodes`` problems; the curves of the chart); the final policy, and the clone before
it, are measured on ``--eval-episodes`` problems of exactly 1x and 10x the training length (the
same problems for both). The training length is the task's recipe's (``Task.recipe``). Torch runs
on one thread.

Results: a Markdown table (per task, view and arm: seeds whose exact match RL raised, at 1x and
10x; then every run, before -> after) on stdout and in ``weak_warm_start.md``; every run with its checks in
``weak_warm_start.json``; the curves as ``weak_warm_start.png``; in a fresh
``benchmarks/runs/weak_warm_start-<UTC time>/`` (``--out DIR``: there; ``--update-results``: the
committed ``benchmarks/results/``).

    python -m benchmarks.weak_warm_start                       # Multiplication and Sort, 3 seeds
    python -m benchmarks.weak_warm_start --tasks Sort --seeds 1
    python -m benchmarks.weak_warm_start --arms "scheduled anchor"  # some arms (each from its clone)
    python -m benchmarks.weak_warm_start --update-results      # refresh benchmarks/results/
    python -m benchmarks.weak_warm_start --merge A/weak_warm_start.json B/weak_warm_start.json
    python -m benchmarks.weak_warm_start --tasks Sort --quick  # smoke test: tiny budget

Variants (each its own result, as none merges with another's settings): ``--train-length N``
clones and trains on lengths 1..N instead of the recipe's (and measures at N and 10N),
``--warm-pairs N`` clones on N expert pairs, ``--views`` runs some views, ``--rl-length N`` keeps
the clone (lengths up to the training length) and runs RL on problems of lengths 1..N, the imitation
data stopping at the training length (``imitation_max_length``), still measured at 1x and 10x the
training length, ``--arms "slow anchor"`` runs that arm, ``--count-bonus BETA`` adds the trainer's
count-based exploration bonus to RL:

    python -m benchmarks.weak_warm_start --tasks Sort --train-length 6 --views projected
    python -m benchmarks.weak_warm_start --tasks Multiplication --warm-pairs 1000 --views projected
    python -m benchmarks.weak_warm_start --tasks Sort --rl-length 10 --views projected
    python -m benchmarks.weak_warm_start --tasks Sort --train-length 6 --arms "slow anchor"
    python -m benchmarks.weak_warm_start --tasks Multiplication --warm-pairs 1650 --views projected \
        --arms "floored anchor" --steps 4000000 --count-bonus 0.05
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from actformer_gym.train.config import EnvSettings, TrainConfig
from actformer_gym.train.trainer import Trainer
from benchmarks.common import (
    PLANS,
    QUICK_HELP,
    SMOKE_BANNER,
    Plan,
    add_output_flags,
    add_tasks_flag,
    announce_smoke,
    at_least,
    check_output_flags,
    expand_all,
    fill_unset,
    machine_info,
    output_dir,
    positive,
    run_stamp,
    runs_note,
    source_revision,
    torch_context_line,
    with_pins_and_commit,
    write_results,
)

TASKS = ("Multiplication", "Sort")
#: Each task's plan: its recipe's training length (and history length).
TASK_PLANS: dict[str, Plan] = {plan.task: plan for plan in PLANS if plan.task in TASKS}
MULTIPLIERS = (1, 10)
#: Expert pairs of the weak clone (the recipes' full imitation takes 60,000 and DAgger).
WARM_PAIRS = 3000
#: The arms: the weight of KL(policy || clone) in the RL loss (``kl_coef``), the share of the
#: budget over which it decays linearly (``kl_anneal_steps``; None: held throughout), and the weight
#: it decays to and then holds (``kl_coef_final``; absent: 0).
ARMS: dict[str, dict[str, float | None]] = {
    "KL anchor": {"kl_coef": 1.0, "anneal_share": None},
    "no anchor": {"kl_coef": 0.0, "anneal_share": None},
    "scheduled anchor": {"kl_coef": 1.0, "anneal_share": 0.5},
    "slow anchor": {"kl_coef": 1.0, "anneal_share": 1.0},
    "floored anchor": {"kl_coef": 1.0, "anneal_share": 0.5, "kl_coef_final": 0.2},
}
#: The arms a run makes unless ``--arms`` says otherwise (the main results' arms); any other makes
#: a variant.
DEFAULT_ARMS = ("KL anchor", "no anchor", "scheduled anchor")
#: The policy's views (``projected``): the whole local observation, or what the task's expert reads.
VIEWS = {"full": False, "projected": True}
#: The training config of every run besides the task, seed, budget, view and KL penalty.
RECIPE: dict[str, Any] = {
    "imitation_pairs": WARM_PAIRS,
    "dagger_rounds": 0,
    "reward_mode": "dense",
    "ent_coef": 0.0,
    "weight_decay": 0.0,
}
DEFAULTS = {"steps": 2_000_000, "check_every": 131_072, "check_episodes": 200, "eval_episodes": 500}
#: --quick: a few iterations with small rollouts; for tests only.
QUICK = {"steps": 2048, "check_every": 1024, "check_episodes": 4, "eval_episodes": 4}
QUICK_ENVS = 16
QUICK_PAIRS = 256


def kl_settings(arm: str, budget: int) -> dict[str, Any]:
    """``kl_coef``, ``kl_anneal_steps`` and ``kl_coef_final`` of ``arm`` for a budget of ``budget``
    env-steps."""
    share = ARMS[arm]["anneal_share"]
    return {
        "kl_coef": ARMS[arm]["kl_coef"],
        "kl_anneal_steps": None if share is None else max(1, round(share * budget)),
        "kl_coef_final": ARMS[arm].get("kl_coef_final", 0.0),
    }


def train_length(task: str, args: argparse.Namespace) -> int:
    """The longest problem the clone and RL train on: ``--train-length``, else the recipe's."""
    return args.train_length or TASK_PLANS[task].train_length


def rl_length(task: str, args: argparse.Namespace) -> int:
    """The longest problem RL trains on: ``--rl-length``, else the training length."""
    return args.rl_length or train_length(task, args)


def make_config(task: str, seed: int, view: str, arm: str, args: argparse.Namespace) -> TrainConfig:
    """The training config of one arm of ``(task, seed, view)``."""
    plan, length, longest = TASK_PLANS[task], train_length(task, args), rl_length(task, args)
    quick = {"num_envs": QUICK_ENVS} if args.quick else {}
    return TrainConfig.from_flat(
        "ppo",
        task=task,
        seed=seed,
        device="cpu",
        total_steps=args.steps,
        max_length=longest,
        start_length=longest,  # (no curriculum: every length up to it from the start)
        imitation_max_length=length,  # (the clone's problems: up to the training length)
        history_length=dict(plan.settings).get("history_length", EnvSettings().history_length),
        projected=VIEWS[view],
        **kl_settings(arm, args.steps),
        eval_lengths=(length,),
        eval_episodes=args.check_episodes,
        **{**recipe(args), **quick},
    )


def recipe(args: argparse.Namespace) -> dict[str, Any]:
    """``RECIPE`` with the run's expert pairs, and its count bonus where ``--count-bonus`` sets one."""
    bonus = {"count_bonus": args.count_bonus} if args.count_bonus else {}
    return {**RECIPE, "imitation_pairs": args.warm_pairs, **bonus}


def exact(trainer: Trainer, length: int, episodes: int) -> dict[str, float]:
    """Greedy exact match of the trainer's policy at 1x and 10x ``length``, by multiplier."""
    scores = trainer.evaluate(tuple(m * length for m in MULTIPLIERS), episodes)
    return {str(m): scores[m * length] for m in MULTIPLIERS}


def same_parameters(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def run_clone(task: str, seed: int, view: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every arm of ``(task, seed, view)`` from one clone: a row per arm, with the clone's exact match."""
    rows, clone, before = [], None, None
    length = train_length(task, args)
    for arm in args.arms:
        started = time.perf_counter()
        trainer = Trainer(make_config(task, seed, view, arm, args))
        warm = trainer.warm_start()
        if clone is None:
            clone = {key: value.clone() for key, value in trainer.policy.state_dict().items()}
            before = exact(trainer, length, args.eval_episodes)
        elif not same_parameters(clone, trainer.policy.state_dict()):
            raise RuntimeError(
                f"{task} seed {seed} ({view} view): the arms' clones differ (imitation is not deterministic)"
            )
        checks: dict[str, list[float]] = {"steps": [0], "exact_match": [before["1"]]}
        next_check = args.check_every
        while not trainer.done():
            trainer.iterate()
            if trainer.global_step >= next_check or trainer.done():
                next_check = (trainer.global_step // args.check_every + 1) * args.check_every
                checks["steps"].append(trainer.global_step)
                checks["exact_match"].append(trainer.evaluate()[length])
        rows.append(
            {
                "task": task,
                "view": view,
                "arm": arm,
                **kl_settings(arm, args.steps),
                "seed": seed,
                "train_length": length,
                "rl_length": rl_length(task, args),
                "budget": args.steps,
                "steps": trainer.global_step,
                "imitation_bc_loss": warm.get("imitation/bc_loss"),
                "before": before,
                "after": exact(trainer, length, args.eval_episodes),
                "checks": checks,
                "wall_seconds": time.perf_counter() - started,
            }
        )
    return rows


# -- tables and chart ----------------------------------------------------------------------------


def percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def penalty(row: dict[str, Any]) -> str:
    """A row's KL penalty in words: its weight, and its decay if scheduled."""
    anneal = row.get("kl_anneal_steps")  # (absent from rows made before the scheduled arm)
    final = row.get("kl_coef_final", 0.0)  # (absent from rows made before the floored arm)
    if anneal is None:
        return f"{row['kl_coef']:g}"
    return f"{row['kl_coef']:g} to {final:g} over {anneal:,}" + (f", then {final:g}" if final else "")


def markdown_table(
    rows: Sequence[dict[str, Any]],
    budget: int,
    warm_pairs: int,
    rl_longest: int | None = None,
    count_bonus: float = 0.0,
) -> str:
    """Per (task, view, arm): the seeds RL raised (and lowered) at 1x and 10x; then one line per
    run, the clone's exact match beside the final policy's."""
    lines = [
        "| task | view | arm | KL penalty | seeds raised at 1x | at 10x | seeds lowered at 1x | at 10x |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for key in dict.fromkeys((r["task"], r["view"], r["arm"]) for r in rows):
        group = [r for r in rows if (r["task"], r["view"], r["arm"]) == key]
        n, cells = len(group), []
        for compare in (float.__gt__, float.__lt__):
            for m in MULTIPLIERS:
                count = sum(compare(float(r["after"][str(m)]), float(r["before"][str(m)])) for r in group)
                cells.append(f"{count} of {n}")
        lines.append(f"| {' | '.join(key)} | {penalty(group[0])} | {' | '.join(cells)} |")
    lines += [
        "",
        "| task | view | arm | seed | length | clone 1x | after RL | clone 10x | after RL |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = " | ".join(
            f"{percent(r['before'][str(m)])} | {percent(r['after'][str(m)])}" for m in MULTIPLIERS
        )
        lines.append(
            f"| {r['task']} | {r['view']} | {r['arm']} | {r['seed']} | {r['train_length']} | {cells} |"
        )
    lines += ["", footnote(rows, budget, warm_pairs, rl_longest, count_bonus)]
    return "\n".join(lines)


#: The footnote's words for each view, and for each arm's KL penalty (``ARMS``).
VIEW_WORDS = {
    "full": "the whole local observation (`full`)",
    "projected": "what the task's expert reads (`projected`)",
}
ARM_WORDS = {
    "KL anchor": "held at 1 (KL anchor, the trainer's default)",
    "no anchor": "held at 0 (no anchor)",
    "scheduled anchor": "decayed linearly from 1 to 0 over the first half of the budget (scheduled anchor)",
    "slow anchor": "decayed linearly from 1 to 0 over the whole budget (slow anchor)",
    "floored anchor": (
        "decayed linearly from 1 to 0.2 over the first half of the budget and held at 0.2 after it "
        "(floored anchor)"
    ),
}


def footnote(
    rows: Sequence[dict[str, Any]],
    budget: int,
    warm_pairs: int,
    rl_longest: int | None,
    count_bonus: float = 0.0,
) -> str:
    """What the table's runs did: the clone, the views and arms that ``rows`` hold, and RL's budget."""
    views = " or ".join(VIEW_WORDS[view] for view in VIEWS if any(r["view"] == view for r in rows))
    penalties = [ARM_WORDS[arm] for arm in ARMS if any(r["arm"] == arm for r in rows)]
    bonus = f", a count bonus of {count_bonus:g} (`--count-bonus`)" if count_bonus else ""
    recipe = f"`dense` reward, no entropy bonus{bonus}, no weight decay{rl_problems(rl_longest)}"
    if len(penalties) > 1:
        listed = f"{', '.join(penalties[:-1])}, or {penalties[-1]}"
        ppo = (
            f"PPO per arm from that same clone ({recipe}); the arms differ only in the KL penalty to "
            f"the clone: {listed}"
        )
    else:
        ppo = f"PPO from the clone ({recipe}) with the KL penalty to it {''.join(penalties)}"
    return (
        f"Clone: behaviour cloning on {warm_pairs:,} expert pairs, no DAgger, seeing {views}; then "
        f"{budget:,} env-steps of {ppo}. Exact match: greedy actions, problems of exactly 1x and 10x "
        "the training length (the row's length), the same problems for the clone and after RL."
    )


def rl_problems(rl_longest: int | None) -> str:
    """The footnote's words for RL's problems where they are longer than the clone's."""
    return (
        ""
        if rl_longest is None
        else f"; RL on problems of lengths 1..{rl_longest}, the clone's up to the row's length"
    )


def draw_chart(
    rows: Sequence[dict[str, Any]], path: Path, budget: int, warm_pairs: int, smoke: bool = False
) -> None:
    """Greedy exact match at the training length against env-steps, a panel per task (rows) and
    view (columns), a color per arm and a marker per seed, each curve offset a little so equal ones
    stay apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in rows))
    views = [view for view in VIEWS if any(r["view"] == view for r in rows)]
    seeds = sorted({r["seed"] for r in rows})
    curves = list(dict.fromkeys((r["arm"], r["seed"]) for r in rows))
    figure, axes = plt.subplots(
        len(tasks),
        len(views),
        figsize=(max(4.6 * len(views) + 1, 7.5), 3.4 * len(tasks) + 1.2),  # (room for the title)
        squeeze=False,
    )
    colors = {name: plt.get_cmap("tab10")(i) for i, name in enumerate(ARMS)}
    for (task, view), axis in zip(itertools.product(tasks, views), axes.flat, strict=True):
        panel = [r for r in rows if (r["task"], r["view"]) == (task, view)]
        for r in panel:
            offset = 0.01 * (curves.index((r["arm"], r["seed"])) - (len(curves) - 1) / 2)
            axis.plot(
                [s / 1e6 for s in r["checks"]["steps"]],
                [v + offset for v in r["checks"]["exact_match"]],
                marker="os^vDPXh"[seeds.index(r["seed"]) % 8],
                markersize=3,
                linewidth=1,
                color=colors[r["arm"]],
                label=f"{r['arm']} seed {r['seed']}",
            )
        length = f"length {panel[0]['train_length']}" if panel else "?"
        if panel and panel[0].get("rl_length", panel[0]["train_length"]) != panel[0]["train_length"]:
            length += f", RL to {panel[0]['rl_length']}"
        axis.set_title(f"{task}, {view} view ({length})")
        axis.set_ylim(-0.05, 1.05)
        axis.grid(True, alpha=0.3)
    for axis in axes[-1, :]:
        axis.set_xlabel("RL env-steps after the clone (millions)")
    for axis in axes[:, 0]:
        axis.set_ylabel("greedy exact match, training length")
    handles: dict[str, Any] = {}
    for axis in axes.flat:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    per_line = max(1, len(seeds))
    figure.legend(
        handles.values(), handles.keys(), loc="lower center", ncol=per_line, frameon=False, fontsize=8
    )
    title = (
        f"PPO after a weak clone ({warm_pairs:,} expert pairs): {len(seeds)} seed(s), {budget:,} env-steps"
    )
    figure.suptitle(f"{SMOKE_BANNER}\n{title}" if smoke else title, color="darkred" if smoke else "black")
    height = 3.4 * len(tasks) + 1.2
    figure.tight_layout(rect=(0, 0.22 * math.ceil(len(handles) / per_line) / height + 0.02, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


# -- command line ----------------------------------------------------------------------------------


#: Why a variant may not replace the main committed results.
VARIANT_OVER_MAIN = (
    "--update-results alone replaces the main results: write a variant (--train-length, --rl-length, "
    "--warm-pairs, --count-bonus, an arm beyond the default ones) with --out DIR"
)


def is_variant(settings: dict[str, Any]) -> bool:
    """Whether a run's settings are a variant's: other lengths or expert pairs than the recipes', a
    count bonus (the flag's, or a results file's recipe's), or an arm the main results do not have
    (``arms``: names, or a dict by name)."""
    return (
        bool(settings.get("train_length") or settings.get("rl_length"))
        or bool(settings.get("count_bonus") or (settings.get("recipe") or {}).get("count_bonus"))
        or settings["warm_pairs"] != WARM_PAIRS
        or any(arm not in DEFAULT_ARMS for arm in settings.get("arms", ()))
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_tasks_flag(parser, TASKS)
    parser.add_argument("--seeds", type=positive(int), default=3, help="seeds per task (default 3)")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument(
        "--arms",
        nargs="+",
        choices=list(ARMS),
        default=list(DEFAULT_ARMS),
        metavar="ARM",
        help=f"the arms to run, each from the same clone: {', '.join(map(repr, ARMS))} (default all but "
        f"{', '.join(repr(arm) for arm in ARMS if arm not in DEFAULT_ARMS)})",
    )
    parser.add_argument(
        "--views",
        nargs="+",
        choices=list(VIEWS),
        default=list(VIEWS),
        metavar="VIEW",
        help=f"the policy's views to run: {', '.join(VIEWS)} (default both)",
    )
    for flag, what in (
        (
            "train_length",
            "clone and train on lengths 1..N, measure at N and 10N (default: each task's recipe's)",
        ),
        ("rl_length", "RL on problems of lengths 1..N, the clone's unchanged (default: the training length)"),
        ("warm_pairs", f"expert pairs of the clone (default {WARM_PAIRS:,}; --quick: {QUICK_PAIRS})"),
        ("steps", f"RL env-steps per arm (default {DEFAULTS['steps']:,})"),
        (
            "check_every",
            f"env-steps between greedy checks at the training length (default {DEFAULTS['check_every']:,})",
        ),
        ("check_episodes", f"problems per check (default {DEFAULTS['check_episodes']:,})"),
        (
            "eval_episodes",
            f"problems per length of the before/after evaluation (default {DEFAULTS['eval_episodes']:,})",
        ),
    ):  # (None: unset, filled in after parsing)
        parser.add_argument(f"--{flag.replace('_', '-')}", type=positive(int), default=None, help=what)
    parser.add_argument(
        "--count-bonus",
        type=at_least(float, 0.0),
        default=0.0,
        metavar="BETA",
        help="RL's count-based exploration bonus, BETA / sqrt(N) per decision (the trainer's --count-bonus; "
        "default 0: off)",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="train nothing: write the rows of these weak_warm_start.json files (split runs) as one result",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HELP} (tiny budget, 16 envs)")
    add_output_flags(parser, "weak_warm_start")
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    if args.first_seed < 0:
        parser.error(f"--first-seed must be >= 0, got {args.first_seed}")
    args.tasks = expand_all(args.tasks, list(TASKS))
    args.arms = [arm for arm in ARMS if arm in args.arms]  # (in the table's order, once each)
    args.views = [view for view in VIEWS if view in args.views]
    fill_unset(args, QUICK if args.quick else DEFAULTS)
    if args.warm_pairs is None:
        args.warm_pairs = QUICK_PAIRS if args.quick else WARM_PAIRS
    if args.update_results and args.out is None and is_variant(vars(args)):
        parser.error(VARIANT_OVER_MAIN)
    for task in [] if args.merge else args.tasks:
        if rl_length(task, args) < train_length(task, args):
            parser.error(f"--rl-length must be >= {task}'s training length {train_length(task, args)}")
        try:  # (the env's own limits, said in one line)
            make_config(task, args.first_seed, args.views[0], args.arms[0], args)
        except ValueError as error:
            parser.error(str(error))
    return args


#: What the files merged into one result must agree on (and ``arms``: on every arm two files ran).
MERGED_SETTINGS = (
    "multipliers",
    "warm_pairs",
    "views",
    "budget",
    "check_every",
    "eval_episodes",
    "recipe",
    "train_length",
    "rl_length",
)
#: Settings that files made before their flags lack (read as None: the recipes' lengths).
OPTIONAL_SETTINGS = ("train_length", "rl_length")


def order(row: dict[str, Any]) -> tuple[int, int, int, int]:
    """Rows by task, seed, view and arm (the order a run makes them in)."""
    return (
        TASKS.index(row["task"]),
        row["seed"],
        list(VIEWS).index(row["view"]),
        list(ARMS).index(row["arm"]),
    )


def arms_run(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The arms a results file ran, by name (a file made before the scheduled arm recorded each
    arm's ``kl_coef`` alone: held throughout)."""
    return {
        name: arm if isinstance(arm, dict) else {"kl_coef": arm, "anneal_share": None}
        for name, arm in settings["arms"].items()
    }


def merged(paths: Sequence[Path]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows of several results files (a later file's row replaces an earlier one of the same
    task, arm and seed) and their settings, with every arm any of them ran; ``ValueError`` if the
    files' settings differ, or two files ran an arm of the same name differently."""
    rows: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    settings: dict[str, Any] = {}
    arms: dict[str, dict[str, Any]] = {}
    for path in paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        own = {
            key: document["settings"].get(key) if key in OPTIONAL_SETTINGS else document["settings"][key]
            for key in MERGED_SETTINGS
        }
        if settings and own != {key: settings.get(key) for key in MERGED_SETTINGS}:
            raise ValueError(f"{path} was run with other settings than {paths[0]}")
        own_arms = arms_run(document["settings"])
        clashing = sorted(name for name in own_arms.keys() & arms.keys() if own_arms[name] != arms[name])
        if clashing:
            raise ValueError(f"{path} ran the arm(s) {clashing} otherwise than an earlier file")
        arms.update(own_arms)
        settings = settings or dict(document["settings"])
        for row in document["results"]:
            rows[(row["task"], row["view"], row["arm"], row["seed"])] = row
    settings["arms"] = {name: arms[name] for name in ARMS if name in arms}
    ordered = sorted(rows.values(), key=order)
    return ordered, settings


def main(argv: Sequence[str] | None = None) -> int:
    """Run every (task, seed) and arm (or merge files), print the table, write JSON, Markdown, chart."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    missing = [str(path) for path in args.merge if not path.is_file()]
    if missing:
        print(f"--merge: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)  # the benchmark machine is shared; also what makes runs comparable
    announce_smoke(args.quick)
    started = time.perf_counter()
    date, command = run_stamp("weak_warm_start", argv)
    machine = machine_info()
    revision = source_revision()
    settings = {
        "multipliers": list(MULTIPLIERS),
        "warm_pairs": args.warm_pairs,
        "train_length": args.train_length,
        "rl_length": args.rl_length,
        "arms": {arm: ARMS[arm] for arm in args.arms},
        "views": VIEWS,
        "budget": args.steps,
        "check_every": args.check_every,
        "check_episodes": args.check_episodes,
        "eval_episodes": args.eval_episodes,
        "recipe": recipe(args),
        "quick": args.quick,
    }
    if args.merge:
        try:
            results, settings = merged(args.merge)
        except ValueError as error:  # (a file that is no JSON is a ValueError too)
            print(f"--merge: {error}", file=sys.stderr)
            return 2
        except (KeyError, TypeError) as error:
            print(f"--merge: not a weak_warm_start results file (missing {error})", file=sys.stderr)
            return 2
        if args.update_results and args.out is None and is_variant(settings):
            print(f"--merge: {VARIANT_OVER_MAIN}", file=sys.stderr)
            return 2
    else:
        results = []
        run_record = {
            "date": date,
            "command": command,
            "revision": revision,
            "kernel_env": machine["kernel_env"],
        }
        for task in args.tasks:
            seeds = range(args.first_seed, args.first_seed + args.seeds)
            for seed, view in itertools.product(seeds, args.views):
                for row in run_clone(task, seed, view, args):
                    row["run"] = run_record
                    change = ", ".join(
                        f"{m}x {percent(row['before'][str(m)])} -> {percent(row['after'][str(m)])}"
                        for m in MULTIPLIERS
                    )
                    print(
                        f"{task} {view} view, {row['arm']}, seed {seed}: {change} "
                        f"({row['wall_seconds']:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
                    results.append(row)
    notes = runs_note(results)
    table = markdown_table(
        results,
        settings["budget"],
        settings["warm_pairs"],
        settings.get("rl_length"),
        settings["recipe"].get("count_bonus", 0.0),
    ) + "".join(f"\n\n{note}" for note in notes)
    context = with_pins_and_commit(torch_context_line(machine, command, date), machine, revision)
    document = {
        "benchmark": "weak_warm_start",
        "date": date,
        "command": command,
        "revision": revision,
        "settings": {**settings, "merged": [str(path) for path in args.merge]},
        "machine": machine,
        "results": results,
        "markdown": f"{table}\n\n{context}",
        "total_seconds": time.perf_counter() - started,
    }
    folder = output_dir(args, "weak_warm_start")
    draw_chart(
        results, folder / "weak_warm_start.png", settings["budget"], settings["warm_pairs"], smoke=args.quick
    )
    write_results(
        folder,
        "weak_warm_start.json",
        document,
        smoke=args.quick,
        markdown_file=True,
        also=["weak_warm_start.png"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
