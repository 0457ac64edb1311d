"""The certification table: per task and seed, fit a projected policy on its verification set, certify
it, and measure its greedy exact match far beyond the training lengths.

Per single task and seed: a policy that sees only what the task's expert reads (``projected``) is fit
on the verification set of the training lengths 1..L (every distinct observation the expert visits
there, once) until its greedy action is the expert's on all of them with a logit margin of 1.0 (the
budget is optimizer steps: ``imitation/fit_steps``; no expert pairs, no DAgger, no RL); then
``actformer certify`` with its default arguments (the set, closure at L + 1, L + 2, 10x and 100x,
greedy agreement and margin, the verdict); then greedy exact match at 10x and 100x the training length
(Multiplication: at 30 and 100 digits, on fewer problems), the 100x length lowered to the longest
whose mean expert episode fits ``--max-episode-steps`` (said in the table), and the task's
adversarial families (``Task.adversarial_problems``) at those lengths. The fit and the
certification are timed apart.

    python -m benchmarks.certification                          # every task, 5 or 10 seeds each
    python -m benchmarks.certification --tasks Copy Reverse     # some tasks (space-separated)
    python -m benchmarks.certification --tasks Addition --seeds 2 --problems 200
    python -m benchmarks.certification --quick                  # smoke test: tiny budgets
    python -m benchmarks.certification --update-results         # refresh benchmarks/results/
    python -m benchmarks.certification --out runs/c --tasks Sort --resume   # go on after a stop
    python -m benchmarks.certification --update-results --update --merge A/certification.json B/...
                                        # the rows of runs made apart (e.g. in parallel), run nothing

Results: ``certification.json`` and ``certification.md`` in a fresh
``benchmarks/runs/certification-<UTC time>/`` (``--out DIR``: there; ``--update-results``: the
committed ``benchmarks/results/``), and the Markdown table on stdout. Results are run with the kernels
pinned (``ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2 OMP_NUM_THREADS=1``), recorded in the context line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from actformer_envs.tasks import SINGLE_TASKS, TASKS, MultiTask
from actformer_envs.tasks.registry import env_id
from actformer_envs.verification import affordable_length
from actformer_gym.agents.actformer import ActformerPolicy
from actformer_gym.agents.cached import CachedGreedy
from actformer_gym.train.certify import Certificate, certify, jsonable
from actformer_gym.train.config import TrainConfig
from actformer_gym.train.evaluate import exact_match
from actformer_gym.train.seeds import seed_for
from actformer_gym.train.trainer import Trainer
from benchmarks.common import (
    QUICK_HELP,
    add_output_flags,
    add_tasks_flag,
    announce_smoke,
    at_least,
    check_output_flags,
    expand_all,
    fill_unset,
    machine_info,
    merge_rows,
    output_dir,
    positive,
    rows_of_runs,
    run_stamp,
    runs_note,
    source_revision,
    torch_context_line,
    with_pins_and_commit,
    write_results,
)
from benchmarks.train_suite import solves

RESULTS_NAME = "certification.json"
#: The rows finished so far, one JSON line each, in the output folder while a run goes on
#: (``--resume`` continues from them; removed once the results are written).
PROGRESS_NAME = "certification.progress.jsonl"
#: Seeds per task by default (seeds 0..N-1); ``--seeds`` overrides every task's.
DEFAULT_SEEDS = 5
SEEDS = {"Multiplication": 10, "Reverse": 10, "Sort": 10, "Expression": 10, "MultiTask": 3}
#: Evaluation lengths that are not 10x and 100x the training length, with the reason.
EVAL_LENGTHS = {
    # 3 x 300 digits would take the expert about 900,000 steps a problem; 100 digits (about 100,700)
    # is what the train suite evaluates. Run as given (on --long-problems problems), not capped.
    "Multiplication": (30, 100),
}
#: The multiples of the training length evaluated at (the last one capped by --max-episode-steps).
MULTIPLES = (10, 100)
#: A task's exact match counts as generalizing where it is at least this at every length.
EXACT = 0.999
DEFAULT_PROBLEMS, DEFAULT_LONG_PROBLEMS = 1000, 100
DEFAULT_MAX_EPISODE_STEPS = 20_000
#: Envs an evaluation runs at once (fewer where it has fewer problems).
DEFAULT_EVAL_ENVS = 256
QUICK = {"seeds": 1, "problems": 8, "long_problems": 2, "max_episode_steps": 1000}
#: The observation settings of the env, the policy and the certificate (projected: the history is
#: zeroed, so its length changes nothing the policy sees).
OBSERVATION = {"history_length": 8, "obs_mode": "local"}


def train_length(task: str) -> int:
    """The longest training length of ``task``'s certified recipe (``Recipe.certified_length``)."""
    recipe = TASKS[task].recipe
    assert recipe is not None
    return recipe.certified_length


