"""Closure of the verification sets: does the set of observations the expert visits on training-length
problems already hold every observation it visits on longer ones?

For every single task at its recipe's training lengths (1 up to ``Recipe.train_length``, or
``--train-length``) and in two views of the observation (``--views``): ``full``, every key, with
``history_length`` 8 (the default) and 0, and ``projected``, each observation as the expert reads it
(``Task.reads``: its declared view, every entry it does not read 0, the history too): the expert's
distinct observations on the training lengths (every problem of a length where ``Task.all_problems``
enumerates them and the run fits the budget, else random ones and the task's covering problems,
``Task.covering_problems``, as a verification set runs them), then the observations it visits at
train + 1 and train + 2 (likewise) and on random problems at 10x and 100x the training length, and
how many of those the set lacks (the strays). A probe whose expert episodes would run past
``--max-episode-steps`` is moved to the longest length that fits (said in the table). For the first
few strays of each probe: which observation entries differ from the nearest member of the set, and
which keys hold a value no member has (what breaks closure: the history, window contents, boundary
flags, a register that counts...).

    python -m benchmarks.closure                         # every task: history 8 and 0, projected
    python -m benchmarks.closure --tasks Reverse Copy --histories 0
    python -m benchmarks.closure --views projected       # only what the experts read
    python -m benchmarks.closure --tasks Compare --views projected --train-length 4
    python -m benchmarks.closure --quick                 # smoke test: tiny budgets
    python -m benchmarks.closure --update-results        # refresh benchmarks/results/closure.{json,md}
    python -m benchmarks.closure --tasks Sort --views projected --update-results --update  # one row

Results: ``closure.json`` and ``closure.md`` in a fresh ``benchmarks/runs/closure-<UTC time>/``
(``--out DIR``: there; ``--update-results``: the committed ``benchmarks/results/``), and the Markdown
tables on stdout. The committed results were run with the kernels pinned as every result is
(``ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2 OMP_NUM_THREADS=1``), although no float is involved here.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from actformer_envs.config import EnvConfig
from actformer_envs.instructions import instruction_name
from actformer_envs.tasks import SINGLE_TASKS
from actformer_envs.tasks.base import ENUMERATION_CAP, MAX_ENUMERATION
from actformer_envs.verification import (
    ObservationSet,
    affordable_length,
    collect,
    entry_names,
    enumerable,
    mean_episode_steps,
    nearest_member,
    new_observations,
    row_ids,
)
from benchmarks.common import (
    QUICK_HELP,
    add_output_flags,
    add_tasks_flag,
    announce_smoke,
    at_least,
    check_output_flags,
    context_line,
    expand_all,
    fill_unset,
    machine_info,
    merge_rows,
    name_of,
    output_dir,
    positive,
    run_stamp,
    runs_note,
    source_revision,
    with_pins_and_commit,
    write_results,
)

RESULTS_NAME = "closure.json"
#: The probes beyond the training length: (label, how their length follows from it, near or far).
PROBES = (("+1", 1, 0, True), ("+2", 2, 0, True), ("10x", 0, 10, False), ("100x", 0, 100, False))
DEFAULT_HISTORIES = (8, 0)
#: The views of the observation a set is made of: every key (at each ``--histories`` length), or
#: what the expert reads (``projected``, at the env's default history length, which it zeroes).
VIEWS = ("full", "projected")
PROJECTED_HISTORY = EnvConfig.history_length
PROJECTED_VIEW = "projected (what the expert reads)"
#: Expert steps (decisions) the random problems of one length may take in all, and those every
#: problem of a length may take for it to be enumerated (else it is sampled).
DEFAULT_BUDGET, DEFAULT_EXHAUSTIVE_BUDGET = 1_500_000, 30_000_000
DEFAULT_SAMPLES, DEFAULT_FAR_SAMPLES = 20_000, 1_000
DEFAULT_MAX_EPISODE_STEPS = 20_000
DEFAULT_STRAYS = 3
QUICK = {
    "budget": 20_000,
    "exhaustive_budget": 20_000,
    "samples": 200,
    "far_samples": 10,
    "max_episode_steps": 2_000,
    "strays": 1,
}


@dataclass(frozen=True)
class LengthPlan:
    """How one length is run: every problem (``samples`` None) or that many random ones."""

    length: int
    samples: int | None
    count: int | None  # problems of that length, where the task enumerates them within the cap
    mean_steps: float  # the expert's mean episode, estimated on random problems

    def describe(self) -> str:
        """``all 10,000`` or ``2,000 random``."""
        return f"all {self.count:,}" if self.samples is None else f"{self.samples:,} random"


def plan_length(
    task: str, length: int, wanted: int, args: argparse.Namespace, exhaustive_budget: int
) -> LengthPlan:
    """Every problem of ``length`` if the task enumerates them within ``--cap`` and their episodes
    fit ``exhaustive_budget`` steps; else ``wanted`` random ones, fewer if they would not fit
    ``--budget``."""
    steps = mean_episode_steps(task, length, args.seed)
    enumeration = enumerable(task, length, args.cap)
    count = None if enumeration is None else len(enumeration)
    if count is not None and count * steps <= exhaustive_budget:
        return LengthPlan(length, None, count, steps)
    return LengthPlan(length, max(1, min(wanted, int(args.budget // steps))), count, steps)


def run_config(task: str, history: int, args: argparse.Namespace, projected: bool = False) -> dict[str, Any]:
    """The training set of one task, history length and view (``projected``: as the expert reads
    each observation), and each probe against it.

    First a screen: a length is enumerated only where that costs no more than sampling it
    (``--budget``). Where the screen finds no stray, the set and the near probes are built again
    with every length enumerated that fits ``--exhaustive-budget``, the evidence a closure claim
    needs; where it finds strays, enumeration could not change the verdict and is skipped. (The far
    probes are kept: a larger set has no strays where a smaller one had none.)
    """
    started = time.perf_counter()
    top = train_length(task, args, projected)
    row: dict[str, Any] = {
        "task": task,
        "view": "projected" if projected else "full",
        "history_length": history,
        "train_length": top,
    }
    screen = run_phase(task, history, projected, top, args, args.budget, {})
    assert screen is not None
    row |= screen
    closed = _closed(row)
    again = run_phase(task, history, projected, top, args, args.exhaustive_budget, row) if closed else None
    row["enumerated_again"] = again is not None
    if again is not None:
        row["screen"] = screen
        row |= again
    row["closed"] = _closed(row)
    row["seconds"] = round(time.perf_counter() - started, 2)
    return row


def train_length(task: str, args: argparse.Namespace, projected: bool = False) -> int:
    """``--train-length``, else the task's recipe's (for the projected view, the certified recipe's:
    ``Recipe.certified_length``)."""
    if args.train_length is not None:
        return int(args.train_length)
    recipe = SINGLE_TASKS[task].recipe
    assert recipe is not None
    return recipe.certified_length if projected else recipe.train_length


def view_label(history: int, projected: bool) -> str:
    """How a configuration sees the observation: ``history 8`` or ``projected``."""
    return "projected" if projected else f"history {history}"


def run_phase(
    task: str,
    history: int,
    projected: bool,
    top: int,
    args: argparse.Namespace,
    exhaustive_budget: int,
    screened: dict[str, Any],
) -> dict[str, Any] | None:
    """The set (``set``) and the probes (``probes``) with lengths enumerated up to
    ``exhaustive_budget``; given the screen's results (``screened``), only what enumerates more than
    it did (None if nothing does)."""
    plans = [plan_length(task, n, args.samples, args, exhaustive_budget) for n in range(1, top + 1)]
    probes = []
    for label, offset, multiple, near in PROBES:
        target = top + offset if near else top * multiple
        length = (
            target if near else affordable_length(task, target, top + 2, args.max_episode_steps, args.seed)
        )
        wanted = args.samples if near else args.far_samples
        budget = exhaustive_budget if near else args.budget  # (far lengths are never enumerated)
        probes.append((label, target, plan_length(task, length, wanted, args, budget)))
    if screened:
        old_plans = [_plan_of(record) for record in screened["set"]["built"]]
        old_probes = [_plan_of(record) for record in screened["probes"]]
        if plans == old_plans and [plan for *_, plan in probes] == old_probes:
            return None
    train = collect(
        task,
        [plan.length for plan in plans],
        [plan.samples for plan in plans],
        seed=args.seed,
        cap=args.cap,
        history_length=history,
        max_length=top,
        projected=projected,
        with_covering=True,
    )
    covering = {s["length"]: s["count"] for s in train.sources if s.get("problems") == "covering"}
    again = ", enumerating further" if screened else ""
    view = view_label(history, projected)
    print(f"{task} {view}{again}: set of {len(train):,} from {_built(plans, covering)}", file=sys.stderr)
    records = []
    for index, (label, target, plan) in enumerate(probes):
        if screened and plan == _plan_of(screened["probes"][index]):
            records.append(screened["probes"][index])  # no stray against a subset: none against this
            continue
        records.append(probe(task, history, projected, train, label, target, plan, args))
    return {
        "set": {
            "observations": len(train),
            "episodes": train.episodes,
            "visits": train.visits,
            "built": [_plan_record(plan) for plan in plans],
            "covering": covering,  # the task's covering problems run at sampled lengths, by length
            "expert_failures": train.expert_failures,
            "conflicts": train.conflicts,
        },
        "probes": records,
    }


def _closed(row: dict[str, Any]) -> bool:
    """No stray in any probe, and the expert solved everything with one action per observation."""
    checks = [row["set"], *row["probes"]]
    return not any(p["strays"] for p in row["probes"]) and not any(
        c["expert_failures"] or c["conflicts"] for c in checks
    )


def _plan_of(record: dict[str, Any]) -> LengthPlan:
    """The plan a record (``_plan_record``'s, or a probe's) was run by."""
    samples = None if record["problems"] == "all" else record["count"]
    return LengthPlan(record["length"], samples, record["enumerable_count"], record["mean_steps"])


def probe(
    task: str,
    history: int,
    projected: bool,
    train: ObservationSet,
    label: str,
    target: int,
    plan: LengthPlan,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The expert's observations at one longer length, and those of them the training set lacks."""
    started = time.perf_counter()
    found = collect(
        task,
        [plan.length],
        [plan.samples],
        seed=args.seed + plan.length,
        cap=args.cap,
        history_length=history,
        max_length=plan.length,
        projected=projected,
    )
    strays = new_observations(train, found)
    record: dict[str, Any] = {
        "label": label,
        "length": plan.length,
        "asked_length": target,  # (the length is capped where episodes would run too long)
        **_plan_record(plan),
        "observations": len(found),
        "strays": len(strays),
        "expert_failures": found.expert_failures,
        "conflicts": found.conflicts,
        "novel_keys": _novel_keys(train, found, strays),
        "novel_entries": _novel_entries(train, found, strays),
        "examples": [_example(train, found, int(i)) for i in strays[: args.strays]],
    }
    record["seconds"] = round(time.perf_counter() - started, 2)
    print(
        f"  {label:>4} at {plan.length} ({plan.describe()}): {len(strays):,} of {len(found):,} new "
        f"[{record['seconds']} s]",
        file=sys.stderr,
    )
    return record


