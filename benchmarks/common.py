"""What the benchmark scripts share: run bookkeeping (machine, date, command), where results go, the
smoke-test marking, argparse helpers, and the tasks' training plans (the train suite's, which the
generalization grid reuses).

The scripts are modules of the ``benchmarks`` package and import this one as ``benchmarks.common``;
run them from the repository root as modules::

    python -m benchmarks.throughput --quick                   # a smoke test, into benchmarks/runs/
    python -m benchmarks.throughput                           # a real run, into benchmarks/runs/
    python -m benchmarks.throughput --update-results          # ... into benchmarks/results/
    python -m benchmarks.throughput --out DIR                 # ... into DIR

Every script writes into one folder per run (``output_dir``): by default a fresh, git-ignored
``benchmarks/runs/<script>-<UTC time>/``, so that trying a benchmark never touches the committed
``benchmarks/results/``; that folder only with ``--update-results``, which ``--quick`` (a smoke test
on tiny budgets) is refused with. A ``--quick`` run says so at its start, beside its table and in
its JSON (``"smoke": true``).

This module imports no torch (the env throughput benchmark runs without it); ``machine_info``
imports it only when asked for its figures.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import actformer_envs

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Environment variables that pin PyTorch's and MKL's kernel paths (recorded with every result).
KERNEL_ENV = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "OMP_NUM_THREADS")
#: The committed results (read by the README and tests); written only with ``--update-results``.
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
#: Where each run gets a fresh folder by default (git-ignored).
RUNS_DIR = REPO_ROOT / "benchmarks" / "runs"
#: Printed at the start of every ``--quick`` run and beside its table; also the first line of its
#: Markdown.
SMOKE_BANNER = "SMOKE TEST (--quick): tiny budgets; these numbers are not results"
#: ``--quick``'s help, the same in every script (each adds its own budgets).
QUICK_HELP = "smoke test: tiny budgets, numbers that are not results; never with --update-results"


# -- run bookkeeping -------------------------------------------------------------------------------


def _cpuinfo(field: str) -> str | None:
    """The first value of ``field`` in /proc/cpuinfo (Linux), else None."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo (Linux), else ``platform.processor()`` or None."""
    return _cpuinfo("model name") or platform.processor() or None