def seeds_of(task: str, args: argparse.Namespace) -> int:
    """How many seeds ``task`` runs: ``--seeds``, else ``SEEDS``, else ``DEFAULT_SEEDS``."""
    return args.seeds if args.seeds is not None else SEEDS.get(task, DEFAULT_SEEDS)


def eval_plan(task: str, length: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The exact-match evaluations of ``task`` trained on 1..``length``: per length, the one asked
    for, the one run (the last multiple lowered where its expert episodes exceed
    ``--max-episode-steps``) and the problems. MultiTask: each member at the first of its own
    evaluation lengths, on ``--long-problems`` problems (``member`` names it; the members of its
    default mixture, which its certified recipe fits)."""
    if task == "MultiTask":
        return [
            {**eval_plan(name, train_length(name), args)[0], "member": name, "problems": args.long_problems}
            for name in MultiTask.default_members
        ]
    if task in EVAL_LENGTHS:
        return [{"asked_length": n, "length": n, "problems": args.long_problems} for n in EVAL_LENGTHS[task]]
    plan = []
    for multiple in MULTIPLES:
        asked = multiple * length
        run = asked
        if multiple == MULTIPLES[-1]:
            floor = MULTIPLES[0] * length
            run = affordable_length(task, asked, floor, args.max_episode_steps, **OBSERVATION)
        plan.append({"asked_length": asked, "length": run, "problems": args.problems})
    return plan


def config_of(task: str, length: int, seed: int, base: int | None = None) -> TrainConfig:
    """``task``'s recipe (``TrainConfig.for_task``: a projected policy fit on the verification set
    of lengths 1..``length`` alone; no expert pairs, no DAgger, no RL) without the certificate and
    the evaluation at the end (this script certifies and evaluates); in ``base`` if given."""
    return TrainConfig.for_task(
        task,
        seed=seed,
        max_length=length,
        base=base,
        certify=False,
        eval_lengths=(length,),
        eval_episodes=1,
        **OBSERVATION,
    )


@dataclass(frozen=True)
class Fitted:
    """A policy fit on ``task``'s recipe at lengths 1..L, and its certificate."""

    policy: ActformerPolicy  # in eval mode
    warm: dict[str, float]  # the warm start's metrics (``Trainer.warm_start``)
    certificate: Certificate
    fit_seconds: float
    certify_seconds: float


def fit_and_certify(task: str, length: int, seed: int) -> Fitted:
    """Fit ``task``'s recipe on lengths 1..``length`` with ``seed`` (``config_of``), then certify the policy:
    what this benchmark and the generalization grid's certified agent both run."""
    trainer = Trainer(config_of(task, length, seed))
    began = time.perf_counter()
    warm = trainer.warm_start()
    fit_seconds = time.perf_counter() - began
    policy = trainer.policy.eval()
    began = time.perf_counter()
    certificate = certify(policy, task, range(1, length + 1), dict(OBSERVATION))
    return Fitted(policy, warm, certificate, fit_seconds, time.perf_counter() - began)