def _plan_record(plan: LengthPlan) -> dict[str, Any]:
    return {
        "length": plan.length,
        "problems": "all" if plan.samples is None else "random",
        "count": plan.count if plan.samples is None else plan.samples,
        "enumerable_count": plan.count,  # None: more than --cap, or the task does not enumerate
        "mean_steps": plan.mean_steps,
    }


def _novel_keys(train: ObservationSet, found: ObservationSet, strays: np.ndarray) -> dict[str, int]:
    """Per key: how many strays hold a value of that key that no member of the set has."""
    counts, start = {}, 0
    for key, shape in zip(found.keys, found.shapes, strict=True):
        stop = start + int(np.prod(shape))
        if len(strays):
            known, values = row_ids(train.rows[:, start:stop], found.rows[strays, start:stop])
            counts[key] = int((~np.isin(values, known)).sum())
        start = stop
    return {key: count for key, count in counts.items() if count}


def _novel_entries(train: ObservationSet, found: ObservationSet, strays: np.ndarray) -> dict[str, int]:
    """Per entry (``entry_names``): how many strays hold a value there that no member has there (a
    value whose range grows: a counter, a run in the history), as opposed to new combinations of
    values each seen before."""
    counts = {}
    if len(strays):
        for name, known, seen in zip(entry_names(train), train.rows.T, found.rows[strays].T, strict=True):
            count = int((~np.isin(seen, np.unique(known))).sum())
            if count:
                counts[name] = count
    return counts


