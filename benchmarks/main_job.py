"""Wall time of the README's main job, this checkout against an earlier commit, in one run.

The main job is the ``actformer train ...`` command of the first Quick start line of each version's
own README (train Addition on at most 3 digits, then print greedy exact match at 3, 30, 300 and
1000 digits). The earlier version runs from a git worktree of ``--baseline`` (default: the commit
the performance work started from), imported from there through ``PYTHONPATH``; this checkout runs
as installed. Each run is a fresh subprocess in an empty working folder (its run directory goes
there) with an empty verification-set cache (``ACTFORMER_CACHE_DIR``), as on a fresh machine, and
the kernel pins of this process; the two versions alternate, ``--repeats`` times each,
and the medians and their ratio are reported, with every run's exact-match table (a faster job must
still reach 1.000 at every length). Results go to a Markdown table on stdout and to ``main_job.json``
and ``.md`` in a fresh ``benchmarks/runs/main_job-<UTC time>/`` (``--out DIR``: there;
``--update-results``: the committed ``benchmarks/results/``).

    python -m benchmarks.main_job                    # 3 repeats each, baseline 11ce4f6
    python -m benchmarks.main_job --repeats 5
    python -m benchmarks.main_job --quick            # smoke test: one repeat, 4,096 PPO env-steps
    python -m benchmarks.main_job --update-results   # refresh benchmarks/results/main_job.{json,md}
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import (
    QUICK_HELP,
    REPO_ROOT,
    add_output_flags,
    announce_smoke,
    check_output_flags,
    context_line,
    machine_info,
    output_dir,
    positive,
    run_git,
    run_stamp,
    source_revision,
    with_pins_and_commit,
    write_results,
)

#: The commit the performance work (faster evaluation, network, trainer, env) started from.
DEFAULT_BASELINE = "11ce4f6"
DEFAULT_REPEATS = 3
RESULTS_NAME = "main_job.json"
#: ``--quick``: the PPO budget of each run (the README's is 65,536 env-steps).
QUICK_TOTAL_STEPS = 4096
#: A row of the job's exact-match table: ``| 1000 | 200 | 1.000 |``.
TABLE_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*([0-9.]+)\s*\|\s*$")


@dataclass(frozen=True)
class Version:
    """One version of the code: its label, commit, the main job's arguments, and how to launch it."""

    label: str
    commit: str
    arguments: list[str]
    launcher: list[str]
    pythonpath: str | None


def main_job_arguments(readme: str) -> list[str]:
    """The ``actformer`` arguments of the first Quick start command of a README (``train ...``)."""
    match = re.search(r"actformer (train [^\n`]*)", readme)
    if match is None:
        raise ValueError("the README has no `actformer train ...` command")
    return shlex.split(match.group(1))


def with_total_steps(arguments: list[str], steps: int) -> list[str]:
    """``arguments`` with ``--total-steps`` set to ``steps``."""
    index = arguments.index("--total-steps")
    return [*arguments[: index + 1], str(steps), *arguments[index + 2 :]]


def git(*command: str) -> str:
    """The output of a git command in this repository; ``RuntimeError`` if it fails."""
    done = run_git(*command)
    if done is None or done.returncode != 0:
        raise RuntimeError(
            f"git {' '.join(command)}: {'git did not run' if done is None else done.stderr.strip()}"
        )
    return done.stdout.strip()


def baseline_version(revision: str, folder: Path) -> Version:
    """The main job at ``revision``, from a worktree of it in ``folder/worktree``."""
    commit, worktree, module, pythonpath = add_worktree(revision, folder)
    arguments = main_job_arguments((worktree / "README.md").read_text(encoding="utf-8"))
    return Version("baseline", commit, arguments, launcher(module), pythonpath)


def add_worktree(revision: str, folder: Path) -> tuple[str, Path, str, str]:
    """(commit, worktree, the CLI's module, ``PYTHONPATH``) of ``revision`` checked out in
    ``folder/worktree`` and importable from there (``importable``); ``RuntimeError`` if git fails.
    ``remove_worktree`` removes it."""
    commit = git("rev-parse", "--verify", f"{revision}^{{commit}}")
    worktree = folder / "worktree"
    git("worktree", "add", "--detach", str(worktree), commit)
    module, pythonpath = importable(worktree, folder / "imports")
    return commit, worktree, module, pythonpath


def remove_worktree(worktree: Path) -> None:
    """Remove a worktree that ``baseline_version`` (or another benchmark) added, if it is there, and
    forget any whose folder is gone."""
    for command in (["worktree", "remove", "--force", str(worktree)], ["worktree", "prune"]):
        subprocess.run(["git", *command], cwd=REPO_ROOT, capture_output=True)


def importable(worktree: Path, shim: Path) -> tuple[str, str]:
    """(the CLI's module, the ``PYTHONPATH`` that imports it from ``worktree``). Where ``train/`` and
    ``agents/`` install as ``actformer_gym.train`` and ``.agents`` (``setup.cfg``'s ``package_dir``),
    ``shim`` gets links that lay them out so; before that they were top-level packages."""
    if "actformer_gym.train = train" not in (worktree / "setup.cfg").read_text(encoding="utf-8"):
        return "train.cli", str(worktree)
    (shim / "actformer_gym").mkdir(parents=True)
    (shim / "actformer_envs").symlink_to(worktree / "actformer_envs")
    for package in ("agents", "train"):
        (shim / "actformer_gym" / package).symlink_to(worktree / package)
    return "actformer_gym.train.cli", str(shim)


