"""Env-steps per second of the Actformer envs: single env, Gymnasium's SyncVectorEnv, native vector env.

Every configuration steps uniformly random actions over the whole action space (masked-out ones
included), pre-sampled from a seeded NumPy Generator and reused cyclically, so the RNG is not timed.
Each configuration is timed ``--repeats`` times for a fixed wall budget, each time in a fresh env
after a warm-up; the repeats run in rounds over all configurations (so a slow spell of a shared
host does not fall on one configuration alone), and the median steps/s is reported. Results go to
a Markdown table on stdout and to ``throughput.json`` in a fresh ``benchmarks/runs/throughput-<UTC
time>/`` (``--out DIR``: there; ``--update-results``: the committed ``benchmarks/results/``).

    python -m benchmarks.throughput                        # every registered id, 3 s x 3 repeats each
    python -m benchmarks.throughput --tasks Addition Copy  # some tasks (names or ids, space-separated)
    python -m benchmarks.throughput --quick                # smoke test: 0.5 s x 1 repeat
    python -m benchmarks.throughput --update-results --page  # refresh results/ and the docs' table
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

import actformer_envs  # noqa: F401  (registers the envs)
from actformer_envs.speed import ACTION_BLOCK, steps_per_second
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
    run_stamp,
    source_revision,
    write_results,
)

DEFAULT_PAGE = REPO_ROOT / "docs" / "throughput.md"
PAGE_START = "<!-- throughput:start -->"
PAGE_END = "<!-- throughput:end -->"

DEFAULT_SECONDS, DEFAULT_REPEATS = 3.0, 3
QUICK_SECONDS, QUICK_REPEATS = 0.5, 1
#: Pre-sampled batches of actions, reused cyclically; the warm-up steps through the block once.
ACTION_BLOCK_BATCHES = ACTION_BLOCK
#: Native vector env sizes; the largest one is the numerator of the reported ratios.
NATIVE_SIZES = (64, 1024, 4096)
SYNC_SIZE = 64


@dataclass(frozen=True)
class Config:
    """One measured configuration: an env id stepped through one face with ``num_envs`` envs."""

    env_id: str
    face: str  # "single" (gym.make), "sync" (SyncVectorEnv), "native" (vector_entry_point)
    num_envs: int

    @property
    def key(self) -> str:
        """A short name for ratios: ``single``, ``sync-64``, ``native-4096``."""
        return self.face if self.face == "single" else f"{self.face}-{self.num_envs}"


@dataclass(frozen=True)
class Measurement:
    """The steps/s of every repeat of one configuration."""

    config: Config
    repeats: list[float]

    @property
    def steps_per_second(self) -> float:
        """The median over the repeats."""
        return statistics.median(self.repeats)


#: Gymnasium's own CartPole, single and as its native vector env, measured in the same run as a
#: yardstick for the machine: each Actformer env's single env and largest vector env are set against them.
REFERENCES = (Config("CartPole-v1", "single", 1), Config("CartPole-v1", "native", max(NATIVE_SIZES)))


def configurations(env_ids: Sequence[str], reference: bool = True) -> list[Config]:
    """The five configurations measured for each env id, then the references (CartPole) if asked."""
    configs = []
    for env_id in env_ids:
        configs.append(Config(env_id, "single", 1))
        configs.append(Config(env_id, "sync", SYNC_SIZE))
        configs.extend(Config(env_id, "native", n) for n in NATIVE_SIZES)
    if reference:
        configs.extend(REFERENCES)
    return configs


def time_once(config: Config, seconds: float, seed: int) -> float:
    """Steps/s of ``config`` over ``seconds``, in a fresh env warmed up by one pass through the
    action block (each call sees the same envs, states and actions)."""
    return steps_per_second(config.env_id, config.face, config.num_envs, seconds, seed, ACTION_BLOCK_BATCHES)


def measure_all(configs: Sequence[Config], seconds: float, repeats: int, seed: int) -> list[Measurement]:
    """Every configuration timed ``repeats`` times, in rounds: each round times every configuration
    once. On a shared host a slow spell then spreads over all configurations (and the CartPole
    yardstick) instead of sinking every repeat of the one measured during it."""
    results: dict[Config, list[float]] = {config: [] for config in configs}
    for round_index in range(repeats):
        for config in configs:
            results[config].append(time_once(config, seconds, seed))
            print(
                f"round {round_index + 1}/{repeats}  {config.env_id:<24} {config.face:<6} "
                f"{config.num_envs:>5} envs: {results[config][-1]:>12,.0f} steps/s",
                file=sys.stderr,
            )
    return [Measurement(config, repeats_of) for config, repeats_of in results.items()]


def ratios(measurements: Sequence[Measurement]) -> dict[str, dict[str, float]]:
    """Per env id: the largest native vector env's steps/s over sync-64's and over the single env's;
    with the references, that and the single env's over CartPole's, the same face and size."""
    by_key = {(m.config.env_id, m.config.key): m.steps_per_second for m in measurements}
    native = f"native-{max(NATIVE_SIZES)}"
    sync = f"sync-{SYNC_SIZE}"
    result = {}
    cartpole = {config.key: by_key.get((config.env_id, config.key)) for config in REFERENCES}
    for env_id in dict.fromkeys(m.config.env_id for m in measurements):
        if env_id == REFERENCES[0].env_id:
            continue
        top = by_key[(env_id, native)]
        result[env_id] = {
            f"{native}/{sync}": top / by_key[(env_id, sync)],
            f"{native}/single": top / by_key[(env_id, "single")],
        }
        for key, reference in cartpole.items():
            if reference:
                result[env_id][f"{key}/CartPole-{key}"] = by_key[(env_id, key)] / reference
    return result


def markdown_table(measurements: Sequence[Measurement], ratio_table: dict[str, dict[str, float]]) -> str:
    """One row per env id with the median steps/s of each configuration, then the ratios per env id."""
    keys = list(dict.fromkeys(m.config.key for m in measurements if m.config not in REFERENCES))
    by_env: dict[str, dict[str, float]] = {}
    for m in measurements:
        by_env.setdefault(m.config.env_id, {})[m.config.key] = m.steps_per_second
    lines = [
        "| env | " + " | ".join(keys) + " |",
        "|---|" + "---:|" * len(keys),
    ]
    for env_id, values in by_env.items():
        cells = [f"{values[key]:,.0f}" if key in values else "" for key in keys]
        lines.append(f"| {env_id} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Steps/s, median of the repeats (each repeat's figure is in the JSON file).")
    lines.append("")
    for env_id, values in ratio_table.items():
        text = ", ".join(f"{name} = {value:,.1f}x" for name, value in values.items())
        lines.append(f"- {env_id}: {text}")
    return "\n".join(lines)


def rewrite_page(page: Path, block: str) -> None:
    """Replace what lies between the throughput markers of ``page`` with ``block``."""
    text = page.read_text(encoding="utf-8")
    head, _, rest = text.partition(PAGE_START)
    _, _, tail = rest.partition(PAGE_END)
    page.write_text(f"{head}{PAGE_START}\n{block}\n{PAGE_END}{tail}", encoding="utf-8")


def page_problem(page: Path) -> str | None:
    """Why ``page`` cannot take the table (missing, or no start/end markers in order), else None."""
    if not page.is_file():
        return f"{page} does not exist"
    text = page.read_text(encoding="utf-8")
    start, end = text.find(PAGE_START), text.find(PAGE_END)
    if start < 0 or end < start:
        return f"{page} lacks the markers {PAGE_START} ... {PAGE_END}"
    return None


def registered_ids() -> list[str]:
    """Every registered Actformer env id."""
    return [env_id for env_id in gym.registry if env_id.startswith("Actformer/")]


def env_id_argument(value: str) -> list[str]:
    """One item of ``--tasks``: ``all`` (every registered id), a task name (``Addition``) or an id
    (``Actformer/Addition-v0``); the env ids it stands for."""
    registered = registered_ids()
    if value == "all":
        return registered
    by_name = {env_id.split("/", 1)[1].rsplit("-v", 1)[0]: env_id for env_id in registered}
    env_id = by_name.get(value, value)
    if env_id not in registered:
        hint = "; lists are space-separated" if "," in value else ""
        raise argparse.ArgumentTypeError(
            f"unknown task {value!r}{hint}; choose from {' '.join(by_name)} or all"
        )
    return [env_id]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; ``--quick`` sets the seconds and repeats that were not given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tasks",
        type=env_id_argument,
        nargs="+",
        default=None,
        metavar="TASK",
        help="task names or ids, space-separated, or all (default: every registered Actformer id)",
    )
    parser.add_argument(
        "--seconds",
        type=positive(float),
        default=None,
        help=f"timed wall budget per configuration and repeat (default {DEFAULT_SECONDS})",
    )
    parser.add_argument(
        "--repeats",
        type=positive(int),
        default=None,
        help=f"timed runs per configuration; the median is reported (default {DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_HELP} ({QUICK_SECONDS} s and {QUICK_REPEATS} repeat unless given)",
    )
    parser.add_argument(
        "--no-reference",
        dest="reference",
        action="store_false",
        help=f"skip the yardstick: Gymnasium's {REFERENCES[0].env_id}, single and native vector env at "
        f"{REFERENCES[1].num_envs}",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the envs and the actions (default 0)")
    add_output_flags(parser, "throughput")
    parser.add_argument(
        "--page",
        "--readme",  # (the flag's name when the table was in the README: committed commands use it)
        type=Path,
        nargs="?",
        const=DEFAULT_PAGE,
        default=None,
        help="rewrite the block between the throughput markers of docs/throughput.md (or of the given "
        "file); the committed page's only with --update-results, never with --quick (also: --readme)",
    )
    args = parser.parse_args(argv)
    check_output_flags(parser, args)
    if args.page is not None and args.quick:
        parser.exit(2, f"{parser.prog}: error: --quick is a smoke test; its table never goes into the docs\n")
    if args.page is not None and not args.update_results and args.page.resolve() == DEFAULT_PAGE:
        parser.exit(
            2,
            f"{parser.prog}: error: docs/throughput.md's table is the committed results': "
            "add --update-results\n",
        )
    args.tasks = list(dict.fromkeys(env_id for ids in args.tasks or [registered_ids()] for env_id in ids))
    if args.seconds is None:
        args.seconds = QUICK_SECONDS if args.quick else DEFAULT_SECONDS
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    return args


def results_document(
    args: argparse.Namespace,
    argv: Sequence[str],
    measurements: Sequence[Measurement],
    ratio_table: dict[str, dict[str, float]],
    total_seconds: float,
) -> dict[str, Any]:
    """Everything the JSON file holds, ``markdown`` (the printed table) included."""
    date, command = run_stamp("throughput", argv)
    machine = machine_info(with_torch=False)
    table = markdown_table(measurements, ratio_table)
    return {
        "benchmark": "throughput",
        "date": date,
        "command": command,
        "revision": source_revision(),
        "settings": {
            "seconds": args.seconds,
            "repeats": args.repeats,
            "seed": args.seed,
            "action_block_batches": ACTION_BLOCK_BATCHES,
            "actions": "uniform over the whole action space, masked-out actions included",
            "schedule": "repeats in rounds over all configurations, each in a fresh env after a warm-up",
        },
        "machine": machine,
        "configurations": [
            {
                "env_id": m.config.env_id,
                "face": m.config.face,
                "num_envs": m.config.num_envs,
                "steps_per_second": m.steps_per_second,
                "repeats": m.repeats,
            }
            for m in measurements
        ],
        "ratios": ratio_table,
        "markdown": f"{table}\n\n{context_line(machine, command, date)}",
        "total_seconds": total_seconds,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON (and the docs page's block); the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.page is not None and (problem := page_problem(args.page)):
        print(f"error: {problem}", file=sys.stderr)
        return 1
    announce_smoke(args.quick)
    started = time.perf_counter()
    configs = configurations(args.tasks, args.reference)
    measurements = measure_all(configs, args.seconds, args.repeats, args.seed)
    document = results_document(args, argv, measurements, ratios(measurements), time.perf_counter() - started)
    write_results(output_dir(args, "throughput"), "throughput.json", document, smoke=args.quick)
    if args.page is not None:
        rewrite_page(args.page, document["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