def _example(train: ObservationSet, found: ObservationSet, index: int) -> dict[str, Any]:
    """One stray: where it was seen, the expert's action, and how it differs from the nearest member."""
    nearest = nearest_member(train, found.rows[index])
    return {
        "episode": int(found.episode[index]),
        "step": int(found.step[index]),
        "expert_action": instruction_name(int(found.expert_actions[index])),
        "differing_keys": sorted(nearest["keys"]),
        "differing_entries": nearest["entries"],
        "novel_keys": nearest["novel_keys"],
    }


# -- the tables -------------------------------------------------------------------------------------


def _built(plans: Sequence[LengthPlan], covering: dict[int, int] | None = None) -> str:
    """How a set was built, lengths with the same kind of run grouped: ``all 1-4 (11,110); 5: 20,000
    random``, then the covering problems of sampled lengths (``Task.covering_problems``): ``5:
    18,685 covering``."""
    parts, i = [], 0
    while i < len(plans):
        j = i
        while j + 1 < len(plans) and (plans[j + 1].samples is None) == (plans[i].samples is None):
            if plans[i].samples is not None and plans[j + 1].samples != plans[i].samples:
                break
            j += 1
        span = str(plans[i].length) if i == j else f"{plans[i].length}-{plans[j].length}"
        if plans[i].samples is None:
            total = sum(plan.count or 0 for plan in plans[i : j + 1])
            parts.append(f"all {span} ({total:,})")
        else:
            parts.append(f"{span}: {plans[i].samples:,} random each")
        i = j + 1
    parts += [f"{length}: {count:,} covering" for length, count in (covering or {}).items()]
    return "; ".join(parts)