def current_version() -> Version:
    """The main job of this checkout, as installed."""
    arguments = main_job_arguments((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    commit = source_revision()["commit"] or "unknown"
    return Version("current", commit, arguments, launcher("actformer_gym.train.cli"), None)


def launcher(module: str) -> list[str]:
    """A Python command that runs ``module``'s ``main`` as the ``actformer`` script does."""
    return [sys.executable, "-c", f"import sys; from {module} import main; sys.exit(main())"]


def run_once(version: Version, total_steps: int | None) -> dict[str, Any]:
    """One run of ``version``'s main job in a fresh folder: wall seconds and its exact-match table."""
    arguments = version.arguments if total_steps is None else with_total_steps(version.arguments, total_steps)
    environment = dict(os.environ)
    if version.pythonpath is not None:
        environment["PYTHONPATH"] = version.pythonpath
    with tempfile.TemporaryDirectory(prefix="main_job-") as folder:
        environment["ACTFORMER_CACHE_DIR"] = str(Path(folder) / "cache")  # (as on a fresh machine)
        began = time.perf_counter()
        done = subprocess.run(
            [*version.launcher, *arguments], cwd=folder, env=environment, capture_output=True, text=True
        )
        seconds = time.perf_counter() - began
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise RuntimeError(f"the {version.label} main job failed: {' '.join(tail)}")
    table = {}
    for line in done.stdout.splitlines():
        match = TABLE_ROW.match(line)
        if match:
            table[match.group(1)] = float(match.group(3))
    return {"seconds": seconds, "exact_match": table}


def markdown(document: dict[str, Any], context: str) -> str:
    """The results as a Markdown table (one row per version) and the ratio."""
    lines = [
        "| version | commit | command | runs (s) | median (s) | exact match (every run) |",
        "|---|---|---|---|---:|---|",
    ]
    for row in document["versions"]:
        runs = ", ".join(f"{run['seconds']:.1f}" for run in row["runs"])
        tables = {" ".join(f"{n}: {v:.3f}" for n, v in run["exact_match"].items()) for run in row["runs"]}
        lines.append(
            f"| {row['label']} | {row['commit'][:12]} | `actformer {shlex.join(row['arguments'])}` | {runs} "
            f"| {row['median_seconds']:.1f} | {'; '.join(sorted(tables))} |"
        )
    speedup = document["speedup"]
    lines += [
        "",
        f"The current main job runs **{speedup:.2f}x** as fast as the baseline's (ratio of medians).",
        "",
        context,
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        help=f"the commit to compare with (default {DEFAULT_BASELINE})",
    )
    parser.add_argument(
        "--repeats",
        type=positive(int),
        default=None,
        help=f"runs of each version (default {DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_HELP} (one run each, {QUICK_TOTAL_STEPS:,} PPO env-steps)",
    )
    add_output_flags(parser, "main_job")
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    if args.repeats is None:
        args.repeats = 1 if args.quick else DEFAULT_REPEATS
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    announce_smoke(args.quick)
    date, command = run_stamp("main_job", argv)
    total_steps = QUICK_TOTAL_STEPS if args.quick else None
    with tempfile.TemporaryDirectory(prefix="main_job-baseline-") as folder:
        try:
            versions = [baseline_version(args.baseline, Path(folder)), current_version()]
        except RuntimeError as error:
            print(f"main_job: {error}", file=sys.stderr)
            return 2
        try:
            runs: dict[str, list[dict[str, Any]]] = {version.label: [] for version in versions}
            for repeat in range(args.repeats):
                # Alternating which goes first: neither always meets a cold (or a warm) machine.
                for version in versions if repeat % 2 == 0 else versions[::-1]:
                    run = run_once(version, total_steps)
                    runs[version.label].append(run)
                    print(
                        f"{version.label}: {run['seconds']:.1f} s {run['exact_match']}",
                        file=sys.stderr,
                        flush=True,
                    )
        except RuntimeError as error:
            print(f"main_job: {error}", file=sys.stderr)
            return 1
        finally:
            remove_worktree(Path(folder) / "worktree")
    rows = [
        {
            "label": version.label,
            "commit": version.commit,
            "arguments": version.arguments
            if total_steps is None
            else with_total_steps(version.arguments, total_steps),
            "runs": runs[version.label],
            "median_seconds": statistics.median(run["seconds"] for run in runs[version.label]),
        }
        for version in versions
    ]
    machine = machine_info(with_torch=False)
    document: dict[str, Any] = {
        "benchmark": "main_job",
        "date": date,
        "command": command,
        "revision": source_revision(),
        "settings": {"baseline": args.baseline, "repeats": args.repeats, "quick": args.quick},
        "machine": machine,
        "versions": rows,
        "speedup": rows[0]["median_seconds"] / rows[1]["median_seconds"],
    }
    context = with_pins_and_commit(context_line(machine, command, date), machine, document["revision"])
    document["markdown"] = markdown(document, context)
    write_results(output_dir(args, "main_job"), RESULTS_NAME, document, smoke=args.quick, markdown_file=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