#: The instruction-set extensions that pick numeric kernels (oneDNN, MKL, NumPy choose by them):
#: two CPUs with one model name (a virtual machine's "AMD EPYC") may differ here, and so may floats.
SIMD_FLAGS = ("sse4_2", "avx", "fma", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16")


def cpu_simd() -> list[str] | None:
    """Which of ``SIMD_FLAGS`` the CPU has (from /proc/cpuinfo's flags; None where there is none)."""
    flags = _cpuinfo("flags")
    return None if flags is None else [flag for flag in SIMD_FLAGS if flag in flags.split()]


def machine_info(with_torch: bool = True) -> dict[str, Any]:
    """Platform, library versions and CPU, for reading the numbers in context; with ``with_torch``
    also PyTorch's version, its thread count and the GPU (``cuda``: its name, or None)."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "actformer_envs": actformer_envs.__version__,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "cpu_simd": cpu_simd(),
        # The pinned kernel paths (None: not pinned), without which float results may differ by CPU.
        "kernel_env": {name: os.environ.get(name) for name in KERNEL_ENV},
    }
    if with_torch:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def context_line(machine: dict[str, Any], command: str, date: str) -> str:
    """One Markdown line saying where (CPU, library versions), when and how an env benchmark ran."""
    return (
        f"_{machine['cpu_model'] or 'unknown CPU'}, {machine['cpu_count']} CPUs; Python {machine['python']}, "
        f"NumPy {machine['numpy']}, Gymnasium {machine['gymnasium']}; {date}; `{command}`_"
    )


def torch_context_line(machine: dict[str, Any], command: str, date: str) -> str:
    """One Markdown line saying where (the GPU if PyTorch saw one, the CPU, torch threads), when and
    how a torch benchmark ran."""
    gpu = f"{machine['cuda']} GPU; " if machine.get("cuda") else ""
    return (
        f"_{gpu}{machine['cpu_model'] or 'unknown CPU'}, {machine['cpu_count']} CPUs, "
        f"{machine['torch_threads']} torch thread(s); PyTorch {machine['torch']}; {date}; `{command}`_"
    )


def run_git(*command: str) -> subprocess.CompletedProcess[str] | None:
    """A git command in this repository, its output captured; None where git cannot run."""
    try:
        return subprocess.run(["git", *command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None


def source_revision() -> dict[str, Any]:
    """The commit the code ran at, and whether tracked files differed from it (read-only git calls);
    None where git cannot say."""
    head = run_git("rev-parse", "HEAD")
    changed = run_git("diff-index", "--quiet", "HEAD", "--")
    return {
        "commit": head.stdout.strip() if head is not None and head.returncode == 0 else None,
        "uncommitted_changes": None if changed is None or changed.returncode > 1 else changed.returncode == 1,
    }


def pinned_kernels(kernel_env: dict[str, str | None]) -> str:
    """``ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2 ...``: the kernel paths a run pinned, or ``none``."""
    return " ".join(f"{name}={value}" for name, value in kernel_env.items() if value is not None) or "none"


def with_pins_and_commit(line: str, machine: dict[str, Any], revision: dict[str, Any]) -> str:
    """A context line (``context_line``, ``torch_context_line``) that also says which kernel paths
    were pinned (``machine["kernel_env"]``) and the commit the code ran at (``source_revision``)."""
    line = line[:-1] + f"; kernels pinned: {pinned_kernels(machine['kernel_env'])}"
    if revision["commit"]:
        dirty = " + uncommitted changes" if revision["uncommitted_changes"] else ""
        line += f"; commit {revision['commit'][:12]}{dirty}"
    return line + "_"


def run_stamp(module: str, argv: Sequence[str]) -> tuple[str, str]:
    """(date, command) of a run of ``benchmarks.<module>``, for its results document."""
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return date, shlex.join(["python", "-m", f"benchmarks.{module}", *argv])


# -- where results go, and smoke tests --------------------------------------------------------------


def add_output_flags(parser: argparse.ArgumentParser, script: str) -> None:
    """``--out DIR`` and ``--update-results``: where a run of ``benchmarks.<script>`` writes (see
    ``output_dir``)."""
    group = parser.add_argument_group("where the results go")
    group.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"write the result files into DIR (default: a fresh benchmarks/runs/{script}-<UTC time>/)",
    )
    group.add_argument(
        "--update-results",
        action="store_true",
        help="write into benchmarks/results/, replacing the committed results (refused with --quick)",
    )


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (both resolved)."""
    return path.resolve().is_relative_to(folder.resolve())


def output_problem(quick: bool, out: Path | None, update_results: bool) -> str | None:
    """Why these flags may not run (smoke numbers aimed at the committed results), else None."""
    if quick and (update_results or (out is not None and inside(out, RESULTS_DIR))):
        return "--quick is a smoke test; its numbers never go into benchmarks/results/"
    if out is not None and update_results and not inside(out, RESULTS_DIR):
        return f"--update-results writes into {RESULTS_DIR}; --out {out} lies outside it"
    if out is not None and not update_results and inside(out, RESULTS_DIR):
        return f"--out {out} lies in {RESULTS_DIR}, the committed results: add --update-results"
    return None


def check_output_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with status 2 and a one-line error if ``args`` aim smoke numbers at the committed results
    (``--quick --update-results``) or write into them without ``--update-results``."""
    problem = output_problem(args.quick, args.out, args.update_results)
    if problem is not None:
        parser.exit(2, f"{parser.prog}: error: {problem}\n")


def announce_smoke(quick: bool) -> None:
    """Say at the start of a ``--quick`` run that it is a smoke test."""
    if quick:
        print(SMOKE_BANNER, flush=True)


def smoke_markdown(markdown: str, smoke: bool) -> str:
    """``markdown`` headed by the smoke-test banner when ``smoke`` (once, however often applied)."""
    if not smoke or markdown.startswith(SMOKE_BANNER):
        return markdown
    return f"{SMOKE_BANNER}\n\n{markdown}"


def fresh_run_dir(script: str) -> Path:
    """A new, empty ``benchmarks/runs/<script>-<UTC time>[-N]/`` (``-N`` when runs start together)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    for number in itertools.count(1):
        folder = RUNS_DIR / (f"{script}-{stamp}" if number == 1 else f"{script}-{stamp}-{number}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise AssertionError("unreachable")


def output_dir(args: argparse.Namespace, script: str) -> Path:
    """The folder this run writes into, created: ``--out DIR``; else ``benchmarks/results/`` with
    ``--update-results``; else a fresh ``benchmarks/runs/<script>-<UTC time>/``."""
    if args.out is None and not args.update_results:
        return fresh_run_dir(script)
    folder = args.out if args.out is not None else RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_results(
    folder: Path,
    name: str,
    document: dict[str, Any],
    smoke: bool,
    markdown_file: bool = False,
    also: Sequence[str] = (),
    quiet: bool = False,
) -> Path:
    """Write a benchmark's results document as ``folder/name`` (JSON, with ``"smoke"``), print its
    Markdown table (also written beside the JSON as ``.md`` with ``markdown_file``), the smoke banner
    above and below it when ``smoke``, and where the files went (``also``: others the script wrote
    there), unless ``quiet``; the JSON file's path."""
    document["smoke"] = smoke
    document["markdown"] = smoke_markdown(document["markdown"], smoke)
    path = folder / name
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written = [name, *also]
    if markdown_file:
        path.with_suffix(".md").write_text(document["markdown"] + "\n", encoding="utf-8")
        written.insert(1, path.with_suffix(".md").name)
    if quiet:
        return path
    print(document["markdown"])
    if smoke:
        print(f"\n{SMOKE_BANNER}")
    print(f"\nWrote {', '.join(written)} to {folder}{os.sep}", flush=True)
    return path


def fill_unset(args: argparse.Namespace, values: Mapping[str, Any]) -> None:
    """Set each flag of ``values`` that was not given (None) to its value there: a script's defaults,
    or its ``--quick`` sizes."""
    for name, value in values.items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def positive(kind: type) -> Callable[[str], Any]:
    """An argparse type: ``kind(value)``, which must be > 0."""
    return at_least(kind, 0, strict=True)


def at_least(kind: type, low: float, strict: bool = False) -> Callable[[str], Any]:
    """An argparse type: ``kind(value)``, which must be >= ``low`` (> with ``strict``)."""

    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            hint = " (lists are space-separated)" if "," in value else ""
            raise argparse.ArgumentTypeError(f"not a {kind.__name__}: {value!r}{hint}") from None
        if not (number > low if strict else number >= low):  # also rejects NaN
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low}, got {value!r}")
        return number

    return parse


def name_of(choices: Sequence[str], what: str) -> Callable[[str], str]:
    """An argparse type for one item of a space-separated list (``nargs="+"``): ``all`` or one of
    ``choices`` (see ``expand_all``)."""

    def parse(value: str) -> str:
        if value == "all" or value in choices:
            return value
        hint = "; lists are space-separated" if "," in value else ""
        raise argparse.ArgumentTypeError(
            f"unknown {what} {value!r}{hint}; choose from {' '.join(choices)} or all"
        )

    return parse


def merge_rows(
    rows: list[dict[str, Any]],
    folder: Path,
    name: str,
    order: Sequence[str],
    keep: bool,
    measures: Callable[[dict[str, Any]], Any] = lambda row: row["task"],
) -> list[dict[str, Any]]:
    """``rows`` (each with its ``run``), plus, with ``keep`` (``--update``), the rows of the other
    tasks in ``folder/name`` if it exists, else in the committed results: each kept row keeps the run
    that measured it (its own ``run``, completed from its document's date, command, revision and
    pinned kernels). A previous row is replaced where a new one ``measures`` the same (default: the
    task). Sorted by ``order`` (task names), then seed."""
    if not keep:
        return rows
    previous_file = folder / name if (folder / name).is_file() else RESULTS_DIR / name
    if not previous_file.is_file():
        return rows
    previous = json.loads(previous_file.read_text(encoding="utf-8"))
    rerun = {measures(row) for row in rows}
    kept = [row for row in previous["rows"] if measures(row) not in rerun]
    run = {key: previous[key] for key in ("date", "command", "revision") if key in previous}
    if "kernel_env" in previous.get("machine", {}):
        run["kernel_env"] = previous["machine"]["kernel_env"]
    for row in kept:
        row["run"] = {**run, **row.get("run", {})}
    return sorted([*kept, *rows], key=lambda row: (order.index(row["task"]), row.get("seed", 0)))


def rows_of_runs(
    paths: Sequence[Path], measured: Callable[[dict[str, Any], dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """The rows each of these results files measured itself (``measured(document, row)``: not the
    rows it kept with ``--update``), each with its own run (date, command, revision, pinned kernels)."""
    rows = []
    for path in paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        run = {key: document[key] for key in ("date", "command", "revision")}
        run["kernel_env"] = document["machine"]["kernel_env"]
        rows += [
            {**row, "run": {**run, **row.get("run", {})}}
            for row in document["rows"]
            if measured(document, row)
        ]
    return rows


def runs_note(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Where ``--update`` mixed runs: each run's command, date and commit, and the tasks it measured."""
    runs: dict[tuple[str, str], list[str]] = {}
    commits: dict[tuple[str, str], str] = {}
    pins: dict[tuple[str, str], str] = {}
    for row in rows:
        run = row.get("run")
        if run is None:
            continue
        key = (run["date"], run["command"])
        if row["task"] not in runs.setdefault(key, []):
            runs[key].append(row["task"])
        revision = run.get("revision") or {}
        commits[key] = (revision.get("commit") or "")[:12] + (
            " + uncommitted" if revision.get("uncommitted_changes") else ""
        )
        pins[key] = f"; kernels pinned: {pinned_kernels(run['kernel_env'])}" if "kernel_env" in run else ""
    if len(runs) < 2:
        return []
    lines = [
        f"- `{command}` ({date}, commit {commits[(date, command)] or 'unknown'}{pins[(date, command)]}): "
        + ", ".join(tasks)
        for (date, command), tasks in runs.items()
    ]
    return ["Rows from several runs (`--update`):\n" + "\n".join(lines)]


def add_tasks_flag(parser: argparse.ArgumentParser, names: Sequence[str], default: str = "all") -> None:
    """``--tasks``: task names from ``names``, space-separated, or ``all`` (the default, which
    ``expand_all`` turns into ``names``); ``default`` says what ``all`` means in the help."""
    parser.add_argument(
        "--tasks",
        type=name_of(names, "task"),
        nargs="+",
        default=["all"],
        metavar="TASK",
        help=f"task names, space-separated, or all (default: {default})",
    )


def expand_all(values: Sequence[str], choices: Sequence[str]) -> list[str]:
    """``values`` with ``all`` replaced by every choice, duplicates dropped, in order."""
    names = [name for value in values for name in (choices if value == "all" else [value])]
    return list(dict.fromkeys(names))


# -- the tasks' training plans ---------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What one task is trained on and evaluated at: the recipe it declares (``Task.recipe``), its
    settings as the training config's fields."""

    task: str
    train_length: int
    eval_lengths: tuple[int, ...]
    episodes: int  # problems per evaluated length
    settings: tuple[tuple[str, Any], ...] = ()  # config fields that differ from the defaults

    @classmethod
    def from_recipe(cls, task: str, recipe: actformer_envs.Recipe) -> Plan:
        """``task``'s plan from its recipe (its ``expert_pairs`` is the config's ``imitation_pairs``)."""
        fields = (("imitation_pairs", recipe.expert_pairs), ("history_length", recipe.history_length))
        settings = tuple((name, value) for name, value in fields if value is not None)
        return cls(task, recipe.train_length, recipe.eval_lengths, recipe.eval_episodes, settings)


#: Every single task's plan, in the order of their ids, from the recipe each declares (see
#: ``actformer_envs.Recipe`` for the lengths and for why some tasks get more expert data).
PLANS = tuple(
    Plan.from_recipe(name, cls.recipe)
    for name, cls in actformer_envs.tasks.SINGLE_TASKS.items()
    if cls.recipe is not None
)
#: PPO env-steps per task after the warm start (the train suite's ``--total-steps`` default, and
#: the generalization grid's full budget).
DEFAULT_TOTAL_STEPS = 65_536


def plan_settings(plan: Plan, total_steps: int, seed: int, **overrides: Any) -> dict[str, Any]:
    """The ``TrainConfig.from_flat`` fields that train ``plan.task``: the plan's settings, then ``overrides``,
    on top of the task, seed, training length, budget and evaluation lengths."""
    return {
        "task": plan.task,
        "seed": seed,
        "max_length": plan.train_length,
        "total_steps": total_steps,
        "eval_lengths": plan.eval_lengths,
        **dict(plan.settings),
        **overrides,
    }