def _probe_cell(record: dict[str, Any]) -> str:
    """``k of n`` new observations, with the length and how its problems were chosen."""
    how = f"all {record['count']:,}" if record["problems"] == "all" else f"{record['count']:,} rnd"
    capped = f", capped from {record['asked_length']}" if record["length"] != record["asked_length"] else ""
    return f"{record['strays']:,} of {record['observations']:,} (n={record['length']}, {how}{capped})"


def view_cell(row: dict[str, Any]) -> str:
    """The view a row's set is made of: ``all keys, history 8`` or ``PROJECTED_VIEW``."""
    return PROJECTED_VIEW if row["view"] == "projected" else f"all keys, history {row['history_length']}"


def closure_table(rows: Sequence[dict[str, Any]]) -> str:
    """One row per task, history length and view: the set, each probe's strays as ``k of n``, the
    expert's failures and conflicts, and whether the set closed."""
    head = ["task", "history", "view", "set size", "how built", *(label for label, *_ in PROBES)]
    head += ["expert failures", "conflicts", "closed"]
    rule = "|---|---:|---|---:|---|" + "---|" * len(PROBES) + "---:|---:|---|"
    lines = ["| " + " | ".join(head) + " |", rule]
    for row in rows:
        plans = [_plan_of(record) for record in row["set"]["built"]]
        failures = row["set"]["expert_failures"] + sum(p["expert_failures"] for p in row["probes"])
        conflicts = row["set"]["conflicts"] + sum(p["conflicts"] for p in row["probes"])
        cells = [
            row["task"],
            str(row["history_length"]),
            view_cell(row),
            f"{row['set']['observations']:,}",
            _built(plans, {int(n): count for n, count in row["set"].get("covering", {}).items()}),
            *(_probe_cell(p) for p in row["probes"]),
            str(failures),
            str(conflicts),
            "yes" if row["closed"] else "no",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def strays_table(rows: Sequence[dict[str, Any]]) -> str:
    """Per task, history length and view with strays: the keys whose values are new (how many strays
    hold one), the entries whose values are, and the entries in which the first strays differ from
    their nearest set member."""
    if not any(p["strays"] for row in rows for p in row["probes"]):
        return "Nothing: no probe found a stray."
    lines = [
        "| task | history | view | strays with a value no member has, per key | ... per entry | first "
        "strays: entries that differ from the nearest member (how many strays) |",
        "|---|---:|---|---|---|---|",
    ]
    for row in rows:
        if not any(p["strays"] for p in row["probes"]):
            continue
        novel: Counter[str] = Counter()
        novel_entries: Counter[str] = Counter()
        entries: Counter[str] = Counter()
        for record in row["probes"]:
            novel.update(record["novel_keys"])
            novel_entries.update(record["novel_entries"])
            for example in record["examples"]:
                entries.update(example["differing_entries"].keys())
        total = sum(p["strays"] for p in row["probes"])
        cells = [
            row["task"],
            str(row["history_length"]),
            view_cell(row),
            (", ".join(f"{key} {count:,}" for key, count in novel.most_common()) or "none")
            + f" (of {total:,})",
            ", ".join(f"{key} {count:,}" for key, count in novel_entries.most_common()) or "none",
            ", ".join(f"{name} ({count})" for name, count in entries.most_common()),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(rows: Sequence[dict[str, Any]], args: argparse.Namespace, context: str) -> str:
    """Both tables, what the columns mean, and where and how the run was made."""
    capped = list(
        dict.fromkeys(  # (the same for every view of a task: a probe's length follows from its episodes)
            f"{row['task']} {p['label']}: {p['asked_length']} -> {p['length']}"
            for row in rows
            for p in row["probes"]
            if p["length"] != p["asked_length"]
        )
    )
    lengths = "the recipe's" if args.train_length is None else f"--train-length {args.train_length}"
    notes = [
        "Verification sets: the expert's distinct observations on the training lengths 1..train "
        f"({lengths}), with all keys (at the history length shown) or projected: each observation as "
        "the expert reads it (`Task.reads`, its declared view: every entry it does not read, the "
        "history included, as 0; digits it reads only as a kind as 0, those it only compares renamed "
        "in order of first appearance). Probes: `k of n` = k of the n distinct observations the "
        "expert visits at that length are not in the set (n = length; `all N`: every problem of it, "
        "`N rnd`: N random ones). A screen first: a length is enumerated where `Task.all_problems` "
        "lists its problems "
        f"(at most {args.cap:,}) and their expert episodes take at most {args.budget:,} steps in all "
        f"(no more than sampling it), else sampled: {args.samples:,} problems at the training lengths, "
        f"+1 and +2, {args.far_samples:,} at 10x and 100x, fewer where their episodes would take more "
        f"than {args.budget:,} steps. Where the screen finds no stray, the set and the +1 and +2 "
        "probes are built again with every length enumerated whose episodes take at most "
        f"{args.exhaustive_budget:,} steps (shown here; the screen is in the JSON); where it finds "
        "strays, enumerating could not undo them.",
        f"Far probes whose mean expert episode exceeds {args.max_episode_steps:,} steps run at the longest "
        "length that fits: " + ("; ".join(capped) if capped else "none") + ".",
    ]
    return "\n\n".join(
        [
            closure_table(rows),
            *notes,
            "What breaks closure:",
            strays_table(rows),
            context,
            *runs_note(rows),
        ]
    )


# -- the command line ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    names = list(SINGLE_TASKS)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_tasks_flag(parser, names, "every single task")
    parser.add_argument(
        "--histories",
        type=at_least(int, 0),
        nargs="+",
        default=list(DEFAULT_HISTORIES),
        metavar="H",
        help="history lengths of the full view, space-separated (default: 8 0)",
    )
    parser.add_argument(
        "--views",
        type=name_of(VIEWS, "view"),
        nargs="+",
        default=list(VIEWS),
        metavar="VIEW",
        help="full (every key, at each --histories length) and/or projected (what the expert reads, "
        f"history {PROJECTED_HISTORY}), space-separated (default: full projected)",
    )
    parser.add_argument(
        "--train-length",
        type=positive(int),
        default=None,
        help="build the sets on lengths 1 up to this (default: each task's Recipe.train_length)",
    )
    parser.add_argument(
        "--cap",
        type=positive(int),
        default=ENUMERATION_CAP,
        help=f"enumerate a length only if it has at most this many problems (default {ENUMERATION_CAP:,})",
    )
    parser.add_argument(
        "--budget",
        type=positive(int),
        default=None,
        help=f"expert steps the random problems of one length may take (default {DEFAULT_BUDGET:,})",
    )
    parser.add_argument(
        "--exhaustive-budget",
        type=positive(int),
        default=None,
        help="expert steps every problem of a length may take for it to be enumerated "
        f"(default {DEFAULT_EXHAUSTIVE_BUDGET:,})",
    )
    parser.add_argument(
        "--samples",
        type=positive(int),
        default=None,
        help=f"random problems per sampled training length, +1, +2 (default {DEFAULT_SAMPLES:,})",
    )
    parser.add_argument(
        "--far-samples",
        type=positive(int),
        default=None,
        help=f"random problems at 10x and 100x (default {DEFAULT_FAR_SAMPLES:,})",
    )
    parser.add_argument(
        "--max-episode-steps",
        type=positive(int),
        default=None,
        help="cap 10x and 100x at the longest length whose mean expert episode fits "
        f"(default {DEFAULT_MAX_EPISODE_STEPS:,})",
    )
    parser.add_argument(
        "--strays",
        type=at_least(int, 0),
        default=None,
        help=f"strays per probe compared with their nearest member (default {DEFAULT_STRAYS})",
    )
    parser.add_argument("--seed", type=at_least(int, 0), default=0, help="seed of the random problems")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HELP} ({QUICK})")
    add_output_flags(parser, "closure")
    parser.add_argument(
        "--update",
        action="store_true",
        help=f"keep the rows of the other tasks and views of the {RESULTS_NAME} already in the output "
        "folder, else of the committed one (each row records its own run)",
    )
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    if args.cap > MAX_ENUMERATION:
        parser.exit(2, f"{parser.prog}: error: --cap must be at most {MAX_ENUMERATION}, got {args.cap}\n")
    args.tasks = expand_all(args.tasks, names)
    args.histories = list(dict.fromkeys(args.histories))
    args.views = [view for view in VIEWS if view in expand_all(args.views, VIEWS)]  # (in VIEWS' order)
    defaults = {
        "budget": DEFAULT_BUDGET,
        "exhaustive_budget": DEFAULT_EXHAUSTIVE_BUDGET,
        "samples": DEFAULT_SAMPLES,
        "far_samples": DEFAULT_FAR_SAMPLES,
        "max_episode_steps": DEFAULT_MAX_EPISODE_STEPS,
        "strays": DEFAULT_STRAYS,
    }
    fill_unset(args, {name: QUICK[name] if args.quick else value for name, value in defaults.items()})
    return args


def configs(args: argparse.Namespace) -> list[tuple[int, bool]]:
    """Each task's configurations, as (history length, projected): the full view at every
    ``--histories`` length, then the projected one."""
    full = [(history, False) for history in args.histories] if "full" in args.views else []
    return full + ([(PROJECTED_HISTORY, True)] if "projected" in args.views else [])


def _measures(row: dict[str, Any]) -> tuple[str, str, int]:
    """What a row measures (``--update`` replaces a kept row measuring the same): task and view."""
    return row["task"], row["view"], row["history_length"]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    announce_smoke(args.quick)
    started = time.perf_counter()
    date, command = run_stamp("closure", argv)
    machine = machine_info(with_torch=False)
    revision = source_revision()
    run = {"date": date, "command": command, "revision": revision, "kernel_env": machine["kernel_env"]}
    rows = [
        {**run_config(task, history, args, projected), "run": run}
        for task in args.tasks
        for history, projected in configs(args)
    ]
    folder = output_dir(args, "closure")
    rows = merge_rows(rows, folder, RESULTS_NAME, list(SINGLE_TASKS), args.update, measures=_measures)
    context = with_pins_and_commit(context_line(machine, command, date), machine, revision)
    document = {
        "benchmark": "closure",
        "date": date,
        "command": command,
        "revision": revision,
        "settings": {
            "tasks": args.tasks,
            "histories": args.histories,
            "views": args.views,
            "projected_history": PROJECTED_HISTORY,
            "train_length": args.train_length,  # None: each task's recipe's
            "cap": args.cap,
            "budget": args.budget,
            "exhaustive_budget": args.exhaustive_budget,
            "samples": args.samples,
            "far_samples": args.far_samples,
            "max_episode_steps": args.max_episode_steps,
            "strays": args.strays,
            "seed": args.seed,
            "probe_seeds": "seed + length",
        },
        "machine": machine,
        "rows": rows,
        "total_seconds": round(time.perf_counter() - started, 1),
        "markdown": markdown(rows, args, context),
    }
    write_results(folder, RESULTS_NAME, document, smoke=args.quick, markdown_file=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
