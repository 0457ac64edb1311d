"""The ``actformer`` command: train an agent, evaluate a checkpoint, trace it on your own problem.

    actformer train [ppo|a2c] --task Addition [--config FILE.yaml] [--resume RUN_DIR] [--FIELD VALUE ...]
    actformer eval --checkpoint RUN_DIR --lengths 3,30,300,1000 [--episodes N]
    actformer trace --checkpoint RUN_DIR --problem "123+456"

``actformer COMMAND --help`` lists every option (config fields with their docstrings, by ``tyro``).
A bad value, config file or path is a one-line error and exit status 2. This module only parses
and dispatches: runs live in ``train/runs.py``, traces in ``train/trace.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import tyro
from tqdm.auto import tqdm

from actformer_gym.train.config import TrainConfig
from actformer_gym.train.evaluate import format_table, generalization_table
from actformer_gym.train.runs import (
    RunOptions,
    UsageError,
    check_resumable,
    load,
    load_policy,
    read_config_file,
    saved_config,
    set_threads,
    train_run,
)
from actformer_gym.train.seeds import seed_for
from actformer_gym.train.trace import parse_problem, show_answer, trace

#: How tyro builds every command: the algorithm's subcommand is ``ppo``/``a2c``, and flags may
#: come before or after it.
TYRO_CONFIG = (tyro.conf.OmitSubcommandPrefixes, tyro.conf.CascadeSubcommandArgs)


def parse_args(command: Any, argv: Sequence[str], prog: str, **kwargs: Any) -> Any:
    """``tyro.cli(command)`` on ``argv``; its parse errors (a framed, multi-line message) become one
    ``UsageError`` line. ``--help`` prints as tyro prints it."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return tyro.cli(command, args=list(argv), prog=prog, config=TYRO_CONFIG, **kwargs)
    except SystemExit as exit:
        if exit.code in (0, None):
            raise
        raise UsageError(f"{_one_line(captured.getvalue())} (see {prog} --help)") from None


def _one_line(framed: str) -> str:
    """tyro's framed error as one line: its title and sections, without the help text it repeats."""
    sections: list[list[str]] = [[]]
    for line in framed.splitlines():
        text = line.strip().strip("│").strip()
        if text.startswith(("╭", "╰")) or set(text) <= set("─ "):  # frame or separator: a new section
            title = text.strip("─╭╮╰╯ ")
            sections.append([f"{title}:"] if title else [])
        else:
            sections[-1].append(text)
    kept = [" ".join(" ".join(words).split()) for words in sections if words]
    kept = [text for text in kept if text and not text.startswith(("Argument helptext", "For full helptext"))]
    message = "; ".join(kept).replace(":;", ":") or "bad arguments"
    # A config section's own check: "Value error: Error parsing config.env: <its message>".
    return re.sub(r"^Value error: Error parsing [\w.]+: ", "bad config: ", message)


# -- train -------------------------------------------------------------------------------------


@dataclass
class TrainCommand:
    """Train an Actformer agent: warm start (behaviour cloning + DAgger), then PPO (``ppo``, the
    default) or A2C (``a2c``) with a length curriculum. Logs to TensorBoard, checkpoints in the run
    directory, and prints the exact-match table at the end."""

    launch: Annotated[RunOptions, tyro.conf.OmitArgPrefixes]
    config: Annotated[TrainConfig, tyro.conf.OmitArgPrefixes]


def parse_train(argv: Sequence[str]) -> tuple[RunOptions, TrainConfig, tuple[Path, dict] | None]:
    """(options, validated config, (run dir, checkpoint payload) when resuming).

    The options are read first: ``--config`` and ``--resume`` give the config's defaults, which the
    command's flags then override (with ``--resume``, only ``RunSettings.resumable`` may change).
    """
    if any(arg == "--algo" or arg.startswith("--algo=") for arg in argv):
        raise UsageError("--algo: the algorithm is a subcommand, actformer train ppo|a2c [FLAGS]")
    if {"-h", "--help"} & set(argv):
        options = RunOptions()
    else:
        options, _ = parse_args(RunOptions, argv, prog="actformer train", return_unknown_args=True)
    payload = load(options.resume) if options.resume is not None else None
    if payload is not None:
        defaults = saved_config(payload)
    elif options.config is not None:
        defaults = read_config_file(options.config)
    else:
        defaults = TrainConfig()
    parsed = parse_args(TrainCommand, argv, prog="actformer train", default=TrainCommand(options, defaults))
    if payload is None or options.resume is None:
        return parsed.launch, parsed.config, None
    check_resumable(parsed.config, defaults)
    run_dir = options.resume if options.resume.is_dir() else options.resume.parent
    return parsed.launch, parsed.config, (run_dir, payload)


def train_main(argv: Sequence[str]) -> int:
    """``actformer train``: warm start, RL iterations with TensorBoard logs and checkpoints, then the
    exact-match table."""
    options, config, resumed = parse_train(argv)
    set_threads(options.threads)
    return train_run(config, options, resumed)