def run_seed(task: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Fit, certify and evaluate one seed of ``task``: one row."""
    length = train_length(task)
    fitted = fit_and_certify(task, length, seed)
    policy, warm, certificate = fitted.policy, fitted.warm, fitted.certificate
    fit_seconds, certify_seconds = fitted.fit_seconds, fitted.certify_seconds
    evaluation_seed = seed_for(seed, "evaluation")
    greedy = CachedGreedy(policy)  # (long episodes revisit a few hundred views: one forward per view)
    scores: dict[str, dict[str, Any]] = {}
    adversarial: dict[str, list[bool]] = {}
    for item in eval_plan(task, length, args):
        began = time.perf_counter()
        member = {"tasks": [item["member"]]} if "member" in item else {}  # (a MultiTask's member alone)
        score = exact_match(
            greedy,
            env_id(task),
            item["length"],
            item["problems"],
            seed=evaluation_seed,
            num_envs=min(item["problems"], args.eval_envs),
            **OBSERVATION,
            **member,
        )
        key = f"{item['member']} {item['length']}" if member else str(item["length"])
        scores[key] = {**item, "exact_match": score, "seconds": time.perf_counter() - began}
        if not member:
            single = SINGLE_TASKS[task](SINGLE_TASKS[task].default_base)
            adversarial[key] = solves(
                greedy, env_id(task), single.adversarial_problems(item["length"]), item["length"]
            )
    summary = certificate.summary()
    row: dict[str, Any] = {
        "task": task,
        "seed": seed,
        "train_length": length,
        "set_size": summary["observations"],
        "exhaustive": summary["exhaustive"],
        "closure": [
            {
                "label": probe.label,
                "member": probe.member,
                "length": probe.length,
                "strays": probe.strays,
                "problems": probe.problems,
                "exhaustive": probe.exhaustive,
                "error": probe.error,
            }
            for probe in certificate.closure
        ],
        "agreement": certificate.agreement.agreement,
        "min_margin": certificate.agreement.min_margin,
        "projected": summary["projected"],
        "verdict": certificate.verdict,
        "reasons": list(certificate.reasons),
        "fit_steps": int(warm["imitation/fit_steps"]),
        "fit_reached": bool(warm["imitation/fit_reached"]),
        "fit_seconds": fit_seconds,
        "certify_seconds": certify_seconds,
        "warm_start": warm,
        "evaluation_seed": evaluation_seed,
        "exact_match": scores,
    }
    row["adversarial"] = adversarial
    return jsonable(row)


def generalizes(row: dict[str, Any]) -> bool:
    """Exact match at least ``EXACT`` at every evaluated length, and every adversarial problem
    solved (rows of runs that posed none: Addition's alone had families then)."""
    solved = all(all(results) for results in row.get("adversarial", {}).values())
    return solved and all(score["exact_match"] >= EXACT for score in row["exact_match"].values())


# -- the tables -------------------------------------------------------------------------------------


def _closure_cell(row: dict[str, Any]) -> str:
    """Strays per probe: ``+1 (6): 0, ...``; a probe that could not run says so. A MultiTask's, per
    member: ``48 probes of 12 members: 0 strays`` (those with strays or not run named)."""
    members = list(dict.fromkeys(probe.get("member") for probe in row["closure"]))
    if members != [None]:
        strays = sum(probe["strays"] for probe in row["closure"])
        failed = sorted({probe["member"] for probe in row["closure"] if probe["strays"] or probe["error"]})
        named = f" (in {', '.join(failed)})" if failed else ""
        return f"{len(row['closure'])} probes of {len(members)} members: {strays:,} strays{named}"
    cells = []
    for probe in row["closure"]:
        label = probe["label"].split(" (", 1)[0].replace("train", "")  # "10x (run at 44: ...)" -> "10x"
        strays = "not run" if probe["error"] is not None else f"{probe['strays']:,}"
        cells.append(f"{label} ({probe['length']}): {strays}")
    return ", ".join(cells)


def _score_cell(row: dict[str, Any]) -> str:
    """Exact match per length: ``50: 1.000 (200)``, ``500 -> 330: ...`` where the length was capped."""
    cells = []
    for score in row["exact_match"].values():
        asked = f"{score['asked_length']} -> " if score["asked_length"] != score["length"] else ""
        member = f"{score['member']} " if "member" in score else ""
        cells.append(f"{member}{asked}{score['length']}: {score['exact_match']:.3f} ({score['problems']})")
    return ", ".join(cells)


def _adversarial_cell(row: dict[str, Any]) -> str:
    if "adversarial" not in row:
        return ""
    solved = sum(sum(results) for results in row["adversarial"].values())
    total = sum(len(results) for results in row["adversarial"].values())
    return f"{solved}/{total} solved" if total else "none posed"


def _margin(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)  # ("inf", "nan" as strings)


def table(rows: Sequence[dict[str, Any]]) -> str:
    """One row per task and seed."""
    head = [
        "task",
        "seed",
        "trained on",
        "set size",
        "set",
        "closure strays (length)",
        "agreement",
        "min margin",
        "projected",
        "verdict",
        "fit steps",
        "fit s",
        "certify s",
        "exact match (problems)",
        "adversarial",
    ]
    lines = [
        "| " + " | ".join(head) + " |",
        "|---|---:|---:|---:|---|---|---:|---:|---|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        verdict = row["verdict"] + (": " + "; ".join(row["reasons"]) if row["reasons"] else "")
        cells = [
            row["task"],
            str(row["seed"]),
            f"1..{row['train_length']}",
            f"{row['set_size']:,}",
            "exhaustive" if row["exhaustive"] else "sampled",
            _closure_cell(row),
            f"{row['agreement']:.6f}",
            _margin(row["min_margin"]),
            "yes" if row["projected"] else "no",
            verdict.replace("|", "/"),
            f"{row['fit_steps']:,}",
            f"{row['fit_seconds']:.1f}",
            f"{row['certify_seconds']:.1f}",
            _score_cell(row),
            _adversarial_cell(row),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Per task: ``Copy: k of n seeds certified; exact match >= 0.999 at every length on k of n seeds``."""
    lines = []
    for task in dict.fromkeys(row["task"] for row in rows):
        mine = [row for row in rows if row["task"] == task]
        certified = sum(row["verdict"] == "certified" for row in mine)
        exact = sum(generalizes(row) for row in mine)
        lines.append(
            f"{task}: {certified} of {len(mine)} seeds certified; exact match >= {EXACT} at every length "
            f"(and every adversarial problem posed solved) on {exact} of {len(mine)} seeds"
        )
    return lines


def number_range(values: Sequence[int]) -> str:
    """``75\u2013175`` (smallest to largest, an en dash between), or the one value."""
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}\u2013{high:,}"


def task_table(rows: Sequence[dict[str, Any]]) -> str:
    """Per single task (the docs' table): seeds certified, the set's size, the seeds' range of fit
    steps, the smallest margin, the worst seed's exact match per length with its problems, and the
    adversarial problems solved of those posed, over seeds and lengths."""
    lines = [
        "| task | trained on | certified | set size | fit steps | min margin | "
        "greedy exact match (problems) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for task in dict.fromkeys(row["task"] for row in rows if row.get("adversarial")):
        mine = [row for row in rows if row["task"] == task]
        certified = sum(row["verdict"] == "certified" for row in mine)
        sizes = number_range([row["set_size"] for row in mine])
        fit = number_range([row["fit_steps"] for row in mine])
        margin = min(row["min_margin"] for row in mine)
        scores = []
        for key, entry in mine[0]["exact_match"].items():
            worst = min(row["exact_match"][key]["exact_match"] for row in mine)
            scores.append(f"{entry['length']}: {worst:.3f} ({entry['problems']:,})")
        solved = sum(sum(results) for row in mine for results in row["adversarial"].values())
        posed = sum(len(results) for row in mine for results in row["adversarial"].values())
        lines.append(
            f"| {task} | 1..{mine[0]['train_length']} | {certified} of {len(mine)} | {sizes} | {fit} | "
            f"{margin:.2f} | {', '.join(scores)}; families {solved}/{posed} |"
        )
    return "\n".join(lines)


def headline_table(rows: Sequence[dict[str, Any]]) -> str:
    """Per task (the README's headline): training lengths, seeds certified, seeds exact at every
    length evaluated, and the longest length evaluated with the worst seed's exact match there."""
    lines = [
        "| task | trained on | seeds certified | seeds exact at every length | longest evaluated: "
        "worst seed |",
        "|---|---:|---:|---:|---|",
    ]
    for task in dict.fromkeys(row["task"] for row in rows):
        mine = [row for row in rows if row["task"] == task]
        certified = sum(row["verdict"] == "certified" for row in mine)
        exact = sum(generalizes(row) for row in mine)
        longest = max(entry["length"] for row in mine for entry in row["exact_match"].values())
        worst = min(
            entry["exact_match"]
            for row in mine
            for entry in row["exact_match"].values()
            if entry["length"] == longest
        )
        n = len(mine)
        lines.append(
            f"| {task} | 1..{mine[0]['train_length']} | {certified} of {n} | {exact} of {n} | "
            f"{longest}: {worst:.3f} |"
        )
    return "\n".join(lines)


def markdown(rows: Sequence[dict[str, Any]], args: argparse.Namespace, context: str) -> str:
    """The table, the per-task summary, what the columns mean, and where and how the run was made."""
    notes = (
        "Per task and seed: a projected policy (it sees only what the expert reads) fit on the "
        "verification set of lengths 1..L (L: the recipe's `certified_length`) until greedy "
        "agreement is 100% with margin 1.0 (fit steps: optimizer steps, the budget); then `actformer "
        "certify` with its default arguments (closure strays at L+1, L+2 and random problems at 10x "
        "and 100x, capped where the expert's episodes are long); then greedy exact match at 10x and "
        f"100x L on {args.problems:,} problems each (Multiplication: 30 and 100 digits, "
        f"{args.long_problems:,} problems), 100x lowered to the longest length whose mean expert "
        f"episode takes at most {args.max_episode_steps:,} steps (`asked -> run`), evaluation seed "
        "`seed_for(seed, 'evaluation')`. Adversarial: the task's families (`Task.adversarial_problems`) at "
        "those lengths, solved of posed (empty: a row run before the task declared them; Addition's "
        "carry chains were the only ones then). MultiTask: one projected policy fit on every member's "
        "verification set (each member at its own recipe's lengths, in the MultiTask env), certified "
        "member by member (the same probes at each member's lengths), exact match per member at its "
        f"first evaluation length on {args.long_problems:,} problems, no adversarial families."
    )
    parts = [table(rows), "\n".join(f"- {line}" for line in summary_lines(rows)), notes, context]
    return "\n\n".join([*parts, *runs_note(rows)])


# -- the command line ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    names = list(TASKS)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_tasks_flag(parser, names, "every task, MultiTask last")
    parser.add_argument(
        "--seeds",
        type=positive(int),
        default=None,
        help=f"seeds per task, 0..N-1 (default: {DEFAULT_SEEDS}; "
        + ", ".join(f"{task} {count}" for task, count in SEEDS.items())
        + ")",
    )
    parser.add_argument(
        "--first-seed",
        type=at_least(int, 0),
        default=0,
        help="run seeds FIRST..FIRST+N-1 (N from --seeds), e.g. to split a task's seeds over processes",
    )
    parser.add_argument(
        "--problems",
        type=positive(int),
        default=None,
        help=f"problems per evaluated length (default {DEFAULT_PROBLEMS:,})",
    )
    parser.add_argument(
        "--long-problems",
        type=positive(int),
        default=None,
        help=f"problems per evaluated length of Multiplication (default {DEFAULT_LONG_PROBLEMS:,})",
    )
    parser.add_argument(
        "--max-episode-steps",
        type=positive(int),
        default=None,
        help="evaluate 100x at the longest length whose mean expert episode fits "
        f"(default {DEFAULT_MAX_EPISODE_STEPS:,})",
    )
    parser.add_argument(
        "--eval-envs",
        type=positive(int),
        default=DEFAULT_EVAL_ENVS,
        help="envs an exact-match evaluation steps at once: which problems each env poses depends on it "
        f"(default {DEFAULT_EVAL_ENVS})",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HELP} ({QUICK})")
    add_output_flags(parser, "certification")
    parser.add_argument(
        "--update",
        action="store_true",
        help=f"keep the rows of the other tasks and seeds of the {RESULTS_NAME} already in the output "
        "folder, else of the committed one (each row records its own run)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help=f"keep the rows a stopped run finished ({PROGRESS_NAME} in the output folder, which "
        "--out or --update-results must name) and run only the others",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help=f"run nothing: take the rows of these runs' {RESULTS_NAME} files (the tasks each measured, "
        "each with its run), e.g. of runs made in parallel; --tasks, --seeds and budgets do not apply",
    )
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    if args.resume and args.out is None and not args.update_results:
        parser.error("--resume needs the folder of the stopped run: --out DIR or --update-results")
    args.tasks = [task for task in names if task in expand_all(args.tasks, names)]  # (in the tasks' order)
    defaults = {
        "problems": DEFAULT_PROBLEMS,
        "long_problems": DEFAULT_LONG_PROBLEMS,
        "max_episode_steps": DEFAULT_MAX_EPISODE_STEPS,
    }
    fill_unset(args, {name: QUICK[name] if args.quick else value for name, value in defaults.items()})
    if args.quick and args.seeds is None:
        args.seeds = QUICK["seeds"]
    return args


def task_and_seed(row: dict[str, Any]) -> tuple[str, int]:
    """What a row measures: a new row replaces the kept one of the same task and seed (``--update``)."""
    return row["task"], row["seed"]


def read_progress(path: Path) -> list[dict[str, Any]]:
    """The rows a stopped run finished (``PROGRESS_NAME``: one JSON row per line, each with its
    run), the last of each task and seed; none if there is no such file. A line cut short by the
    stop is left out."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            rows[(row["task"], row["seed"])] = row
    return list(rows.values())


def measured_rows(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """The rows each of these ``certification.json`` files measured itself (its ``--tasks``; not
    the rows it kept with ``--update``), each with its own run."""
    return rows_of_runs(paths, lambda document, row: row["task"] in document["settings"]["tasks"])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    missing = [str(path) for path in args.merge if not path.is_file()]
    if missing:
        print(f"--merge: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)  # tiny models: one thread is fastest, and fair on a shared machine
    announce_smoke(args.quick)
    started = time.perf_counter()
    date, command = run_stamp("certification", argv)
    revision = source_revision()
    kernel_env = machine_info(with_torch=False)["kernel_env"]
    folder = output_dir(args, "certification")
    progress = folder / PROGRESS_NAME
    done = read_progress(progress) if args.resume else []
    rows = measured_rows(args.merge) if args.merge else [row for row in done if row["task"] in args.tasks]
    if args.merge:
        args.tasks = [task for task in TASKS if any(row["task"] == task for row in rows)]
    measured = {task: sum(row["task"] == task for row in rows) for task in args.tasks}
    finished = {(row["task"], row["seed"]) for row in rows}
    for task in [] if args.merge else args.tasks:
        for seed in range(args.first_seed, args.first_seed + seeds_of(task, args)):
            if (task, seed) in finished:
                continue
            row = run_seed(task, seed, args)
            row["run"] = {"date": date, "command": command, "revision": revision, "kernel_env": kernel_env}
            print(table([row]).splitlines()[-1], file=sys.stderr, flush=True)
            with progress.open("a", encoding="utf-8") as handle:  # (a stopped run resumes from it)
                handle.write(json.dumps(row) + "\n")
            rows.append(row)
    rows = merge_rows(rows, folder, RESULTS_NAME, list(TASKS), args.update, measures=task_and_seed)
    machine = machine_info()
    document = {
        "benchmark": "certification",
        "date": date,
        "command": command,
        "revision": revision,
        "settings": {
            "tasks": args.tasks,
            "seeds": measured if args.merge else {task: seeds_of(task, args) for task in args.tasks},
            "first_seed": args.first_seed,
            "merged": [str(path) for path in args.merge],
            "train_lengths": {task: train_length(task) for task in args.tasks},
            "problems": args.problems,
            "long_problems": args.long_problems,
            "max_episode_steps": args.max_episode_steps,
            "eval_envs": args.eval_envs,
            "observation": OBSERVATION,
            "exact": EXACT,
            "quick": args.quick,
        },
        "machine": machine,
        "rows": rows,
        "summary": summary_lines(rows),
        "total_seconds": round(time.perf_counter() - started, 1),
        "markdown": markdown(
            rows, args, with_pins_and_commit(torch_context_line(machine, command, date), machine, revision)
        ),
    }
    write_results(folder, RESULTS_NAME, document, smoke=args.quick, markdown_file=True)
    progress.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