# -- eval --------------------------------------------------------------------------------------


@dataclass
class EvalArgs:
    """Greedy exact match of a saved policy at each problem length."""

    checkpoint: Path
    """Checkpoint file, or a run directory holding checkpoint.pt."""
    lengths: str | None = None
    """Comma-separated problem lengths, e.g. 3,30,300,1000 (default: the run's eval_lengths)."""
    episodes: int | None = None
    """Episodes per length (default: the run's eval_episodes)."""
    seed: int | None = None
    """Seed of the evaluation problems (default: the one of the run's final evaluation)."""
    num_envs: int | None = None
    """Environments stepped together (default: the run's num_envs, as in its final evaluation)."""
    device: str = "auto"
    """Torch device of the policy: auto, cpu, cuda, ..."""
    json: Path | None = None
    """Also write the table as JSON to this file."""
    threads: int | None = None
    """Torch CPU threads (default: torch's choice)."""


def eval_main(argv: Sequence[str]) -> int:
    """``actformer eval``: the exact-match table of a checkpoint's policy."""
    args = parse_args(EvalArgs, argv, prog="actformer eval")
    payload = load(args.checkpoint)
    config = saved_config(payload)
    run, env = config.run, config.env
    lengths = parse_lengths(args.lengths) if args.lengths is not None else list(run.eval_lengths)
    episodes = run.eval_episodes if args.episodes is None else args.episodes
    num_envs = env.num_envs if args.num_envs is None else args.num_envs
    seed = seed_for(run.seed, "evaluation") if args.seed is None else args.seed
    for name, value in (("episodes", episodes), ("num-envs", num_envs)):
        if value < 1:
            raise UsageError(f"--{name} must be >= 1, got {value}")
    if seed < 0:
        raise UsageError(f"--seed must be >= 0, got {seed}")
    set_threads(args.threads)
    policy = load_policy(payload, config, args.device)
    rows = []
    for length in tqdm(lengths, desc="eval", unit="length", dynamic_ncols=True):
        rows += generalization_table(
            lambda _: policy, env.env_id, [length], episodes, seed, num_envs, **env.observation_kwargs()
        )
    print(format_table(rows))
    if args.json is not None:
        report = {"checkpoint": str(args.checkpoint), "task": env.task, "rows": rows}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def parse_lengths(text: str) -> list[int]:
    """ "3,30,300" (commas or spaces) as ints >= 1; ``UsageError`` otherwise."""
    parts = [part for part in re.split(r"[,\s]+", text.strip()) if part]
    if not parts or not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise UsageError(f"--lengths must be comma-separated ints >= 1 (e.g. 3,30,300), got {text!r}")
    return [int(part) for part in parts]


# -- trace -------------------------------------------------------------------------------------


@dataclass
class TraceArgs:
    """The saved policy solving your problem, one line per step."""

    checkpoint: Path
    """Checkpoint file, or a run directory holding checkpoint.pt."""
    problem: str
    """The problem in its task's text format (``Task.text_format``), e.g. 123+456 (Addition),
    31415 (Copy, Sort), or a Python literal in the env's problem format, e.g. "([3, 1], 2)"
    (RepeatCopy); a malformed one is an error saying which format the task takes."""
    device: str = "auto"
    """Torch device of the policy: auto, cpu, cuda, ..."""
    sample: bool = False
    """Sample actions from the policy instead of taking the most likely one."""
    seed: int = 0
    """Seed of the sampling (with --sample)."""


def trace_main(argv: Sequence[str]) -> int:
    """``actformer trace``: step the policy on the user's problem, printing what each action did."""
    args = parse_args(TraceArgs, argv, prog="actformer trace")
    payload = load(args.checkpoint)
    config = saved_config(payload)
    problem = parse_problem(config.env.task, args.problem)
    policy = load_policy(payload, config, args.device)
    if args.sample:
        import torch

        torch.manual_seed(args.seed)
    result = trace(policy, config, problem, greedy=not args.sample)
    print(result.start, *result.steps, result.end, sep="\n")
    info = result.info
    verdict = "right" if info.get("is_success") else "wrong"
    output, target = show_answer(info.get("output")), show_answer(info.get("target"))
    print(f"output: {output}  expected: {target}  ({verdict})")
    return 0


# -- main --------------------------------------------------------------------------------------

COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "train": train_main,
    "eval": eval_main,
    "trace": trace_main,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``actformer COMMAND ...``; the exit status (2 for a usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print((__doc__ or "").strip())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"actformer: error: unknown command {command!r}; choose from {list(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[command](rest)
    except SystemExit as exit:  # tyro's --help (0) and its parse errors (2, already reported)
        return exit.code if isinstance(exit.code, int) else 2
    except UsageError as error:
        print(f"actformer {command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
